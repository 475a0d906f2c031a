"""PAdES signatures: pyHanko and poppler's pdfsig both accept ours and catch tampering."""

from __future__ import annotations

import dataclasses
import io
import logging
import subprocess
from pathlib import Path

import pytest
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.metadata.xmp_xml import MetadataStream
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from support.report_fixtures import PASSPHRASE, PHYSICIAN, REPORT_IDENTITY, pdfsig

from workstation.reporting.pdf import render_report_pdf
from workstation.reporting.pdf_identity import identity_xmp
from workstation.reporting.signing import SigningError, load_signer, sign_pdf
from workstation.reporting.verification import verify_pdf


def _pyhanko_status(data: bytes, ca: Path):
    """pyHanko's own validation, called directly (not through our wrapper)."""
    signature = PdfFileReader(io.BytesIO(data), strict=False).embedded_signatures[0]
    context = ValidationContext(trust_roots=[load_cert_from_pemder(str(ca))])
    return validate_pdf_signature(signature, context)


def _flip(data: bytes, position: int) -> bytes:
    changed = bytearray(data)
    changed[position] ^= 0x01
    return bytes(changed)


def test_pyhanko_validates_the_signature_against_the_test_ca(signed_pdf, test_pki):
    status = _pyhanko_status(signed_pdf, test_pki.ca)
    assert status.bottom_line
    assert status.intact and status.valid and status.trusted
    assert status.signing_cert.subject.native["common_name"] == PHYSICIAN
    assert status.coverage.name == "ENTIRE_FILE"
    # PAdES: ETSI.CAdES.detached, certified with "no changes allowed"
    reader = PdfFileReader(io.BytesIO(signed_pdf))
    signature = reader.embedded_signatures[0]
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert signature.docmdp_level.value == 1


def test_pdfsig_validates_the_signature_against_the_test_ca(signed_pdf, nss, tmp_path):
    path = tmp_path / "report.pdf"
    path.write_bytes(signed_pdf)
    report = pdfsig(path, nss)
    assert f"Signer Certificate Common Name: {PHYSICIAN}" in report
    assert "Signature Validation: Signature is Valid." in report
    assert "Certificate Validation: Certificate is Trusted." in report
    assert "Signature Type: ETSI.CAdES.detached" in report
    assert "Total document signed" in report


def test_a_changed_byte_in_the_signed_text_fails_pdfsig_pyhanko_and_verify(
    signed_pdf, nss, test_pki, tmp_path
):
    position = signed_pdf.index(b"stream") + 40  # inside the first content stream
    tampered = _flip(signed_pdf, position)
    path = tmp_path / "tampered.pdf"
    path.write_bytes(tampered)
    assert "Signature Validation: Digest Mismatch." in pdfsig(path, nss)
    status = _pyhanko_status(tampered, test_pki.ca)
    assert not status.intact and not status.bottom_line
    assert not verify_pdf(tampered, [test_pki.ca]).ok


def test_verify_detects_any_single_changed_byte(signed_pdf, test_pki):
    """Every tenth of the file, plus the signature value and the last byte."""
    contents = signed_pdf.index(b"/Contents <") + 20
    positions = [len(signed_pdf) * k // 10 for k in range(10)]
    positions += [contents, len(signed_pdf) - 1]
    assert verify_pdf(signed_pdf, [test_pki.ca]).ok
    for position in positions:
        assert not verify_pdf(_flip(signed_pdf, position), [test_pki.ca]).ok, position


def test_changes_appended_after_signing_are_detected(signed_pdf, test_pki, nss, tmp_path):
    """An incremental update (the classic way to alter a signed PDF) breaks coverage."""
    writer = IncrementalPdfFileWriter(io.BytesIO(signed_pdf))
    writer.root["/Lang"] = writer.root.get("/Lang")  # any change, written as a new revision
    writer.update_root()
    buffer = io.BytesIO()
    writer.write(buffer)
    appended = buffer.getvalue()
    assert appended.startswith(signed_pdf) and len(appended) > len(signed_pdf)
    result = verify_pdf(appended, [test_pki.ca])
    assert not result.ok and not result.signatures[0].covers_whole_file
    path = tmp_path / "appended.pdf"
    path.write_bytes(appended)
    assert "Total document signed" not in pdfsig(path, nss)


def test_untrusted_ca_is_reported(signed_pdf, tmp_path):
    from support.report_fixtures import make_test_pki

    other = make_test_pki(tmp_path / "other-pki")
    result = verify_pdf(signed_pdf, [other.ca])
    assert result.signatures[0].intact and result.signatures[0].trusted is False
    assert not result.ok


def test_wrong_passphrase_is_refused_without_echoing_it(test_pki, caplog):
    wrong = "sai-mat-khau-9876"
    with caplog.at_level(logging.DEBUG), pytest.raises(SigningError) as refused:
        load_signer(test_pki.p12, wrong.encode())
    assert wrong not in str(refused.value) and wrong not in caplog.text
    signer = load_signer(test_pki.p12, test_pki.passphrase)
    assert signer.common_name == PHYSICIAN
    assert PASSPHRASE not in caplog.text


def test_the_patient_and_study_are_read_from_the_signed_bytes(signed_pdf, test_pki):
    result = verify_pdf(signed_pdf, [test_pki.ca])
    assert result.ok and result.identity == REPORT_IDENTITY and result.made_by_halong


def test_metadata_rewritten_after_signing_never_replaces_the_signed_identity(
    signed_pdf, test_pki, tmp_path
):
    """An incremental update naming another patient: the newest XMP says PAT-B (poppler
    reads it), verification still reports the signed PAT-A, and fails."""
    writer = IncrementalPdfFileWriter(io.BytesIO(signed_pdf))
    other = identity_xmp({**REPORT_IDENTITY, "PatientID": "PAT-B"}).encode("utf-8")
    writer.root["/Metadata"] = writer.add_object(MetadataStream(stream_data=other))
    writer.update_root()
    buffer = io.BytesIO()
    writer.write(buffer)
    path = tmp_path / "rewritten.pdf"
    path.write_bytes(buffer.getvalue())
    newest = subprocess.run(["pdfinfo", "-meta", str(path)], capture_output=True, text=True)
    assert "PAT-B" in newest.stdout
    result = verify_pdf(path.read_bytes(), [test_pki.ca])
    assert result.identity == REPORT_IDENTITY and not result.ok


def test_markup_in_a_name_survives_pyhankos_rewrite_of_the_xmp(final_report, test_pki):
    name = 'O\'Brien & <Sons> "Jr"^Thị'
    patient = dataclasses.replace(final_report.patient, name=name)
    report = dataclasses.replace(final_report, patient=patient)
    signer = load_signer(test_pki.p12, test_pki.passphrase)
    result = verify_pdf(sign_pdf(render_report_pdf(report), signer), [test_pki.ca])
    assert result.ok and result.identity == {**REPORT_IDENTITY, "PatientName": name}
