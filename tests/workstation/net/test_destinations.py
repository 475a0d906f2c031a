"""Destinations as users type them."""

from __future__ import annotations

from pathlib import Path

import pytest

from workstation.net.destinations import (
    Destination,
    DestinationError,
    DicomNode,
    HostPort,
    HttpEndpoint,
    TlsFiles,
)


def test_dicom_nodes_parse_and_print_back():
    assert DicomNode.parse("ORTHANC@10.0.0.5:4242") == DicomNode("ORTHANC", "10.0.0.5", 4242)
    assert str(DicomNode.parse(" PACS@[fe80::1]:104 ")) == "PACS@[fe80::1]:104"
    assert HostPort.parse("emr.hospital.vn:2575") == HostPort("emr.hospital.vn", 2575)


@pytest.mark.parametrize(
    "text",
    [
        "ORTHANC10.0.0.5:4242",
        "@host:104",
        "A_VERY_LONG_AE_TITLE@host:104",
        "PACS@host",
        "PACS@host:0",
    ],
)
def test_bad_dicom_nodes_are_refused_with_the_expected_form(text):
    with pytest.raises(DestinationError):
        DicomNode.parse(text)


def test_http_destinations_keep_credential_paths_never_secrets(tmp_path):
    token = tmp_path / "token"
    token.write_text("s3cret")
    destination = Destination.fhir(HttpEndpoint("https://emr.vn/fhir/", token_file=token))
    assert destination.address == "https://emr.vn/fhir"
    assert destination.options == {"token_file": str(token)}
    assert destination.http().token_file == Path(token)
    with pytest.raises(DestinationError):
        Destination.dicomweb(HttpEndpoint("ftp://pacs/dicom-web"))


def test_tls_files_travel_with_a_pacs_destination_through_the_outbox_options(tmp_path):
    files = TlsFiles(tmp_path / "ca.pem", tmp_path / "halong.pem", tmp_path / "halong.key")
    destination = Destination.pacs("ORTHANC@10.0.0.5:2762", "HALONG", files)
    assert destination.options == {
        "calling_aet": "HALONG",
        "ca_file": str(tmp_path / "ca.pem"),
        "client_cert": str(tmp_path / "halong.pem"),
        "client_key": str(tmp_path / "halong.key"),
    }
    stored = Destination("dimse", destination.address, dict(destination.options))
    assert stored.node() == DicomNode("ORTHANC", "10.0.0.5", 2762, files)
    assert stored.node().tls.enabled and not Destination.pacs("P@h:104").node().tls.enabled


def test_tls_files_never_go_with_a_plain_http_url(tmp_path):
    with pytest.raises(DestinationError, match="https://"):
        HttpEndpoint("http://pacs/dicom-web", tls=TlsFiles(ca_file=tmp_path / "ca.pem"))
    with pytest.raises(DestinationError, match="--tls-cert"):
        TlsFiles(key_file=tmp_path / "halong.key")
