"""``halong send PATH...``: queue reports and DICOM objects for the PACS and the EMR, then send.

Everything is first written down in the durable outbox, so a destination that is down,
a crash or Ctrl-C loses nothing: ``halong outbox --retry`` (or the running Halong)
sends what is left, and never anything twice.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from workstation.cli import EXIT_INTERRUPTED
from workstation.commands.net_options import (
    add_calling_aet,
    add_http_auth,
    add_tls,
    http_endpoint,
    tls_files,
)
from workstation.commands.outbox import deliver_now, print_items
from workstation.home import resolve_home


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "send",
        help="send a report folder (or DICOM files) to the PACS and the EMR",
        description=(
            "Queue the files under PATH in the outbox and deliver them: DICOM objects "
            "(*.dcm: report SR, encapsulated PDF, SEG, or any DICOM files) to a PACS with "
            "C-STORE (--pacs) or STOW-RS (--dicomweb); the FHIR transaction Bundle "
            "(fhir-bundle.json) to a FHIR server (--fhir); the HL7 v2 message (oru.hl7) "
            "over MLLP (--mllp). What cannot be delivered now stays queued; see "
            "'halong outbox'."
        ),
    )
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="a folder or file")
    parser.add_argument(
        "--pacs", action="append", default=[], metavar="AET@HOST:PORT", help="DICOM C-STORE"
    )
    parser.add_argument(
        "--dicomweb", action="append", default=[], metavar="URL", help="DICOMweb STOW-RS base URL"
    )
    parser.add_argument("--fhir", action="append", default=[], metavar="URL", help="FHIR base URL")
    parser.add_argument(
        "--mllp", action="append", default=[], metavar="HOST:PORT", help="HL7 v2 MLLP listener"
    )
    add_calling_aet(parser)
    add_http_auth(parser)
    add_tls(parser)
    parser.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="keep retrying what fails (with backoff) for up to this long (default: try once)",
    )
    parser.add_argument("--json", action="store_true", help="print the items as a JSON list")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Exit 0 when everything was delivered, 1 when some of it waits or was refused."""
    from workstation.net.destinations import Destination
    from workstation.net.outbox import Outbox
    from workstation.net.payloads import ACCEPTED_BY, collect_payloads

    destinations = [
        *(Destination.pacs(text, args.calling_aet, tls_files(args)) for text in args.pacs),
        *(Destination.dicomweb(http_endpoint(args, url)) for url in args.dicomweb),
        *(Destination.fhir(http_endpoint(args, url)) for url in args.fhir),
        *(Destination.mllp(text) for text in args.mllp),
    ]
    if not destinations:
        print(
            "halong send: give at least one of --pacs, --dicomweb, --fhir, --mllp", file=sys.stderr
        )
        return 2
    payloads = list(collect_payloads(args.paths, {ACCEPTED_BY[d.kind] for d in destinations}))
    plan = []
    for destination in destinations:
        wanted = [p for p in payloads if p.kind == ACCEPTED_BY[destination.kind]]
        if not wanted:
            message = f"halong send: nothing to send to {destination.label} in the paths given"
            print(message, file=sys.stderr)
            return 2
        plan.append((destination, wanted))

    home = resolve_home(args.home)
    with Outbox.open(home.outbox) as outbox:
        queued = [outbox.enqueue(destination, wanted) for destination, wanted in plan]
        ids = [item.id for items in queued for item in items]
        report = deliver_now(outbox, home, retry_now=False, wait_s=args.wait)
        items = outbox.items(ids=ids)
    print_items(items, as_json=args.json)
    waiting = [item for item in items if item.status != "delivered"]
    if not args.json:
        print(f"{len(items) - len(waiting)} of {len(items)} delivered.", end="")
        print(" The rest stays queued: see 'halong outbox'." if waiting else "")
    if report is not None and report.cancelled:
        return EXIT_INTERRUPTED
    return 1 if waiting else 0
