"""``halong verify`` cannot be fooled: not by a DICOM header naming another patient, not by
a certificate of the right name from another CA, not by a missing ``--trust``.

The packages are real: written by ``halong report`` from a source CT series indexed in
the local database, signed under two test CAs whose physicians have the same name. The
ground truth for the signed identity is the source series' own DICOM header.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pydicom
import pytest
from fpdf import FPDF
from support.report_fixtures import (
    FINDINGS,
    PHYSICIAN,
    DemoPki,
    make_test_pki,
    write_ai_lung_dicom,
    write_lung_result,
    write_source_series,
)

from workstation.cli import main
from workstation.dicom.encapsulated_pdf import encapsulated_pdf, write_dataset
from workstation.model.report import Patient, Study
from workstation.reporting.pdf_identity import identity_xmp
from workstation.reporting.signing import load_signer, sign_pdf

KEYWORDS = ("PatientName", "PatientID", "PatientBirthDate", "StudyInstanceUID", "AccessionNumber")
NOT_CHECKED = "signature intact; signer not checked against a trusted CA"


@dataclass(frozen=True)
class Packages:
    source: Path  # one DICOM file of the source CT series
    trusted: Path  # the package signed under the trusted CA
    trusted_pki: DemoPki
    impostor: Path  # the same physician's name, certified by another CA


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> Packages:
    """``halong report`` run twice on the indexed study, once under each CA."""
    root = tmp_path_factory.mktemp("packages")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HALONG_HOME", str(root / "home"))
        ct = write_source_series(root / "ct")
        assert main(["import", str(ct)]) == 0
        lung = write_lung_result(root / "lung")
        write_ai_lung_dicom(lung, ct)
        outputs = []
        for name in ("ca-1", "ca-2"):
            pki = make_test_pki(root / name)
            out = root / f"signed-under-{name}"
            command = ["report", lung, "--signer", pki.p12, "--passphrase-file"]
            command += [pki.passphrase_file, "--out", out, "--accept", "all"]
            assert main([str(part) for part in [*command, "--findings", FINDINGS]]) == 0
            outputs.append((out, pki))
    (trusted, trusted_pki), (impostor, _) = outputs
    return Packages(sorted(ct.glob("*.dcm"))[0], trusted, trusted_pki, impostor)


def _last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


def _with_header(package: Path, tmp_path: Path, **changes: str) -> Path:
    """The package's report-pdf.dcm with header values changed (the PDF left as is)."""
    dataset = pydicom.dcmread(package / "report-pdf.dcm")
    for keyword, value in changes.items():
        setattr(dataset, keyword, value)
    path = tmp_path / "changed-pdf.dcm"
    dataset.save_as(path, enforce_file_format=True)
    return path


def test_the_signed_identity_is_the_source_series_header(halong, packages):
    source = pydicom.dcmread(packages.source, stop_before_pixels=True)
    truth = {keyword: str(source.get(keyword, "")) for keyword in KEYWORDS}
    assert truth["PatientID"] == "PAT-A" and truth["AccessionNumber"] == "ACC-77"
    ca = packages.trusted_pki.ca
    checked = halong("verify", packages.trusted / "report.pdf", "--trust", ca, "--json")
    assert checked.status == 0 and checked.json()["identity"] == truth
    report = json.loads((packages.trusted / "report.json").read_text(encoding="utf-8"))
    patient, study = report["patient"], report["study"]
    assert (patient["patient_id"], patient["name"], patient["birth_date"]) == (
        truth["PatientID"],
        truth["PatientName"],
        truth["PatientBirthDate"],
    )
    assert (study["study_uid"], study["accession_number"]) == (
        truth["StudyInstanceUID"],
        truth["AccessionNumber"],
    )
    # poppler reads the same identity from the signed file's XMP metadata
    meta = subprocess.run(
        ["pdfinfo", "-meta", str(packages.trusted / "report.pdf")], capture_output=True
    ).stdout.decode("utf-8")
    assert "urn:halong:report-identity:1.0/" in meta
    for value in truth.values():
        assert value in meta, value
    shown = halong("verify", packages.trusted / "report.pdf", "--trust", ca)
    assert "PatientID:        PAT-A" in shown.out and "Nguyễn^Thị Lan" in shown.out


def test_an_untouched_package_is_valid_only_with_trust(halong, packages):
    ca = packages.trusted_pki.ca
    for name in ("report.pdf", "report-pdf.dcm"):
        valid = halong("verify", packages.trusted / name, "--trust", ca)
        assert valid.status == 0 and _last_line(valid.out) == "VALID", valid.out
        unchecked = halong("verify", packages.trusted / name)
        assert unchecked.status == 3 and NOT_CHECKED in _last_line(unchecked.out)
        assert "VALID" not in _last_line(unchecked.out).replace("NOT VERIFIED", "")
    dicom = halong("verify", packages.trusted / "report-pdf.dcm", "--trust", ca)
    assert "DICOM header: names the signed patient and study" in dicom.out
    document = halong("verify", packages.trusted / "report-pdf.dcm", "--json").json()
    assert (document["ok"], document["trusted"], document["mismatches"]) == (False, None, [])
    assert document["verdict"] == "not verified" and document["unchecked"] == [NOT_CHECKED]


@pytest.mark.parametrize(
    ("keyword", "value"),
    [
        ("PatientID", "PAT-B"),
        ("PatientName", "Trần^Văn Bình"),
        ("PatientBirthDate", "19600101"),
        ("StudyInstanceUID", "1.2.826.0.1.3680043.10.511.88"),
        ("AccessionNumber", "ACC-88"),
    ],
)
def test_a_header_naming_another_patient_or_study_is_invalid(
    halong, packages, tmp_path, keyword, value
):
    changed = _with_header(packages.trusted, tmp_path, **{keyword: value})
    ca = packages.trusted_pki.ca
    done = halong("verify", changed, "--trust", ca)
    assert done.status == 1, done.out
    verdict = _last_line(done.out)
    assert verdict.startswith("INVALID") and keyword in verdict
    assert [k for k in KEYWORDS if k in verdict] == [keyword]  # only the changed field
    document = halong("verify", changed, "--trust", ca, "--json").json()
    original = pydicom.dcmread(packages.source, stop_before_pixels=True)
    assert document["mismatches"] == [
        {"field": keyword, "signed": str(original.get(keyword)), "header": value}
    ]
    assert document["ok"] is False and document["trusted"] is True
    assert all(s["intact"] and s["covers_whole_file"] for s in document["signatures"])


def test_a_name_padded_as_dicom_allows_still_matches(halong, packages, tmp_path):
    changed = _with_header(packages.trusted, tmp_path, PatientName="Nguyễn^Thị Lan^^")
    assert halong("verify", changed, "--trust", packages.trusted_pki.ca).status == 0


def test_the_same_name_under_another_ca_is_not_trusted(halong, packages):
    ca = packages.trusted_pki.ca
    for name in ("report.pdf", "report-pdf.dcm"):
        done = halong("verify", packages.impostor / name, "--trust", ca)
        assert done.status == 1 and PHYSICIAN in done.out
        assert "signer is not trusted" in _last_line(done.out)
    document = halong("verify", packages.impostor / "report.pdf", "--trust", ca, "--json").json()
    (signature,) = document["signatures"]
    assert signature["signer"] == PHYSICIAN and signature["intact"]
    assert document["trusted"] is False and document["ok"] is False
    # its own CA does vouch for it, and without --trust it is merely not verified
    own_ca = packages.impostor.parent / "ca-2" / "ca.pem"
    assert halong("verify", packages.impostor / "report.pdf", "--trust", own_ca).status == 0
    assert halong("verify", packages.impostor / "report.pdf").status == 3


def _one_line_refusal(done) -> str:
    assert done.status == 2 and not done.out, (done.out, done.err)
    (line,) = done.err.strip().splitlines()
    assert line.startswith("halong verify: ")
    return line


def test_unusable_input_gets_one_line_and_exit_2(halong, packages, tmp_path):
    ca = packages.trusted_pki.ca
    assert "no such file" in _one_line_refusal(halong("verify", tmp_path / "missing.pdf"))
    refused = _one_line_refusal(halong("verify", packages.trusted / "report.json"))
    assert "neither a PDF nor a DICOM file" in refused
    assert "not encapsulate a PDF" in _one_line_refusal(halong("verify", packages.source))
    truncated = tmp_path / "truncated.dcm"
    truncated.write_bytes((packages.trusted / "report-pdf.dcm").read_bytes()[:400])
    assert _one_line_refusal(halong("verify", truncated))
    pdf = packages.trusted / "report.pdf"
    bad_ca = _one_line_refusal(halong("verify", pdf, "--trust", packages.trusted / "oru.hl7"))
    assert "not a CA certificate" in bad_ca
    assert "no such" in _one_line_refusal(halong("verify", pdf, "--trust", tmp_path / "x.pem"))
    assert halong("verify", pdf, "--trust", ca).status == 0


def _older_halong_pdf(pki: DemoPki, creator: str, xmp: str = "") -> bytes:
    """A signed PDF as Halong made them before the identity was signed in (no XMP, unless
    ``xmp`` is given)."""
    document = FPDF()
    document.add_page()
    document.set_font("helvetica", size=12)
    document.cell(text="Report of PAT-A")
    document.set_creator(creator)
    document.set_xmp_metadata(xmp)
    return sign_pdf(bytes(document.output()), load_signer(pki.p12, pki.passphrase))


def test_a_pdf_signed_without_identity_is_reported_as_such(halong, packages, tmp_path):
    pki = packages.trusted_pki
    older = tmp_path / "older.pdf"
    older.write_bytes(_older_halong_pdf(pki, "Halong workstation"))
    done = halong("verify", older, "--trust", pki.ca)
    assert done.status == 0 and "signed by an older Halong" in done.out
    assert halong("verify", older, "--trust", pki.ca, "--json").json()["identity"] is None
    foreign = tmp_path / "foreign.pdf"
    foreign.write_bytes(_older_halong_pdf(pki, "Some other tool"))
    assert "not a Halong report" in halong("verify", foreign, "--trust", pki.ca).out

    # in a DICOM, nothing vouches for its header: never VALID
    dataset = encapsulated_pdf(
        older.read_bytes(),
        patient=Patient("PAT-A", "Nguyễn^Thị Lan", "19580312", "F"),
        study=Study("1.2.826.0.1.3680043.10.511.77", "ACC-77"),
        title="report",
        created=datetime(2024, 1, 5, 3, 15, tzinfo=UTC),
    )
    wrapped = write_dataset(dataset, tmp_path / "older-pdf.dcm")
    done = halong("verify", wrapped, "--trust", pki.ca)
    assert done.status == 3 and "DICOM header not checked" in _last_line(done.out)


def test_a_changed_byte_is_invalid_and_names_what_broke(halong, packages, tmp_path):
    data = bytearray((packages.trusted / "report.pdf").read_bytes())
    data[len(data) // 3] ^= 0x20
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(bytes(data))
    done = halong("verify", tampered, "--trust", packages.trusted_pki.ca)
    assert done.status == 1 and "the signed bytes changed since signing" in _last_line(done.out)
    unchecked = halong("verify", tampered, "--json")  # broken beats unchecked
    assert unchecked.status == 1 and unchecked.json()["unchecked"] == []


def test_a_signed_identity_missing_a_field_is_invalid(halong, packages, tmp_path):
    pki = packages.trusted_pki
    whole = identity_xmp(dict.fromkeys(KEYWORDS, "x"))
    partial = whole.replace("<halong:AccessionNumber>x</halong:AccessionNumber>", "")
    path = tmp_path / "partial.pdf"
    path.write_bytes(_older_halong_pdf(pki, "Halong workstation", partial))
    done = halong("verify", path, "--trust", pki.ca)
    assert done.status == 1 and "lacks AccessionNumber" in _last_line(done.out)
