"""The signed report PDF as a DICOM Encapsulated PDF object, for the PACS.

The signature covers every byte of the PDF, so the bytes must come back out of the
PACS exactly: DICOM pads odd-length values with a NUL, and Encapsulated Document
Length (0042,0015) records the true length so :func:`extract_pdf` can cut the pad
off again. Text is UTF-8 (``ISO_IR 192``) for Vietnamese names. The AI algorithms
whose findings the report contains are named in the Contributing Equipment Sequence.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    EncapsulatedPDFStorage,
    ExplicitVRLittleEndian,
    generate_uid,
)

from workstation.dicom.contributing_equipment import (
    MANUFACTURER,
    add_contributing_equipment,
    code_item,
)
from workstation.model.report import Algorithm, Patient, Study, local_time

PDF_MIME_TYPE = "application/pdf"
#: The header attributes naming the patient and study; the signed PDF repeats them.
IDENTITY_KEYWORDS = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "StudyInstanceUID",
    "AccessionNumber",
)
#: LOINC 18748-4, the document type of an imaging report.
REPORT_CONCEPT = ("18748-4", "LN", "Diagnostic imaging study")


class EncapsulatedPdfError(Exception):
    """The dataset holds no PDF, or its recorded length does not fit."""


def _patient_and_study(dataset: Dataset, patient: Patient, study: Study) -> None:
    dataset.PatientName = patient.name
    dataset.PatientID = patient.patient_id
    if patient.issuer:
        dataset.IssuerOfPatientID = patient.issuer
    dataset.PatientBirthDate = patient.birth_date
    dataset.PatientSex = patient.sex if patient.sex in {"M", "F", "O"} else ""
    dataset.StudyInstanceUID = study.study_uid
    dataset.StudyDate = study.study_date
    dataset.StudyTime = study.study_time
    dataset.ReferringPhysicianName = ""
    dataset.StudyID = study.study_id
    dataset.AccessionNumber = study.accession_number
    if study.description:
        dataset.StudyDescription = study.description[:64]


def encapsulated_pdf(
    pdf: bytes,
    *,
    patient: Patient,
    study: Study,
    title: str,
    created: datetime,
    algorithms: Iterable[Algorithm] = (),
    institution: str = "",
    series_uid: str | None = None,
    series_number: int = 901,
    sop_instance_uid: str | None = None,
) -> Dataset:
    """An Encapsulated PDF Storage dataset holding ``pdf`` byte for byte."""
    if not pdf.startswith(b"%PDF-"):
        raise EncapsulatedPdfError("the document is not a PDF")
    when = local_time(created)
    sop_instance_uid = sop_instance_uid or generate_uid()
    dataset = Dataset()
    dataset.SpecificCharacterSet = "ISO_IR 192"
    dataset.SOPClassUID = EncapsulatedPDFStorage
    dataset.SOPInstanceUID = sop_instance_uid
    dataset.InstanceCreationDate = when.strftime("%Y%m%d")
    dataset.InstanceCreationTime = when.strftime("%H%M%S")
    dataset.TimezoneOffsetFromUTC = when.strftime("%z")
    _patient_and_study(dataset, patient, study)
    dataset.Modality = "DOC"
    dataset.SeriesInstanceUID = series_uid or generate_uid()
    dataset.SeriesNumber = series_number
    dataset.Manufacturer = MANUFACTURER
    if institution:
        dataset.InstitutionName = institution[:64]
    dataset.ConversionType = "WSD"
    dataset.InstanceNumber = 1
    dataset.ContentDate = when.strftime("%Y%m%d")
    dataset.ContentTime = when.strftime("%H%M%S")
    dataset.AcquisitionDateTime = when.strftime("%Y%m%d%H%M%S%z")
    dataset.BurnedInAnnotation = "YES"
    dataset.DocumentTitle = title[:1024]
    dataset.ConceptNameCodeSequence = Sequence([code_item(*REPORT_CONCEPT)])
    dataset.MIMETypeOfEncapsulatedDocument = PDF_MIME_TYPE
    dataset.EncapsulatedDocument = pdf
    dataset.EncapsulatedDocumentLength = len(pdf)
    add_contributing_equipment(dataset, algorithms, created, "AI findings accepted by physician")

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = EncapsulatedPDFStorage
    meta.MediaStorageSOPInstanceUID = sop_instance_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    dataset.file_meta = meta
    return dataset


def extract_pdf(dataset: Dataset) -> bytes:
    """The PDF exactly as it was encapsulated (any DICOM padding removed)."""
    if (
        dataset.get("MIMETypeOfEncapsulatedDocument") != PDF_MIME_TYPE
        or "EncapsulatedDocument" not in dataset
    ):
        raise EncapsulatedPdfError("the dataset does not encapsulate a PDF")
    data = bytes(dataset.EncapsulatedDocument)
    length = dataset.get("EncapsulatedDocumentLength")
    if length is None:  # written by someone else: only a single pad byte can be undone
        return data[:-1] if len(data) % 2 == 0 and data.endswith(b"\x00") else data
    if not len(data) - 1 <= length <= len(data):
        raise EncapsulatedPdfError(
            f"Encapsulated Document Length {length} does not fit a value of {len(data)} bytes"
        )
    return data[:length]


def header_identity(dataset: Dataset) -> dict[str, str]:
    """The patient and study the header names, as text keyed by :data:`IDENTITY_KEYWORDS`.

    What ``halong verify`` holds against the identity signed inside the PDF: the header
    is not signed, so it is only as good as its agreement with the signed bytes.
    """
    return {keyword: str(dataset.get(keyword, "")).strip() for keyword in IDENTITY_KEYWORDS}


def write_dataset(dataset: Dataset, path: str | Path) -> Path:
    """Save ``dataset`` as a DICOM Part 10 file."""
    path = Path(path)
    dataset.save_as(path, enforce_file_format=True)
    return path
