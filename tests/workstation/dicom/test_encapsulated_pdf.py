"""Encapsulated PDF: valid per dciodvfy, and the PDF comes back out byte for byte."""

from __future__ import annotations

from datetime import UTC, datetime

import pydicom
import pytest
from fpdf import FPDF
from support.dicom_validation import dciodvfy_errors

from workstation.dicom.encapsulated_pdf import (
    EncapsulatedPdfError,
    encapsulated_pdf,
    extract_pdf,
    header_identity,
    write_dataset,
)
from workstation.model.report import Algorithm, Patient, Study

PATIENT = Patient("PAT-A", "Nguyễn^Thị Lan", "19580312", "F")
STUDY = Study("1.2.826.0.1.3680043.10.511.1", "ACC-1", "20240105", "101500", study_id="77")
WHEN = datetime(2024, 1, 5, 4, 30, tzinfo=UTC)


def _pdf(odd: bool) -> bytes:
    document = FPDF()
    document.add_page()
    document.set_font("helvetica", size=12)
    document.cell(text="report")
    data = bytes(document.output())
    if len(data) % 2 != odd:
        data += b"\n"  # trailing whitespace after %%EOF is allowed
    return data


def _dataset(pdf: bytes, **extra):
    return encapsulated_pdf(
        pdf, patient=PATIENT, study=STUDY, title="KẾT QUẢ", created=WHEN, **extra
    )


@pytest.mark.parametrize("odd", [True, False], ids=["odd-length", "even-length"])
def test_pdf_is_byte_identical_after_a_round_trip_through_a_file(tmp_path, odd):
    pdf = _pdf(odd)
    dataset = _dataset(pdf)
    path = write_dataset(dataset, tmp_path / "report-pdf.dcm")
    read = pydicom.dcmread(path)
    assert len(read.EncapsulatedDocument) % 2 == 0  # DICOM padded the odd one
    assert read.EncapsulatedDocumentLength == len(pdf)
    assert extract_pdf(read) == pdf


def test_dciodvfy_reports_no_errors(tmp_path):
    algorithms = [Algorithm("halong-lung", "0.3.1"), Algorithm("halong-perfusion", "0.2.0")]
    dataset = _dataset(_pdf(odd=True), algorithms=algorithms, institution="Bệnh viện Hạ Long")
    path = write_dataset(dataset, tmp_path / "report-pdf.dcm")
    assert dciodvfy_errors(path, "EncapsulatedPDF") == []


def test_ai_algorithms_are_named_in_the_contributing_equipment(tmp_path):
    algorithms = [Algorithm("halong-lung", "0.3.1"), Algorithm("halong-lung", "0.3.1")]
    dataset = _dataset(_pdf(odd=False), algorithms=algorithms)
    read = pydicom.dcmread(write_dataset(dataset, tmp_path / "a.dcm"))
    (item,) = read.ContributingEquipmentSequence  # one item per distinct algorithm
    assert (item.ManufacturerModelName, item.SoftwareVersions) == ("halong-lung", "0.3.1")
    purpose = item.PurposeOfReferenceCodeSequence[0]
    assert (purpose.CodeValue, purpose.CodingSchemeDesignator) == ("109102", "DCM")
    assert item.ContributionDateTime == "20240105113000+0700"
    assert read.SpecificCharacterSet == "ISO_IR 192" and read.PatientName == "Nguyễn^Thị Lan"
    assert read.StudyInstanceUID == STUDY.study_uid and read.Modality == "DOC"
    plain = _dataset(_pdf(odd=False))
    assert "ContributingEquipmentSequence" not in plain


def test_only_pdfs_are_encapsulated_and_a_wrong_length_is_caught():
    with pytest.raises(EncapsulatedPdfError):
        _dataset(b"not a pdf")
    dataset = _dataset(_pdf(odd=True))
    dataset.EncapsulatedDocumentLength = 10
    with pytest.raises(EncapsulatedPdfError):
        extract_pdf(dataset)


def test_a_pdf_object_without_its_document_is_refused_not_raised_through():
    dataset = _dataset(_pdf(odd=True))
    del dataset.EncapsulatedDocument
    with pytest.raises(EncapsulatedPdfError, match="does not encapsulate a PDF"):
        extract_pdf(dataset)


def test_the_header_identity_is_read_as_the_writer_stated_it(tmp_path):
    read = pydicom.dcmread(write_dataset(_dataset(_pdf(odd=True)), tmp_path / "a.dcm"))
    assert header_identity(read) == {
        "PatientName": "Nguyễn^Thị Lan",
        "PatientID": "PAT-A",
        "PatientBirthDate": "19580312",
        "StudyInstanceUID": "1.2.826.0.1.3680043.10.511.1",
        "AccessionNumber": "ACC-1",
    }
