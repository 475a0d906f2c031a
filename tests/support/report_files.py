"""Report folders as ``halong report`` writes them, made here so the send tests stand alone.

The DICOM files are real CT instances written by the project's image writer (the PACS
does not care which IOD it stores); the FHIR transaction Bundle and the HL7 v2.5
ORU^R01 are minimal but valid, and carry the identifiers that make resending safe:
every POST has an ``ifNoneExist``, the Bundle has an identifier, MSH-10 is unique.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from workstation.dicom.image_writer import SeriesInfo, write_volume
from workstation.model.volume import Volume

MRN_SYSTEM = "urn:oid:1.2.704.0.1.1"  # a hospital's medical record numbers (illustrative)
REPORT_SYSTEM = "urn:oid:1.2.704.0.1.2"
UID_ROOT = "1.2.826.0.1.3680043.10.511.77"


def write_report_folder(
    folder: Path, number: int, *, images: int = 3, patient_id: str = "PAT-A"
) -> dict[str, object]:
    """Write report ``number`` into ``folder``; return the identifiers a receiver sees."""
    folder.mkdir(parents=True, exist_ok=True)
    study_uid = f"{UID_ROOT}.{number}"
    info = SeriesInfo(
        patient_id=patient_id,
        patient_name="Nguyễn^Thị Lan",
        study_uid=study_uid,
        series_uid=f"{study_uid}.1",
        accession_number=f"ACC-{number}",
        study_description="CT CHEST LDCT",
    )
    volume = Volume(np.zeros((images, 8, 6), np.int16), spacing=(0.7, 0.7, 1.25), modality="CT")
    files = write_volume(volume, folder, info) if images else []
    report_id = f"RPT-{number}"
    control_id = f"HALONG{number:08d}"
    bundle = _bundle(report_id, patient_id, study_uid)
    (folder / "fhir-bundle.json").write_text(json.dumps(bundle), encoding="utf-8")
    (folder / "oru.hl7").write_bytes(_oru(control_id, patient_id, f"ACC-{number}"))
    (folder / "report.pdf").write_bytes(
        b"%PDF-1.4\n% not sent: the PDF travels inside the others\n"
    )
    return {
        "study_uid": study_uid,
        "files": files,
        "report_id": report_id,
        "bundle_key": f"{REPORT_SYSTEM}|{report_id}",
        "control_id": control_id,
    }


def _bundle(report_id: str, patient_id: str, study_uid: str) -> dict:
    patient_ref = "urn:uuid:7d0c8e2e-0000-4000-8000-000000000001"
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "identifier": {"system": REPORT_SYSTEM, "value": report_id},
        "entry": [
            {
                "fullUrl": patient_ref,
                "resource": {
                    "resourceType": "Patient",
                    "identifier": [{"system": MRN_SYSTEM, "value": patient_id}],
                    "name": [{"family": "Nguyễn", "given": ["Thị Lan"]}],
                },
                "request": {
                    "method": "POST",
                    "url": "Patient",
                    "ifNoneExist": f"identifier={MRN_SYSTEM}|{patient_id}",
                },
            },
            {
                "resource": {
                    "resourceType": "ImagingStudy",
                    "identifier": [{"system": "urn:dicom:uid", "value": f"urn:oid:{study_uid}"}],
                    "status": "available",
                    "subject": {"reference": patient_ref},
                },
                "request": {
                    "method": "POST",
                    "url": "ImagingStudy",
                    "ifNoneExist": f"identifier=urn:dicom:uid|urn:oid:{study_uid}",
                },
            },
            {
                "resource": {
                    "resourceType": "DiagnosticReport",
                    "identifier": [{"system": REPORT_SYSTEM, "value": report_id}],
                    "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "24627-2"}]},
                    "subject": {"reference": patient_ref},
                    "conclusion": "No suspicious pulmonary nodule.",
                },
                "request": {
                    "method": "POST",
                    "url": "DiagnosticReport",
                    "ifNoneExist": f"identifier={REPORT_SYSTEM}|{report_id}",
                },
            },
        ],
    }


def _oru(control_id: str, patient_id: str, accession: str) -> bytes:
    segments = [
        "MSH|^~\\&|HALONG|HOSPITAL|EMR|HOSPITAL|20260101120000||ORU^R01^ORU_R01|"
        f"{control_id}|P|2.5|||||||UNICODE UTF-8",
        f"PID|1||{patient_id}^^^HOSPITAL^MR||Nguyễn^Thị Lan||19580312|F",
        f"OBR|1||{accession}|24627-2^CT Chest^LN|||20260101100000",
        "OBX|1|TX|24627-2^CT Chest^LN||No suspicious pulmonary nodule.||||||F",
    ]
    return ("\r".join(segments) + "\r").encode("utf-8")
