"""Command-line options shared by the commands that talk to a PACS or an EMR."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workstation.net.destinations import HttpEndpoint, TlsFiles


def add_calling_aet(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--calling-aet",
        default="HALONG",
        metavar="AET",
        help="Halong's own AE title, as the PACS knows it (default: HALONG)",
    )


def add_http_auth(parser: argparse.ArgumentParser) -> None:
    """Bearer token for the HTTP destinations (DICOMweb, FHIR)."""
    group = parser.add_argument_group("HTTP authentication (DICOMweb, FHIR)")
    group.add_argument(
        "--token-file",
        type=Path,
        metavar="FILE",
        help="file holding a bearer token; read at each use, never stored or logged",
    )


def add_tls(parser: argparse.ArgumentParser) -> None:
    """TLS for every destination of the command: DICOM TLS when any file is given to
    a --pacs, HTTPS for https:// URLs. The old --ca-file/--client-* names still work."""
    group = parser.add_argument_group(
        "TLS (DICOM and HTTPS)",
        "Any of these turns DICOM TLS on for --pacs, and needs https:// URLs; the peer's "
        "certificate, and a server's name or address, are always checked.",
    )
    group.add_argument(
        "--tls-ca",
        "--ca-file",
        dest="tls_ca",
        type=Path,
        metavar="FILE",
        help="PEM CA certificates to trust for the peer (default: the system's)",
    )
    group.add_argument(
        "--tls-cert",
        "--client-cert",
        dest="tls_cert",
        type=Path,
        metavar="FILE",
        help="Halong's PEM certificate (TLS client, and the C-MOVE receiver's server)",
    )
    group.add_argument(
        "--tls-key",
        "--client-key",
        dest="tls_key",
        type=Path,
        metavar="FILE",
        help="its private key (if not in --tls-cert)",
    )


def tls_files(args: argparse.Namespace) -> TlsFiles:
    from workstation.net.destinations import TlsFiles

    return TlsFiles(args.tls_ca, args.tls_cert, args.tls_key)


def http_endpoint(args: argparse.Namespace, url: str) -> HttpEndpoint:
    """The endpoint at ``url`` with the authentication and TLS options given."""
    from workstation.net.destinations import HttpEndpoint

    return HttpEndpoint(url, args.token_file, tls_files(args))
