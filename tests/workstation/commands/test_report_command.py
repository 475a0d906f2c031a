"""``halong report`` and ``halong verify`` end to end, as a physician would run them."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import pydicom
import pytest
from support.report_fixtures import (
    FINDINGS,
    LICENCE,
    PASSPHRASE,
    PHYSICIAN,
    make_test_pki,
    pdf_text,
    write_ai_lung_dicom,
    write_lung_result,
    write_perfusion_result,
    write_source_series,
)


@pytest.fixture
def study(halong, tmp_path):
    """The source CT indexed in the local database, and the two engines' results."""
    ct = write_source_series(tmp_path / "ct")
    assert halong("import", ct).status == 0
    lung = write_lung_result(tmp_path / "lung")
    write_ai_lung_dicom(lung, ct)  # the engine's own SEG and unverified SR
    perfusion = write_perfusion_result(tmp_path / "perfusion")
    return lung, perfusion, make_test_pki(tmp_path / "pki")


def _report(halong, study, out: Path, *extra):
    lung, perfusion, pki = study
    return halong(
        "report", lung, perfusion, "--signer", pki.p12, "--passphrase-file",
        pki.passphrase_file, "--out", out, "--findings", FINDINGS, *extra,
    )  # fmt: skip


def test_report_writes_signed_outputs_with_only_the_accepted_findings(
    halong, study, tmp_path, halong_home
):
    out = tmp_path / "out"
    done = _report(halong, study, out, "--accept", "nodule-1,perfusion", "--physician-id", LICENCE)
    assert done.status == 0, done.err
    assert "nodule-1, perfusion" in done.out
    pdf = (out / "report.pdf").read_bytes()
    for name in ("report-pdf.dcm", "report-sr.dcm", "report-seg.dcm", "fhir-bundle.json"):
        assert (out / name).is_file(), name
    assert (out / "oru.hl7").is_file() and (out / "report.json").is_file()
    sr = pydicom.dcmread(out / "report-sr.dcm")
    assert sr.VerificationFlag == "VERIFIED"
    assert len(pydicom.dcmread(out / "report-seg.dcm").SegmentSequence) == 1  # nodule 1 only
    assert not (out / "report.pdf").stat().st_mode & 0o222  # left read-only

    # the DICOM copy holds exactly the signed bytes
    from workstation.dicom.encapsulated_pdf import extract_pdf

    assert extract_pdf(pydicom.dcmread(out / "report-pdf.dcm")) == pdf
    bundle = json.loads((out / "fhir-bundle.json").read_text(encoding="utf-8"))
    (report,) = [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "DiagnosticReport"
    ]
    assert base64.b64decode(report["presentedForm"][0]["data"]) == pdf
    assert report["subject"]["reference"].startswith("urn:uuid:")
    hl7 = (out / "oru.hl7").read_bytes().decode("utf-8")
    assert base64.b64decode(hl7.split("^AP^PDF^Base64^")[1].split("|")[0]) == pdf
    assert "PAT-A^^^^PI" in hl7  # identity came from the indexed source series

    # the rejected nodule 2 is nowhere
    text = pdf_text(out / "report.pdf")
    assert "Nốt 1" in text and "Nốt 2" not in text
    for name in ("fhir-bundle.json", "oru.hl7", "report.json"):
        assert "77.7" not in (out / name).read_text(encoding="utf-8"), name
    dump = subprocess.run(["dsrdump", str(out / "report-sr.dcm")], capture_output=True, text=True)
    assert "523.6" in dump.stdout and "77.7" not in dump.stdout

    # the passphrase went nowhere; the audit trail has the signature and the export
    assert PASSPHRASE not in done.out + done.err
    audit = "\n".join(p.read_text(encoding="utf-8") for p in (halong_home / "audit").glob("*.log"))
    assert 'csd-code="110110"' in audit and 'csd-code="1.2.840.10065.1.12.1.1"' in audit
    assert 'csd-code="110106"' in audit and PASSPHRASE not in audit


def test_verify_reports_signer_and_catches_one_changed_byte(halong, study, tmp_path):
    out = tmp_path / "out"
    assert _report(halong, study, out, "--accept", "all").status == 0
    ca = study[2].ca
    good = halong("verify", out / "report.pdf", "--trust", ca)
    assert good.status == 0 and PHYSICIAN in good.out and good.out.rstrip().endswith("\nVALID")
    assert "signing time: 20" in good.out and "trusted" in good.out
    assert halong("verify", out / "report-pdf.dcm", "--trust", ca).status == 0
    checked = halong("verify", out / "report.pdf", "--trust", ca, "--json").json()
    assert checked["ok"] and checked["signatures"][0]["intact"]
    assert halong("verify", out / "report.pdf").status == 3  # no --trust: signer not checked

    data = bytearray((out / "report.pdf").read_bytes())
    data[len(data) // 3] ^= 0x20
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(bytes(data))
    bad = halong("verify", tampered, "--trust", ca)
    assert bad.status == 1 and "INVALID" in bad.out
    assert halong("verify", out / "report.json").status == 2  # not a PDF at all


def test_acceptance_must_be_explicit(halong, study, tmp_path):
    out = tmp_path / "out"
    missing = _report(halong, study, out)
    assert missing.status == 2 and "--accept" in missing.err
    assert not (out / "report.pdf").exists()
    unknown = _report(halong, study, out, "--accept", "nodule-9")
    assert unknown.status == 2 and "nodule-9" in unknown.err
    listed = halong("report", study[0], study[1], "--list-findings")
    assert listed.status == 0
    for finding_id in ("nodule-1", "nodule-2", "lung-rads", "perfusion"):
        assert finding_id in listed.out


def test_accepting_nothing_still_gives_a_signed_report_without_ai(halong, study, tmp_path):
    out = tmp_path / "out"
    assert _report(halong, study, out, "--accept", "none", "--language", "en").status == 0
    text = pdf_text(out / "report.pdf")
    assert "AI-assisted" not in text and "Z12.2" in text  # the template's no-finding code
    bundle = json.loads((out / "fhir-bundle.json").read_text(encoding="utf-8"))
    assert not [e for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"]


def test_a_signed_report_is_never_overwritten(halong, study, tmp_path):
    out = tmp_path / "out"
    assert _report(halong, study, out, "--accept", "all").status == 0
    before = (out / "report.pdf").read_bytes()
    again = _report(halong, study, out, "--accept", "none")
    assert again.status == 2 and "never overwritten" in again.err
    assert (out / "report.pdf").read_bytes() == before


def test_wrong_passphrase(halong, study, tmp_path):
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("nope\n")
    lung, perfusion, pki = study
    done = halong(
        "report", lung, perfusion, "--signer", pki.p12, "--passphrase-file", wrong,
        "--out", tmp_path / "out", "--accept", "all", "--findings", FINDINGS,
    )  # fmt: skip
    assert done.status == 2 and "wrong passphrase" in done.err and "nope" not in done.err


def test_pdfsig_accepts_the_cli_output(halong, study, tmp_path):
    out = tmp_path / "out"
    assert _report(halong, study, out, "--accept", "all").status == 0
    done = subprocess.run(
        ["pdfsig", "-nocert", str(out / "report.pdf")], capture_output=True, text=True
    )
    assert "Signature is Valid." in done.stdout


def test_an_amendment_is_a_new_signed_version_referencing_the_previous(halong, study, tmp_path):
    first, second = tmp_path / "v1", tmp_path / "v2"
    assert _report(halong, study, first, "--accept", "nodule-1").status == 0
    original = (first / "report.pdf").read_bytes()
    pki = study[2]
    done = halong(
        "report", study[0], "--amend", first, "--reason", "sai thùy phổi", "--impression",
        "Nốt đặc thùy dưới phải 10 mm.", "--signer", pki.p12, "--passphrase-file",
        pki.passphrase_file, "--out", second,
    )  # fmt: skip
    assert done.status == 0, done.err
    v1 = json.loads((first / "report.json").read_text(encoding="utf-8"))
    v2 = json.loads((second / "report.json").read_text(encoding="utf-8"))
    assert (v2["version"], v2["replaces"], v2["status"]) == (2, v1["report_id"], "amended")
    assert v2["set_id"] == v1["set_id"]
    assert [f["finding_id"] for f in v2["ai_findings"]] == ["nodule-1"]  # still accepted
    assert (first / "report.pdf").read_bytes() == original  # the signed v1 is untouched
    text = " ".join(pdf_text(second / "report.pdf").split())
    assert "Bản sửa đổi lần 2" in text and v1["report_id"] in text and "sai thùy phổi" in text
    assert halong("verify", second / "report.pdf", "--trust", pki.ca).status == 0
    hl7 = (second / "oru.hl7").read_text(encoding="utf-8")
    assert "|RAD|C|" in hl7  # OBR-25: correction
    bundle = json.loads((second / "fhir-bundle.json").read_text(encoding="utf-8"))
    (report,) = [e for e in bundle["entry"] if e["resource"]["resourceType"] == "DiagnosticReport"]
    assert report["resource"]["status"] == "amended"
    # the amended SR supersedes both the AI SR and the first report's SR
    superseded = {
        item.ReferencedSeriesSequence[0].ReferencedSOPSequence[0].ReferencedSOPInstanceUID
        for item in pydicom.dcmread(second / "report-sr.dcm").PredecessorDocumentsSequence
    }
    assert pydicom.dcmread(first / "report-sr.dcm").SOPInstanceUID in superseded
    assert pydicom.dcmread(study[0] / "lung-sr.dcm").SOPInstanceUID in superseded


def test_a_tampered_report_cannot_be_amended(halong, study, tmp_path):
    first = tmp_path / "v1"
    assert _report(halong, study, first, "--accept", "all").status == 0
    pdf = first / "report.pdf"
    pdf.chmod(0o644)
    data = bytearray(pdf.read_bytes())
    data[2000] ^= 1
    pdf.write_bytes(bytes(data))
    pki = study[2]
    done = halong(
        "report", "--amend", first, "--reason", "x", "--signer", pki.p12,
        "--passphrase-file", pki.passphrase_file, "--out", tmp_path / "v2",
    )  # fmt: skip
    assert done.status == 2 and "no intact signed report" in done.err
