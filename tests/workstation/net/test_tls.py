"""DICOM TLS to a real Orthanc that speaks nothing else, and DICOMweb over HTTPS.

Orthanc is given the test PKI's "server" certificate and trusts its CA for peers;
Halong uses the "client" pair. That a query in clear fails against the same Orthanc
shows the transfers that work really went over TLS. A second, unrelated PKI stands for
a PACS certificate nobody vouched for.
"""

from __future__ import annotations

import numpy as np
import pytest
from pydicom import dcmread
from support.report_files import write_report_folder
from support.tls_certs import make_pki

from workstation.dicom.database import Database
from workstation.dicom.image_writer import SeriesInfo, write_volume
from workstation.model.volume import Volume

ROOT = "1.2.826.0.1.3680043.10.511.90"
STUDY = SeriesInfo(patient_id="PAT-T", study_uid=f"{ROOT}.1", series_uid=f"{ROOT}.1.1")


def _tls(pki, ca: str = "ca") -> list[str]:
    return ["--tls-ca", pki[ca], "--tls-cert", pki["client_cert"], "--tls-key", pki["client_key"]]


def _upload_study(orthanc, tmp_path) -> None:
    volume = Volume(np.arange(3 * 8 * 6, dtype=np.int16).reshape(3, 8, 6))
    for path in write_volume(volume, tmp_path / "study", STUDY):
        orthanc.upload(path)


def _one_line_error(result, *fragments: str) -> None:
    assert result.status == 2, result.out + result.err
    assert len(result.err.strip().splitlines()) == 1, result.err
    for fragment in fragments:
        assert fragment in result.err


def test_c_store_over_dicom_tls_delivers(orthanc_tls, pki, halong, tmp_path):
    facts = write_report_folder(tmp_path / "report", 1, images=3)

    result = halong("send", tmp_path / "report", "--pacs", orthanc_tls.node, *_tls(pki), "--json")

    assert result.status == 0, result.out + result.err
    assert {item["status"] for item in result.json()} == {"delivered"}
    sent = {dcmread(path, stop_before_pixels=True).SOPInstanceUID for path in facts["files"]}
    assert sorted(orthanc_tls.sop_instance_uids()) == sorted(sent)


@pytest.mark.parametrize("method", ["move", "get"])
def test_retrieve_over_dicom_tls_brings_the_study_home(
    method, orthanc_tls, pki, halong, halong_home, halong_scp_port, tmp_path
):
    _upload_study(orthanc_tls, tmp_path)
    where = ["--pacs", orthanc_tls.node, "--method", method, "--port", halong_scp_port]

    result = halong("retrieve", STUDY.study_uid, *where, *_tls(pki), "--json")

    assert result.status == 0, result.out + result.err
    assert (result.json()["received"], result.json()["imported"]) == (3, 3)
    with Database.open(halong_home / "halong.sqlite") as db:
        assert [(s.study_uid, s.instance_count) for s in db.studies()] == [(STUDY.study_uid, 3)]


def test_the_tls_pacs_answers_over_tls_only(orthanc_tls, pki, tmp_path, halong):
    _upload_study(orthanc_tls, tmp_path)
    secure = halong("query", "--pacs", orthanc_tls.node, *_tls(pki), "--json")
    assert secure.status == 0, secure.err
    assert [study["study_uid"] for study in secure.json()] == [STUDY.study_uid]

    in_clear = halong("query", "--pacs", orthanc_tls.node)

    _one_line_error(in_clear, f"the PACS {orthanc_tls.node} could not be reached")


def test_a_pacs_certificate_from_an_untrusted_ca_is_refused(orthanc_tls, pki, halong, tmp_path):
    (tmp_path / "other").mkdir()
    stranger = make_pki(tmp_path / "other")  # a CA that did not sign Orthanc's certificate
    tls = ["--tls-ca", stranger["ca"], "--tls-cert", pki["client_cert"]]
    tls += ["--tls-key", pki["client_key"]]

    query = halong("query", "--pacs", orthanc_tls.node, *tls)
    write_report_folder(tmp_path / "report", 2, images=1)
    send = halong("send", tmp_path / "report", "--pacs", orthanc_tls.node, *tls, "--json")

    _one_line_error(query, "showed a certificate that is not trusted", "--tls-ca")
    assert send.status == 1
    (item,) = send.json()
    assert item["status"] == "pending" and "not trusted" in item["last_error"]
    assert orthanc_tls.instance_count() == 0


def test_the_pacs_host_name_is_checked_against_its_certificate(orthanc_tls, pki, halong):
    """Orthanc listens on every loopback address; its certificate names 127.0.0.1 only."""
    elsewhere = orthanc_tls.node.replace("@127.0.0.1:", "@127.0.0.2:")

    result = halong("query", "--pacs", elsewhere, *_tls(pki))

    _one_line_error(result, "showed a certificate for another host", "127.0.0.2")


def test_dicomweb_over_https_works_with_the_ca_and_is_refused_without(
    orthanc, orthanc_https, pki, halong, halong_home, tmp_path
):
    _upload_study(orthanc, tmp_path)
    write_report_folder(tmp_path / "report", 3, images=2)
    ca = ["--tls-ca", pki["ca"]]

    found = halong("query", "--dicomweb", orthanc_https, *ca, "--json")
    retrieved = halong("retrieve", STUDY.study_uid, "--dicomweb", orthanc_https, *ca, "--json")
    sent = halong("send", tmp_path / "report", "--dicomweb", orthanc_https, *ca, "--json")
    untrusted = halong("query", "--dicomweb", orthanc_https)

    assert [study["study_uid"] for study in found.json()] == [STUDY.study_uid]
    assert retrieved.status == 0 and retrieved.json()["imported"] == 3
    assert sent.status == 0 and {item["status"] for item in sent.json()} == {"delivered"}
    assert orthanc.instance_count() == 3 + 2
    _one_line_error(untrusted, "showed a certificate that is not trusted", "--tls-ca")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--dicomweb", "http://127.0.0.1:1/dicom-web", "--tls-ca", "ca.pem"], "https:// URL"),
        (["--pacs", "PACS@127.0.0.1:1", "--tls-ca", "missing.pem"], "cannot load the CA file"),
        (["--pacs", "PACS@127.0.0.1:1", "--tls-key", "key.pem"], "needs its certificate"),
    ],
)
def test_tls_options_that_cannot_work_get_one_line(options, message, halong):
    _one_line_error(halong("query", *options), message)
