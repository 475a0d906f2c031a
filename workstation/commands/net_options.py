"""Command-line options shared by the commands that talk to a PACS or an EMR."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workstation.net.destinations import HttpEndpoint


def add_calling_aet(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--calling-aet",
        default="HALONG",
        metavar="AET",
        help="Halong's own AE title, as the PACS knows it (default: HALONG)",
    )


def add_http_auth(parser: argparse.ArgumentParser) -> None:
    """Bearer token and mutual TLS for the HTTP destinations (DICOMweb, FHIR)."""
    group = parser.add_argument_group("HTTP authentication (DICOMweb, FHIR)")
    group.add_argument(
        "--token-file",
        type=Path,
        metavar="FILE",
        help="file holding a bearer token; read at each use, never stored or logged",
    )
    group.add_argument(
        "--client-cert", type=Path, metavar="PEM", help="client certificate for mutual TLS"
    )
    group.add_argument(
        "--client-key", type=Path, metavar="PEM", help="its private key (if not in --client-cert)"
    )
    group.add_argument(
        "--ca-file", type=Path, metavar="PEM", help="CA certificates to trust for the server"
    )


def http_endpoint(args: argparse.Namespace, url: str) -> HttpEndpoint:
    """The endpoint at ``url`` with the authentication options given."""
    from workstation.net.destinations import HttpEndpoint

    return HttpEndpoint(url, args.token_file, args.client_cert, args.client_key, args.ca_file)
