"""What the report panel's send settings become: the same destinations ``halong send``
makes from its options, TLS included."""

from __future__ import annotations

import pytest

from workstation.net.destinations import DestinationError
from workstation.reporting.sending import parse_destinations


def test_tls_files_go_to_the_pacs_and_the_https_endpoints_only(tmp_path):
    ca = tmp_path / "ca.pem"
    addresses = {
        "pacs": "ORTHANC@127.0.0.1:4242",
        "dicomweb": "https://pacs.example/dicom-web",
        "fhir": "http://emr.example/fhir",
        "tls_ca": str(ca),
    }
    pacs, dicomweb, fhir = parse_destinations(addresses, "HALONG")
    assert pacs.kind == "dimse" and pacs.options["calling_aet"] == "HALONG"
    assert str(ca) in pacs.options.values() and str(ca) in dicomweb.options.values()
    assert str(ca) not in fhir.options.values()  # plain http: no TLS files, never in clear


def test_without_tls_files_nothing_is_turned_on():
    (pacs,) = parse_destinations({"pacs": "ORTHANC@127.0.0.1:4242"})
    assert set(pacs.options) == {"calling_aet"}


def test_a_key_without_its_certificate_is_refused(tmp_path):
    with pytest.raises(DestinationError, match="TLS: a TLS key needs its certificate"):
        parse_destinations({"pacs": "A@h:1", "tls_key": str(tmp_path / "key.pem")})
