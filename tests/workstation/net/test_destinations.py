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
