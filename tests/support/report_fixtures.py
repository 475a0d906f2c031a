"""Test material for reports: a throw-away PKI, synthetic AI results, independent checkers.

The results follow the ``lung.json`` / ``perfusion.json`` schemas of the lung and
stroke issues. The PKI comes from ``scripts/make_test_ca.py`` itself, run as a user
would, into a temporary folder: no private key is ever stored in the repository.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = "mật khẩu thử nghiệm 123"  # non-ASCII on purpose
PHYSICIAN = "BS. Nguyễn Văn An (TEST)"
#: The practising licence number the test certificate carries (subject serialNumber).
LICENCE = "CCHN-0042"
#: What a physician writes under Findings (a template's bare headings are not signed).
FINDINGS = "Phổi: nốt đặc thùy trên phải; không tràn dịch màng phổi."
LUNG_ALGORITHM = {
    "name": "Halong lung nodule CAD",
    "version": "1.0.0",
    "device": "cpu",
    "model": "",
}
PERFUSION_ALGORITHM = {
    "name": "halong-perfusion",
    "version": "1.0.0",
    "ai_generated": True,
    "device": "cpu",
    "deconvolution": {"method": "oSVD"},
    "maps": {"cbf": "ml/100 g/min"},
}
STUDY_UID = "1.2.826.0.1.3680043.10.511.77"
SERIES_UID = f"{STUDY_UID}.2"
#: Patient A's chest CT study as its DICOM header names it (the reports' signed identity).
REPORT_IDENTITY = {
    "PatientName": "Nguyễn^Thị Lan",
    "PatientID": "PAT-A",
    "PatientBirthDate": "19580312",
    "StudyInstanceUID": STUDY_UID,
    "AccessionNumber": "ACC-77",
}


@dataclass(frozen=True)
class DemoPki:
    ca: Path
    p12: Path
    certificate: Path
    passphrase_file: Path

    @property
    def passphrase(self) -> bytes:
        return PASSPHRASE.encode("utf-8")


def make_test_pki(folder: Path) -> DemoPki:
    """Run the project's script to make a test CA and physician certificate."""
    folder.mkdir(parents=True, exist_ok=True)
    passphrase_file = folder / "passphrase.txt"
    passphrase_file.write_text(PASSPHRASE + "\n", encoding="utf-8")
    command = [sys.executable, str(REPO_ROOT / "scripts" / "make_test_ca.py")]
    command += ["--out", str(folder), "--name", PHYSICIAN, "--licence", LICENCE]
    command += ["--passphrase-file", str(passphrase_file)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    assert "NEVER FOR REAL USE" in done.stderr
    return DemoPki(
        folder / "ca.pem", folder / "physician.p12", folder / "physician.pem", passphrase_file
    )


def nss_database(folder: Path, ca: Path) -> str:
    """An NSS database trusting ``ca``, for poppler's pdfsig; returns its ``sql:`` path."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["certutil", "-N", "-d", f"sql:{folder}", "--empty-password"], check=True)
    trust = ["certutil", "-A", "-d", f"sql:{folder}", "-n", "halong-test-ca", "-t", "CT,C,C"]
    subprocess.run([*trust, "-i", str(ca)], check=True)
    return f"sql:{folder}"


def pdfsig(pdf: Path, nss: str) -> str:
    """poppler's own report on the signatures of ``pdf`` (pdfsig exits 0 either way)."""
    done = subprocess.run(["pdfsig", "-nssdir", nss, str(pdf)], capture_output=True, text=True)
    return done.stdout + done.stderr


def pdf_text(pdf: Path) -> str:
    """The text poppler extracts from ``pdf``."""
    done = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True)
    return done.stdout.decode("utf-8")


def _nodule(number: int, **values) -> dict:
    """A lung.json nodule record with every key the engine writes."""
    centre = values.pop("center_lps_mm")
    half = values.pop("half_size_mm")
    low = [c - half for c in centre]
    high = [c + half for c in centre]
    record = {
        "id": number,
        "center_lps_mm": centre,
        "bbox_lps_mm": [low, high],
        "probability": 0.9,
        "juxtapleural": False,
        "prior": None,
        "tracking_uid": f"2.25.{1000 + number}",
        "found_by": "network",
        "axial_slice_index": 4,
        "long_axis_ends_lps_mm": [low, high],
        "short_axis_ends_lps_mm": [low, high],
        "location": {"lung": "right", "lobe": None, "zone": "upper"},
        "lung_rads_finding": None,
        "fleischner": None,
    }
    record.update(values)
    for key in ("solid_volume_mm3", "long_axis_3d_mm", "short_axis_3d_mm"):
        record.setdefault(key, record["volume_mm3"] if key == "solid_volume_mm3" else 1.0)
    record.setdefault("max_hu", record["mean_hu"] + 50.0)
    return record


def lung_document(series_uid: str = SERIES_UID) -> dict:
    """A lung.json: one solid 4A nodule, one small ground-glass juxtapleural nodule."""
    return {
        "series_uid": series_uid,
        "lung_rads": {"category": "4A", "management": "3-month LDCT"},
        "fleischner": {
            "recommendation": "CT at 3 months",
            "risk": "low",
            "nodule_class": "solid",
            "count": "multiple",
            "nodule_id": 1,
        },
        "timings_s": {"total": 11.5},
        "algorithm": LUNG_ALGORITHM,
        "nodules": [
            _nodule(
                1,
                center_lps_mm=[-60.2, -10.5, -120.0],
                half_size_mm=6.0,
                volume_mm3=523.6,
                long_axis_mm=11.2,
                short_axis_mm=8.9,
                mean_diameter_mm=10.1,
                mean_hu=35.2,
                type="solid",
                solid_core_mm=10.1,
                probability=0.97,
                lung_rads="4A",
            ),
            _nodule(
                2,
                center_lps_mm=[50.0, 20.0, -150.0],
                half_size_mm=3.0,
                volume_mm3=77.7,
                long_axis_mm=5.9,
                short_axis_mm=4.3,
                mean_diameter_mm=5.1,
                mean_hu=-521.0,
                type="ground-glass",
                solid_core_mm=0.0,
                probability=0.81,
                juxtapleural=True,
                lung_rads="2",
                location={"lung": "left", "lobe": None, "zone": "lower"},
            ),
        ],
        "ai_generated": True,
        "verification": "UNVERIFIED",
        "schema_version": 1,
        "warnings": [],
    }


def _decision(rule: str, status: str, reason: str) -> dict:
    return {"rule": rule, "status": status, "reasons": [reason]}


def perfusion_document(core_ml: float = 12.4, series_uid: str = SERIES_UID) -> dict:
    """A perfusion.json of a DEFUSE 3 eligible CT perfusion study (of ``series_uid``)."""
    hypoperfusion = 86.0
    ratio = hypoperfusion / core_ml if core_ml else "inf"
    curve = {
        "position_lps_mm": [10.0, 5.0, 40.0],
        "voxels_lps_mm": [[10.0, 5.0, 40.0]],
        "automatic": True,
        "curve": {"times_s": [0.0, 1.6, 3.2], "values": [0.0, 80.0, 20.0], "unit": "HU"},
        "peak": 80.0,
        "time_to_peak_s": 1.6,
        "area": 160.0,
    }
    return {
        "modality": "CT",
        "core_ml": core_ml,
        "hypoperfusion_ml": hypoperfusion,
        "tmax_gt10_ml": 30.1,
        "mismatch_ml": hypoperfusion - core_ml,
        "mismatch_ratio": ratio,
        "hir": 0.35,
        "thresholds": {
            "core_relative_cbf": 0.3,
            "reference_tmax_s": 4.0,
            "hypoperfusion_tmax_s": 6.0,
            "severe_tmax_s": 10.0,
            "core_within_hypoperfusion": True,
            "min_cluster_ml": 0.5,
            "reference_cbf_ml_100g_min": 50.0,
            "core_source": "relative CBF",
        },
        "aif": curve,
        "vof": {**curve, "position_lps_mm": [0.0, 60.0, 50.0]},
        "qc": {
            "flags": [
                {
                    "name": "motion",
                    "raised": True,
                    "message": "head motion 2.4 mm",
                    "value": 2.4,
                    "threshold": 2.0,
                }
            ],
            "raised": ["motion"],
            "max_displacement_mm": 2.4,
            "notes": [],
        },
        "triage": {
            "defuse3": _decision("DEFUSE 3", "eligible", "core < 70 mL"),
            "dawn": _decision("DAWN", "needs input", "NIHSS not given"),
        },
        "timings_s": {"total": 7.9},
        "algorithm": PERFUSION_ALGORITHM,
        "ai_generated": True,
        "input": {
            "modality": "CT",
            "frames": 3,
            "shape_zyx": [10, 32, 32],
            "spacing_mm": [0.8, 0.8, 1.25],
            "frame_interval_s": 1.6,
            "frame_times_resampled": False,
            "baseline_frames": 1,
            "motion_corrected_frames": [],
            "series_uid": series_uid,
            "study_uid": STUDY_UID,
            "source": "test",
        },
    }


def seal(folder: Path, home: Path | None = None) -> Path:
    """Write the sealed manifest an engine writes, with the key of ``home`` (default: the
    test's ``$HALONG_HOME``; module-scoped fixtures pass their own)."""
    from workstation.home import resolve_home
    from workstation.model.manifest import MANIFEST, write_manifest

    files = [p for p in sorted(folder.rglob("*")) if p.is_file() and p.name != MANIFEST]
    key = resolve_home(home).result_seal_key()
    write_manifest(folder, files, key, "test fixture")
    return folder


def write_lung_result(folder: Path, series_uid: str = SERIES_UID, home: Path | None = None) -> Path:
    """lung.json and its manifest (:func:`write_ai_lung_dicom` seals the folder again)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "lung.json").write_text(json.dumps(lung_document(series_uid)), encoding="utf-8")
    return seal(folder, home)


def write_perfusion_result(
    folder: Path, core_ml: float = 12.4, series_uid: str = SERIES_UID, home: Path | None = None
) -> Path:
    """perfusion.json, a summary.png (a recognisable solid colour block) and the manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    document = perfusion_document(core_ml, series_uid)
    (folder / "perfusion.json").write_text(json.dumps(document))
    picture = np.zeros((120, 240, 3), np.uint8)
    picture[:, :120] = (255, 0, 255)
    Image.fromarray(picture).save(folder / "summary.png")
    return seal(folder, home)


#: Another patient's CT perfusion study, for the "two patients in one report" refusals.
OTHER_STUDY_UID = "1.2.826.0.1.3680043.10.511.88"
OTHER_SERIES_UID = f"{OTHER_STUDY_UID}.4"
OTHER_PATIENT = {"patient_id": "PAT-B", "patient_name": "Trần^Văn Bình"}


def write_source_series(folder: Path, other_patient: bool = False) -> Path:
    """The small CT series a result was computed on (for the local database): patient A's
    chest CT, or (``other_patient``) patient B's head CT."""
    from workstation.dicom.image_writer import SeriesInfo, write_volume
    from workstation.model.volume import Volume

    info = SeriesInfo(
        patient_id="PAT-A",
        patient_name="Nguyễn^Thị Lan",
        patient_birth_date="19580312",
        patient_sex="F",
        study_uid=STUDY_UID,
        study_date="20240105",
        study_time="101500",
        accession_number="ACC-77",
        study_description="CT NGUC LIEU THAP",
        series_uid=SERIES_UID,
        series_number=2,
        series_description="LUNG 1.25",
        body_part="CHEST",
    )
    if other_patient:
        info = SeriesInfo(
            **OTHER_PATIENT,
            patient_birth_date="19600101",
            patient_sex="M",
            study_uid=OTHER_STUDY_UID,
            study_date="20240620",
            accession_number="ACC-88",
            study_description="CT PERFUSION NAO",
            series_uid=OTHER_SERIES_UID,
            series_number=4,
            series_description="CTP 4D",
            body_part="HEAD",
        )
    voxels = np.full((10, 32, 32), -800, np.int16)
    volume = Volume(voxels, spacing=(0.8, 0.8, 1.25), origin=(-12.0, -12.0, 40.0), modality="CT")
    write_volume(volume, folder, info)
    return folder


def write_ai_lung_dicom(result_folder: Path, ct_folder: Path, home: Path | None = None) -> None:
    """The AI's own SEG and (unverified) SR of both nodules, as the lung engine writes them.

    Made with the project's SEG and TID 1500 writers; the numbers are those of
    :func:`lung_document`, nodule 1 and 2 as segments 1 and 2.
    """
    from pydicom.sr.codedict import codes
    from pydicom.sr.coding import Code

    from workstation.dicom.segmentation import Segment, write_segmentation
    from workstation.dicom.series_input import load_series, request_for_path
    from workstation.dicom.structured_report import (
        Evaluation,
        Finding,
        Quantity,
        write_measurement_report,
    )
    from workstation.lung.outputs import LUNG_SR, NODULES_SEG
    from workstation.model.report import Algorithm

    algorithm = Algorithm(LUNG_ALGORITHM["name"], LUNG_ALGORITHM["version"])
    ct = load_series(request_for_path(ct_folder), ct_folder / "no-database.sqlite")
    sources = ct.source_datasets()
    labels = np.zeros(ct.volume.shape_zyx, np.uint8)
    labels[2:6, 5:12, 5:12] = 1
    labels[7:9, 20:24, 20:24] = 2
    segments = [
        Segment(number, f"Nodule {number} (AI)", f"Nodule {number}", algorithm=algorithm)
        for number in (1, 2)
    ]
    seg = write_segmentation(
        ct.volume.with_voxels(labels), segments, sources, result_folder / NODULES_SEG
    )
    mm = codes.UCUM.Millimeter
    findings = []
    for segment, nodule in zip(segments, lung_document()["nodules"], strict=True):
        quantities = [
            Quantity(codes.SCT.Volume, nodule["volume_mm3"], codes.UCUM.CubicMillimeter),
            Quantity(codes.SCT.LongAxis, nodule["long_axis_mm"], mm),
            Quantity(codes.SCT.Diameter, nodule["mean_diameter_mm"], mm, codes.SCT.Mean),
        ]
        composition = Code(nodule["type"].upper(), "99HALONG", nodule["type"])
        evaluations = [Evaluation(Code("NODCOMP", "99HALONG", "Nodule composition"), composition)]
        findings.append(
            Finding(
                segment_number=segment.number,
                tracking_id=segment.tracking_id,
                tracking_uid=segment.tracking_uid,
                quantities=quantities,
                evaluations=evaluations,
            )
        )
    write_measurement_report(sources, seg, findings, result_folder / LUNG_SR, algorithm)
    seal(result_folder, home)
