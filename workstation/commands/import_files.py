"""``halong import PATH...``: index DICOM files, folders and zip archives."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from workstation.cli import EXIT_INTERRUPTED
from workstation.commands.console import ProgressLine, cancel_on_interrupt
from workstation.dicom.zip_source import ZipLimits
from workstation.home import resolve_home
from workstation.model.user_text import byte_size, parse_byte_size


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
    defaults = ZipLimits()
    limits = parser.add_argument_group(
        "zip archive limits", "zip bombs are refused before anything is extracted"
    )
    limits.add_argument(
        "--zip-max-size",
        type=_size_option,
        metavar="SIZE",
        default=defaults.max_expanded_bytes,
        help="most an archive may expand to, e.g. 500M or 20G (default: "
        f"{byte_size(defaults.max_expanded_bytes)})",
    )
    limits.add_argument(
        "--zip-max-ratio",
        type=_positive(float),
        metavar="N",
        default=defaults.max_ratio,
        help="most an archive, or a member over 1 MiB, may expand in times its size "
        "(default: %(default)g)",
    )
    limits.add_argument(
        "--zip-max-members",
        type=_positive(int),
        metavar="N",
        default=defaults.max_members,
        help="most files an archive may hold (default: %(default)s)",
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
    limits = ZipLimits(args.zip_max_size, args.zip_max_ratio, args.zip_max_members)
    request = ImportRequest(paths=args.paths, store=home.store, copy=args.copy, zip_limits=limits)
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
                print(f"  {skipped.line()}")
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


def _size_option(text: str) -> int:
    try:
        size = parse_byte_size(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    if size <= 0:
        raise argparse.ArgumentTypeError("the size must be positive")
    return size


def _positive(kind: type[int] | type[float]):
    """An argparse type: a number of ``kind`` above zero."""

    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value <= 0:
            raise argparse.ArgumentTypeError("the number must be positive")
        return value

    parse.__name__ = kind.__name__
    return parse


def _count(number: int, singular: str, plural: str) -> str:
    return f"{number} {singular if number == 1 else plural}"
