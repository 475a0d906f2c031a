"""Recognising what to send, and refusing what could not be resent safely."""

from __future__ import annotations

import json

import pytest
from pydicom import dcmread
from support.report_files import write_report_folder

from workstation.net.payloads import PayloadError, collect_payloads


@pytest.fixture
def report(tmp_path):
    facts = write_report_folder(tmp_path, 7, images=2)
    (tmp_path / "lung.json").write_text(json.dumps({"algorithm": "x"}))  # not a Bundle
    return facts


def test_a_report_folder_yields_its_dicom_bundle_and_message_with_their_keys(tmp_path, report):
    found = {
        (p.kind, p.key) for p in collect_payloads([tmp_path], {"dicom", "fhir-bundle", "hl7v2"})
    }
    uids = {("dicom", dcmread(path).SOPInstanceUID) for path in report["files"]}
    assert found == uids | {("fhir-bundle", report["bundle_key"]), ("hl7v2", report["control_id"])}


def test_only_the_kinds_asked_for_are_read(tmp_path, report):
    (tmp_path / "fhir-bundle.json").write_text("{ broken")
    assert {p.kind for p in collect_payloads([tmp_path], {"hl7v2"})} == {"hl7v2"}


def test_a_bundle_with_a_plain_post_is_refused_before_it_is_queued(tmp_path, report):
    bundle = json.loads((tmp_path / "fhir-bundle.json").read_text())
    del bundle["entry"][2]["request"]["ifNoneExist"]
    (tmp_path / "fhir-bundle.json").write_text(json.dumps(bundle))
    with pytest.raises(PayloadError, match=r"entry 3 \(DiagnosticReport, POST\)"):
        list(collect_payloads([tmp_path], {"fhir-bundle"}))


def test_a_message_without_control_id_is_refused(tmp_path, report):
    message = (tmp_path / "oru.hl7").read_bytes().replace(b"|HALONG00000007|", b"||")
    (tmp_path / "oru.hl7").write_bytes(message)
    with pytest.raises(PayloadError, match="MSH-10"):
        list(collect_payloads([tmp_path], {"hl7v2"}))


def test_a_file_named_on_its_own_must_suit_a_destination(tmp_path, report):
    with pytest.raises(PayloadError, match="not a payload"):
        list(collect_payloads([tmp_path / "report.pdf"], {"dicom"}))


def test_dicom_whose_file_meta_names_another_instance_is_refused(tmp_path, report):
    path = report["files"][0]
    ds = dcmread(path)
    ds.file_meta.MediaStorageSOPInstanceUID = "1.2.3.4"
    ds.save_as(path)  # as it is, without pydicom mending the file meta
    with pytest.raises(PayloadError, match="another SOP Instance UID"):
        list(collect_payloads([path], {"dicom"}))
