"""Fixtures of the network tests live in net_fixtures.py, shared with the send command's tests."""

from support.net_fixtures import (
    fhir_server,
    halong_scp_port,
    mllp_listener,
    orthanc,
    orthanc_https,
    orthanc_tls,
    pki,
)

__all__ = [
    "fhir_server",
    "halong_scp_port",
    "mllp_listener",
    "orthanc",
    "orthanc_https",
    "orthanc_tls",
    "pki",
]
