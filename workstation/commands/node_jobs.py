"""``halong node jobs`` and ``halong node requeue``: the node's job table, and running a
series' analysis again on purpose.

A series is analysed once however often the scanner sends it; ``requeue`` is the one
way to force a new analysis (into a new result folder, sent to the PACS as new
objects), e.g. after the engines were updated. The running node picks it up.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime

from workstation.cli import EXIT_ERROR
from workstation.home import resolve_home

PROG = "halong node"
STATUSES = ("queued", "running", "done", "failed")


def register_jobs(subparsers: argparse._SubParsersAction) -> None:
    """Add ``jobs`` and ``requeue`` to the ``halong node`` subcommands."""
    listing = subparsers.add_parser(
        "jobs", help="the node's analyses: queued, running, done and failed, with times"
    )
    listing.add_argument("--status", choices=STATUSES, help="only the jobs in this state")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=run_jobs)
    again = subparsers.add_parser(
        "requeue",
        help="analyse a series again (forced: a series is otherwise analysed once)",
        description="Queue the series' analysis again, into a new result folder; the "
        "running node starts it when a worker is free. Refused while it is queued or "
        "running.",
    )
    again.add_argument("series_uid", metavar="SERIES_UID")
    again.set_defaults(handler=run_requeue)


def _clock(timestamp: float | None) -> str:
    """The hospital's clock time (as reports and the node's page show it); "" when unset."""
    from workstation.model.report import local_time

    if timestamp is None:
        return ""
    return f"{local_time(datetime.fromtimestamp(timestamp, UTC)):%Y-%m-%d %H:%M:%S}"


def run_jobs(args: argparse.Namespace) -> int:
    from workstation.commands.console import format_table
    from workstation.model.user_text import printable
    from workstation.node.jobs import JobTable

    database = resolve_home(args.home).node_database
    if not database.exists():
        found = []
    else:
        with JobTable.open(database) as table:
            found = table.jobs(args.status)
    if args.json:
        print(json.dumps([job.to_json() for job in found], indent=2))
        return 0
    if not found:
        print("no jobs")
        return 0
    rows = [
        [
            job.id,
            job.status,
            job.workflow,
            printable(job.patient_id),
            _clock(job.last_instance_at),
            _clock(job.finished_at),
            job.runs,
            printable(job.reason or job.stage or ""),
        ]
        for job in found
    ]
    headers = ["ID", "STATUS", "WORKFLOW", "PATIENT", "LAST IMAGE", "ENDED", "RUNS", "WHY/STAGE"]
    print(format_table(headers, rows))
    return 0


def run_requeue(args: argparse.Namespace) -> int:
    from workstation.node.jobs import JobError, requeue

    database = resolve_home(args.home).node_database
    try:
        job = requeue(database, args.series_uid)
    except JobError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    print(f"job {job.id} ({job.workflow}) queued again for series {job.series_uid}")
    return 0
