"""``halong query`` and ``halong retrieve``: find studies on a PACS and bring one home.

Either over DIMSE (``--pacs AET@HOST:PORT``: C-FIND, then C-MOVE to Halong's own
storage SCP or C-GET) or over DICOMweb (``--dicomweb URL``: QIDO-RS, then WADO-RS),
with TLS when asked. Retrieved files are copied into the store and indexed like any
import. The C-MOVE receiver listens on one address (``--listen``) and admits only the
PACS; what it refuses is in the audit trail.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from typing import TYPE_CHECKING

from workstation.cli import EXIT_INTERRUPTED
from workstation.commands.console import (
    ProgressLine,
    cancel_on_interrupt,
    format_table,
)
from workstation.commands.net_options import (
    add_calling_aet,
    add_http_auth,
    add_tls,
    http_endpoint,
    tls_files,
)
from workstation.home import resolve_home
from workstation.model.dates import dicom_date

if TYPE_CHECKING:
    from workstation.net.audit import AuditTrail
    from workstation.net.retrieve import StudySource


def _add_source(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--pacs", metavar="AET@HOST:PORT", help="a DICOM node (C-FIND, C-MOVE)")
    source.add_argument("--dicomweb", metavar="URL", help="a DICOMweb base URL (QIDO-RS, WADO-RS)")
    add_calling_aet(parser)
    add_http_auth(parser)
    add_tls(parser)


def register(subparsers: argparse._SubParsersAction) -> None:
    query = subparsers.add_parser(
        "query",
        help="list the studies a PACS holds (C-FIND or QIDO-RS)",
        description="Search a PACS for studies; empty filters match everything.",
    )
    _add_source(query)
    query.add_argument("--patient-id", default="", metavar="ID")
    query.add_argument("--patient-name", default="", metavar="NAME", help="wildcards * and ? work")
    query.add_argument("--study-date", default="", metavar="DATE", help="YYYYMMDD or a range A-B")
    query.add_argument("--accession", default="", metavar="NUMBER")
    query.add_argument("--modality", default="", metavar="MODALITY", help="e.g. CT or MR")
    query.add_argument("--json", action="store_true", help="print a JSON list")
    query.set_defaults(handler=run_query)

    retrieve = subparsers.add_parser(
        "retrieve",
        help="copy a study from a PACS into the local database (C-MOVE, C-GET or WADO-RS)",
        description=(
            "Retrieve one study into the local database. With --pacs, C-MOVE (the default) "
            "needs the PACS to know Halong as a DICOM modality: --calling-aet at the "
            "--listen address and --port; only that PACS, calling from its own address, may "
            "store there, and only the study asked for. --method get needs no such setup."
        ),
    )
    retrieve.add_argument("study_uid", metavar="STUDY_UID")
    _add_source(retrieve)
    retrieve.add_argument(
        "--method", choices=("move", "get"), default="move", help="DIMSE retrieval (default: move)"
    )
    retrieve.add_argument(
        "--port",
        type=int,
        default=11112,
        help="port of Halong's storage SCP for C-MOVE (default: 11112)",
    )
    retrieve.add_argument(
        "--listen",
        metavar="HOST",
        help="address the C-MOVE storage SCP binds to "
        "(default: the local address of the interface that reaches the PACS)",
    )
    retrieve.add_argument("--json", action="store_true", help="print a JSON summary")
    retrieve.set_defaults(handler=run_retrieve)


def _source(args: argparse.Namespace, trail: AuditTrail) -> tuple[StudySource, str]:
    """The source the options name, and how to call it in messages."""
    if args.pacs:
        from workstation.net.destinations import DicomNode
        from workstation.net.dimse import DimseSource

        node = DicomNode.parse(args.pacs, tls_files(args))
        listen = (getattr(args, "listen", None), getattr(args, "port", 0))
        method = getattr(args, "method", "move")
        source = DimseSource(node, args.calling_aet, method=method, listen=listen, audit=trail)
        return source, str(node)
    from workstation.net.destinations import parse_http_url
    from workstation.net.dicomweb import DicomWebSource

    url = parse_http_url(args.dicomweb)
    return DicomWebSource(http_endpoint(args, url)), url


def run_query(args: argparse.Namespace) -> int:
    """Exit 0 when studies matched, 1 when none did."""
    from workstation.net.audit import AuditTrail, record_query
    from workstation.net.retrieve import StudyQuery, query_studies

    query = StudyQuery(
        patient_id=args.patient_id,
        patient_name=args.patient_name,
        study_date=args.study_date,
        accession_number=args.accession,
        modality=args.modality,
    )
    trail = AuditTrail.from_environment(resolve_home(args.home).audit)
    source, name = _source(args, trail)
    studies = query_studies(source, query)
    record_query(trail, source=name, query=json.dumps(query.matching_keys(), sort_keys=True))
    if args.json:
        print(json.dumps([asdict(study) for study in studies], indent=2))
    elif not studies:
        print("No matching studies.")
    else:
        headers = ("Patient", "ID", "Date", "Accession", "Description", "Modalities", "Images")
        headers += ("Study UID",)
        rows = [
            (
                s.patient_name,
                s.patient_id,
                dicom_date(s.study_date),
                s.accession_number,
                s.study_description,
                ",".join(s.modalities),
                s.instance_count,
                s.study_uid,
            )
            for s in studies
        ]
        print(format_table(headers, rows))
    return 0 if studies else 1


def run_retrieve(args: argparse.Namespace) -> int:
    """Exit 0 when images were indexed (new or known), 1 when none, 130 on Ctrl-C."""
    from workstation.dicom.database import Database
    from workstation.model.progress import Cancelled, CancelToken
    from workstation.net.audit import AuditTrail, record_transfer
    from workstation.net.retrieve import retrieve_study

    home = resolve_home(args.home)
    trail = AuditTrail.from_environment(home.audit)
    source, name = _source(args, trail)
    token = CancelToken()
    try:
        with (
            Database.open(home.database_path) as db,
            cancel_on_interrupt(token),
            ProgressLine() as progress,
        ):
            report = retrieve_study(
                db, home.store, source, args.study_uid, progress=progress, cancel=token
            )
    except Cancelled:
        print("Retrieve cancelled; nothing was indexed.")
        return EXIT_INTERRUPTED
    record_transfer(
        trail,
        source=name,
        destination=args.calling_aet,
        patient_ids=[],
        study_uids=[args.study_uid],
        sop_instance_count=report.received,
    )
    imported = report.imported
    if args.json:
        summary = {"study_uid": args.study_uid, "received": report.received}
        print(json.dumps(summary | imported.to_json(), indent=2))
    else:
        print(
            f"{report.received} files received: {imported.imported} new, "
            f"{imported.already_indexed} already indexed, {len(imported.skipped)} skipped."
        )
        for skipped in imported.skipped:
            print(f"  {skipped.line()}")
    if imported.cancelled:
        return EXIT_INTERRUPTED
    return 0 if imported.found_images else 1
