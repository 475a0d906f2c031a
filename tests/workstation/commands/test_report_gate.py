"""``halong report`` refuses what a clinical tool must never sign, and writes nothing then.

Each case of the reading-context issue: two patients' results in one report, a result
file edited after the engine wrote it (or written with nonsense), a typed physician who
is not the certificate holder, empty findings or impression; and the exam's Lung-RADS,
which is recomputed from the accepted nodules instead of repeating the engine's.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from support.report_fixtures import (
    FINDINGS,
    OTHER_PATIENT,
    OTHER_SERIES_UID,
    PHYSICIAN,
    make_test_pki,
    pdf_text,
    seal,
    write_ai_lung_dicom,
    write_lung_result,
    write_perfusion_result,
    write_source_series,
)


@pytest.fixture
def study(halong, tmp_path):
    """Patient A's chest CT with the lung engine's outputs, and patient B's perfusion."""
    ct_a = write_source_series(tmp_path / "ct-a")
    ct_b = write_source_series(tmp_path / "ct-b", other_patient=True)
    assert halong("import", ct_a, ct_b).status == 0
    lung_a = write_lung_result(tmp_path / "lung-a")
    write_ai_lung_dicom(lung_a, ct_a)
    perfusion_b = write_perfusion_result(tmp_path / "perfusion-b", series_uid=OTHER_SERIES_UID)
    return {"lung_a": lung_a, "perfusion_b": perfusion_b, "pki": make_test_pki(tmp_path / "pki")}


def _report(halong, study, out: Path, *folders_and_options):
    pki = study["pki"]
    return halong(
        "report", *folders_and_options, "--signer", pki.p12, "--passphrase-file",
        pki.passphrase_file, "--out", out,
    )  # fmt: skip


def _refused(done, out: Path) -> str:
    """The one line a refusal prints; nothing may have been written."""
    assert done.status == 2, (done.out, done.err)
    lines = [line for line in done.err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("halong report: "), done.err
    assert not out.exists(), sorted(p.name for p in out.iterdir())
    return lines[0]


def test_two_patients_results_are_refused_naming_both(halong, study, tmp_path):
    out = tmp_path / "out"
    done = _report(
        halong, study, out, study["perfusion_b"], study["lung_a"], "--accept", "all",
        "--findings", FINDINGS,
    )  # fmt: skip
    message = _refused(done, out)
    assert "different patients" in message
    assert "PAT-A" in message and "Nguyễn Thị Lan" in message
    assert OTHER_PATIENT["patient_id"] in message and "Trần Văn Bình" in message
    # not even the findings are listed for such a pair
    listed = halong("report", study["perfusion_b"], study["lung_a"], "--list-findings")
    assert listed.status == 2 and "different patients" in listed.err


def _edit(folder: Path, change) -> None:
    document = json.loads((folder / "lung.json").read_text(encoding="utf-8"))
    change(document)
    (folder / "lung.json").write_text(json.dumps(document), encoding="utf-8")


def _set(path: str, value):
    def change(document: dict) -> None:
        target = document
        *parents, last = path.split(".")
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[int(last) if last.isdigit() else last] = value

    return change


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (_set("nodules.0.volume_mm3", 50.0), "was changed after the analysis wrote it"),
        (_set("lung_rads.category", "2"), "was changed after the analysis wrote it"),
        (_set("nodules.0.lung_rads", "2"), "was changed after the analysis wrote it"),
        (_set("algorithm.name", "Other CAD"), "algorithm.name: 'Halong lung nodule CAD' was"),
    ],
)
def test_a_result_edited_after_the_engine_wrote_it_is_refused(
    halong, study, tmp_path, change, expected
):
    _edit(study["lung_a"], change)
    out = tmp_path / "out"
    done = _report(halong, study, out, study["lung_a"], "--accept", "all", "--findings", FINDINGS)
    message = _refused(done, out)
    assert expected in message and "lung.json" in message


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (_set("nodules.0.volume_mm3", float("nan")), "nodules[0].volume_mm3: NaN"),
        (_set("nodules.0.volume_mm3", -50.0), "nodules[0].volume_mm3: -50.0 is less than"),
        (_set("nodules.1.lung_rads", "5"), "nodules[1].lung_rads"),
        (_set("algorithm.name", "Other CAD"), "algorithm.name"),
        (_set("algorithm.version", "9.9"), "algorithm.version"),
    ],
)
def test_a_result_with_impossible_values_is_refused_even_when_sealed(
    halong, study, tmp_path, change, expected
):
    """As if an engine (or someone with the key) wrote nonsense: the schema refuses it."""
    _edit(study["lung_a"], change)
    seal(study["lung_a"])
    out = tmp_path / "out"
    done = _report(halong, study, out, study["lung_a"], "--accept", "all", "--findings", FINDINGS)
    assert expected in _refused(done, out)


def test_a_manifest_rewritten_without_the_key_is_refused(halong, study, tmp_path):
    import hashlib

    folder = study["lung_a"]
    _edit(folder, _set("nodules.0.volume_mm3", 50.0))
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["files"]["lung.json"] = hashlib.sha256((folder / "lung.json").read_bytes()).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    out = tmp_path / "out"
    done = _report(halong, study, out, folder, "--accept", "all", "--findings", FINDINGS)
    assert "not written by this Halong installation" in _refused(done, out)


def test_a_result_without_a_manifest_is_refused(halong, study, tmp_path):
    (study["lung_a"] / "manifest.json").unlink()
    out = tmp_path / "out"
    done = _report(halong, study, out, study["lung_a"], "--accept", "all", "--findings", FINDINGS)
    assert "has no manifest.json" in _refused(done, out)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (("--physician", "BS. Trần Thị Khác"), "is not the holder of the signing certificate"),
        (("--physician-id", "CCHN-9999"), "is not the one in the signing certificate"),
    ],
)
def test_a_typed_physician_who_is_not_the_signer_is_refused(
    halong, study, tmp_path, options, expected
):
    out = tmp_path / "out"
    done = _report(
        halong, study, out, study["lung_a"], "--accept", "all", "--findings", FINDINGS, *options
    )
    message = _refused(done, out)
    assert expected in message and ("CCHN-0042" in message or PHYSICIAN in message)


def test_the_signer_named_differently_only_in_case_and_spacing_may_sign(halong, study, tmp_path):
    out = tmp_path / "out"
    typed = "  " + PHYSICIAN.upper().replace(" ", "  ") + " "
    done = _report(
        halong, study, out, study["lung_a"], "--accept", "all", "--findings", FINDINGS,
        "--physician", typed,
    )  # fmt: skip
    assert done.status == 0, done.err
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["physician"] == {"name": PHYSICIAN, "identifier": "CCHN-0042"}
    # a signed report is read by its owner only, and written by nobody
    assert {stat.S_IMODE(path.stat().st_mode) for path in out.iterdir()} == {0o400}


@pytest.mark.parametrize(
    "text",
    [
        ("--findings", "", "--impression", ""),
        ("--findings", "   ", "--impression", "Nốt phổi."),
        ("--findings", FINDINGS, "--impression", " \n "),
        ("--impression", "Nốt phổi."),  # the template's bare headings stay as findings
    ],
)
def test_empty_findings_or_impression_are_not_signed(halong, study, tmp_path, text):
    out = tmp_path / "out"
    done = _report(halong, study, out, study["lung_a"], "--accept", "all", *text)
    message = _refused(done, out)
    assert "the text is empty" in message


def test_the_exam_category_is_recomputed_from_the_accepted_nodules(halong, study, tmp_path):
    """The engine says 4A (nodule 1); only the category-2 nodule 2 is accepted: the report
    says Lung-RADS 2, in the PDF, FHIR, HL7 and report.json alike."""
    out = tmp_path / "out"
    done = _report(
        halong, study, out, study["lung_a"], "--accept", "nodule-2,lung-rads",
        "--findings", FINDINGS, "--language", "en",
    )  # fmt: skip
    assert done.status == 0, done.err
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    (exam,) = [f for f in report["ai_findings"] if f["finding_id"] == "lung-rads"]
    assert exam["data"]["lung_rads"]["category"] == "2"
    assert "Lung-RADS 2" in exam["summary"] and "4A" not in exam["summary"]
    # "4A" alone could be part of a random identifier (MSH-10 is hex): look for the words
    text = " ".join(pdf_text(out / "report.pdf").split())
    assert "Lung-RADS 2" in text and "Lung-RADS 4A" not in text
    bundle = json.loads((out / "fhir-bundle.json").read_text(encoding="utf-8"))
    for entry in bundle["entry"]:
        entry["resource"].pop("presentedForm", None)  # the PDF, base64
    assert "Lung-RADS 2" in json.dumps(bundle) and "Lung-RADS 4A" not in json.dumps(bundle)
    segments = (out / "oru.hl7").read_bytes().decode("utf-8").split("\r")
    text = "\r".join(s for s in segments if "^AP^PDF^Base64^" not in s)
    assert "Lung-RADS 2" in text and "Lung-RADS 4A" not in text


def test_with_no_nodule_accepted_the_exam_is_lung_rads_1(halong, study, tmp_path):
    out = tmp_path / "out"
    done = _report(
        halong, study, out, study["lung_a"], "--accept", "lung-rads", "--findings", FINDINGS,
        "--language", "en",
    )  # fmt: skip
    assert done.status == 0, done.err
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["ai_findings"][0]["data"]["lung_rads"]["category"] == "1"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "lung.json: the result file cannot be read"),
        ('["a", "list"]', "does not hold a result"),
        (None, "nodules[0]: 'a string' is not of type 'object'"),
        ("MISSING", "'nodules' is a required property"),
    ],
)
def test_a_malformed_result_file_is_named_with_its_field(
    halong, study, tmp_path, content, expected
):
    path = study["lung_a"] / "lung.json"
    if content is None:
        _edit(study["lung_a"], _set("nodules.0", "a string"))
    elif content == "MISSING":
        _edit(study["lung_a"], lambda document: document.pop("nodules"))
    else:
        path.write_text(content, encoding="utf-8")
    out = tmp_path / "out"
    done = _report(halong, study, out, study["lung_a"], "--accept", "all", "--findings", FINDINGS)
    message = _refused(done, out)
    assert expected in message and "unexpected" not in message
