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

REPO_ROOT = Path(__file__).resolve().parents[3]
PASSPHRASE = "mật khẩu thử nghiệm 123"  # non-ASCII on purpose
PHYSICIAN = "BS. Nguyễn Văn An (TEST)"
LUNG_ALGORITHM = {"name": "halong-lung", "version": "0.3.1", "device": "cpu"}
PERFUSION_ALGORITHM = {"name": "halong-perfusion", "version": "0.2.0"}
STUDY_UID = "1.2.826.0.1.3680043.10.511.77"
SERIES_UID = f"{STUDY_UID}.2"


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
    command += ["--out", str(folder), "--name", PHYSICIAN]
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


def lung_document(series_uid: str = SERIES_UID) -> dict:
    """A lung.json: one solid 4A nodule, one small ground-glass juxtapleural nodule."""
    return {
        "series_uid": series_uid,
        "lung_rads": {"category": "4A", "management": "3-month LDCT"},
        "fleischner": {"recommendation": "CT at 3 months"},
        "timings_s": {"total": 11.5},
        "algorithm": LUNG_ALGORITHM,
        "nodules": [
            {
                "id": 1,
                "center_lps_mm": [-60.2, -10.5, -120.0],
                "bbox_lps_mm": [[-66.0, -16.0, -126.0], [-54.0, -4.0, -114.0]],
                "volume_mm3": 523.6,
                "long_axis_mm": 11.2,
                "short_axis_mm": 8.9,
                "mean_diameter_mm": 10.1,
                "mean_hu": 35.2,
                "type": "solid",
                "solid_core_mm": 10.1,
                "probability": 0.97,
                "juxtapleural": False,
                "lung_rads": "4A",
                "prior": None,
            },
            {
                "id": 2,
                "center_lps_mm": [50.0, 20.0, -150.0],
                "bbox_lps_mm": [[47.0, 17.0, -153.0], [53.0, 23.0, -147.0]],
                "volume_mm3": 77.7,
                "long_axis_mm": 5.9,
                "short_axis_mm": 4.3,
                "mean_diameter_mm": 5.1,
                "mean_hu": -521.0,
                "type": "ground-glass",
                "solid_core_mm": 0.0,
                "probability": 0.81,
                "juxtapleural": True,
                "lung_rads": "2",
                "prior": None,
            },
        ],
    }


def perfusion_document(core_ml: float = 12.4) -> dict:
    """A perfusion.json of a DEFUSE 3 eligible CT perfusion study."""
    hypoperfusion = 86.0
    ratio = hypoperfusion / core_ml if core_ml else "inf"
    return {
        "modality": "CT",
        "core_ml": core_ml,
        "hypoperfusion_ml": hypoperfusion,
        "tmax_gt10_ml": 30.1,
        "mismatch_ml": hypoperfusion - core_ml,
        "mismatch_ratio": ratio,
        "hir": 0.35,
        "thresholds": {"rcbf": 0.3, "tmax_s": 6.0},
        "aif": {"position_lps_mm": [10.0, 5.0, 40.0], "curve": [0.0, 80.0, 20.0]},
        "vof": {"position_lps_mm": [0.0, 60.0, 50.0], "curve": [0.0, 60.0, 30.0]},
        "qc": {"flags": [], "raised": ["motion"], "max_displacement_mm": 2.4, "notes": []},
        "triage": {
            "defuse3": {"rule": "DEFUSE 3", "status": "eligible", "reasons": ["core < 70 mL"]},
            "dawn": {"rule": "DAWN", "status": "needs input", "reasons": ["NIHSS not given"]},
        },
        "timings_s": {"total": 7.9},
        "algorithm": PERFUSION_ALGORITHM,
    }


def write_lung_result(folder: Path, series_uid: str = SERIES_UID) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "lung.json").write_text(json.dumps(lung_document(series_uid)), encoding="utf-8")
    return folder


def write_perfusion_result(folder: Path, core_ml: float = 12.4) -> Path:
    """perfusion.json and a summary.png (a recognisable solid colour block)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "perfusion.json").write_text(json.dumps(perfusion_document(core_ml)))
    picture = np.zeros((120, 240, 3), np.uint8)
    picture[:, :120] = (255, 0, 255)
    Image.fromarray(picture).save(folder / "summary.png")
    return folder


def write_source_series(folder: Path) -> Path:
    """The small CT series the lung result was computed on (for the local database)."""
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
    voxels = np.full((10, 32, 32), -800, np.int16)
    volume = Volume(voxels, spacing=(0.8, 0.8, 1.25), origin=(-12.0, -12.0, 40.0), modality="CT")
    write_volume(volume, folder, info)
    return folder


def write_ai_lung_dicom(result_folder: Path, ct_folder: Path) -> None:
    """The AI's own SEG and (unverified) SR of both nodules, as the lung engine writes them.

    Made with the project's SEG and TID 1500 writers; the numbers are those of
    :func:`lung_document`, nodule 1 and 2 as segments 1 and 2.
    """
    from pydicom.sr.codedict import codes
    from pydicom.sr.coding import Code

    from workstation.dicom.segmentation import Segment, write_segmentation
    from workstation.dicom.structured_report import (
        Evaluation,
        Finding,
        Quantity,
        write_measurement_report,
    )
    from workstation.lung_outputs import LUNG_SR, NODULES_SEG, load_ct
    from workstation.model.report import Algorithm

    algorithm = Algorithm(LUNG_ALGORITHM["name"], LUNG_ALGORITHM["version"])
    ct = load_ct([ct_folder])
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
