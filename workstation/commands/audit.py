"""``halong audit verify`` and ``halong audit list``: check and read the audit trail."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys

from workstation.commands.console import format_table
from workstation.home import resolve_home


def since_date(text: str) -> dt.date:
    """``2025-05-01`` (or ``20250501``) as a date."""
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, not {text!r}") from None


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "audit",
        help="check the audit trail's hash chain, or list who did what and when",
        description=(
            "The audit trail (audit/ under the data folder) records who opened, imported, "
            "queried, retrieved, signed, sent and exported what. Each record is sealed "
            "with its SHA-256 and names the record before it."
        ),
    )
    actions = parser.add_subparsers(dest="audit_action", metavar="ACTION", required=True)
    verify = actions.add_parser(
        "verify",
        help="check every record's seal and link; exit 1 naming the first broken one",
        description=(
            "Check the chain from its first record to its head. Prints 'ok: N records' and "
            "exits 0, or names the first broken record (file, line, and whether it was "
            "changed, deleted, inserted or is out of order) and exits 1."
        ),
    )
    verify.set_defaults(handler=run_verify)
    listing = actions.add_parser(
        "list",
        help="show the records: time, event, action, user, patient, study, outcome",
        description="Show the audit records, oldest first.",
    )
    listing.add_argument("--json", action="store_true", help="print a JSON list")
    listing.add_argument(
        "--since", type=since_date, metavar="DATE", help="only records from this day on"
    )
    listing.add_argument("--patient", metavar="ID", help="only records about this patient ID")
    listing.set_defaults(handler=run_list)


def run_verify(args: argparse.Namespace) -> int:
    """Exit 0 when the chain is whole, 1 when a record is broken."""
    from workstation.net.audit_verify import verify

    verdict = verify(resolve_home(args.home).audit)
    if verdict.broken is not None:
        print(f"broken: {verdict.broken}")
        print(f"Intact before it: {_records(verdict.records)}.")
        return 1
    print(f"ok: {_records(verdict.records)}")
    if verdict.records:
        print(f"newest record's SHA-256: {verdict.last_seal.hex()}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    """Exit 0 (also when nothing matches)."""
    from workstation.net.audit_entries import OUTCOMES, read_entries

    found = read_entries(resolve_home(args.home).audit, since=args.since, patient_id=args.patient)
    if found.unreadable:
        print(
            f"halong: {found.unreadable} line(s) of the audit trail are not readable audit "
            "messages; `halong audit verify` says where",
            file=sys.stderr,
        )
    if args.json:
        print(json.dumps([entry.to_json() for entry in found.entries], indent=2))
    elif not found.entries:
        print("No audit records.")
    else:
        headers = ("Time", "Event", "Action", "User", "Patient", "Study", "Outcome")
        rows = [
            (
                entry.time.strftime("%Y-%m-%d %H:%M:%S%z"),
                entry.event_label,
                entry.action,
                entry.user,
                ", ".join(entry.patients),
                ", ".join(entry.studies),
                OUTCOMES.get(entry.outcome, str(entry.outcome)),
            )
            for entry in found.entries
        ]
        print(format_table(headers, rows))
    return 0


def _records(count: int) -> str:
    return f"{count} record{'' if count == 1 else 's'}"
