"""``halong import PATH...``: index DICOM files, folders and zip archives."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from workstation.cli import EXIT_INTERRUPTED
from workstation.commands.console import ProgressLine, cancel_on_interrupt
from workstation.home import resolve_home


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "import",
        help="index DICOM files, folders (recursively) and zip archives (*.zip)",
        description=(
            "Index DICOM images into the local database. Files stay where they are "
            "unless --copy is given. Members of zip archives (files named *.zip) are "
            "always extracted into "
            "the store under the data folder, since they cannot be read in place. "
            "Importing the same files again changes nothing."
        ),
    )
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    parser.add_argument(
        "--copy", action="store_true", help="copy the files into the store under the data folder"
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print a JSON summary {imported, already_indexed, skipped: [{path, reason}]}",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Exit 0 when images were found (new or already indexed), 1 when none, 130 on Ctrl-C."""
    from workstation.dicom.database import Database
    from workstation.dicom.importer import ImportRequest, import_paths
    from workstation.model.progress import CancelToken
    from workstation.net.audit import AuditTrail, record_import

    home = resolve_home(args.home)
    request = ImportRequest(paths=args.paths, store=home.store, copy=args.copy)
    token = CancelToken()
    with (
        Database.open(home.database_path) as db,
        cancel_on_interrupt(token),
        ProgressLine() as progress,
    ):
        report = import_paths(db, request, progress=progress, cancel=token)
        totals = db.counts()
    record_import(AuditTrail.from_environment(home.audit), sources=args.paths, report=report)
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(
            f"{report.imported} new, {report.already_indexed} already indexed, "
            f"{len(report.skipped)} skipped."
        )
        if report.skipped:
            print("Skipped:")
            for skipped in report.skipped:
                print(f"  {skipped.path}: {skipped.reason}")
        held = (
            _count(totals.patients, "patient", "patients"),
            _count(totals.studies, "study", "studies"),
            _count(totals.series, "series", "series"),
            _count(totals.instances, "instance", "instances"),
        )
        print(f"The database now holds {', '.join(held)}.")
        if report.cancelled:
            print("Import cancelled; the files read before that are indexed.")
        elif not report.found_images:
            print("No usable DICOM images were found.")
    if report.cancelled:
        return EXIT_INTERRUPTED
    return 0 if report.found_images else 1


def _count(number: int, singular: str, plural: str) -> str:
    return f"{number} {singular if number == 1 else plural}"
