"""``halong outbox``: what was sent, what waits, and why; ``--retry`` sends what waits."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from workstation.cli import EXIT_INTERRUPTED
from workstation.commands.console import ProgressLine, cancel_on_interrupt, format_table
from workstation.home import HalongHome, resolve_home

if TYPE_CHECKING:
    from workstation.net.delivery import DeliveryReport
    from workstation.net.outbox import Outbox, OutboxItem

#: How long to wait for another Halong process that is delivering the same outbox.
LOCK_TIMEOUT_S = 10.0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "outbox",
        help="list what was sent and what waits to be sent; --retry sends it now",
        description=(
            "List the items of the outbox (reports and DICOM objects queued for the PACS "
            "and the EMR) with their status: pending, sending, delivered or rejected. "
            "Pending items are retried automatically with backoff while Halong runs; "
            "--retry sends them now, and gives rejected items another try."
        ),
    )
    parser.add_argument(
        "--retry", action="store_true", help="deliver pending and rejected items now"
    )
    parser.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="with --retry: keep retrying (with backoff) for up to this long",
    )
    parser.add_argument(
        "--status",
        choices=("pending", "sending", "delivered", "rejected"),
        help="only items with this status",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON list of items")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Exit 0, or with --retry 1 when items remain undelivered (130 on Ctrl-C)."""
    from workstation.net.outbox import Outbox

    home = resolve_home(args.home)
    with Outbox.open(home.outbox) as outbox:
        report = deliver_now(outbox, home, retry_now=True, wait_s=args.wait) if args.retry else None
        items = outbox.items(status=args.status)
        print_items(items, as_json=args.json)
        if report is None:
            return 0
        undelivered = outbox.counts()["pending"] + outbox.counts()["rejected"]
    if report.cancelled:
        return EXIT_INTERRUPTED
    return 1 if undelivered else 0


def deliver_now(
    outbox: Outbox, home: HalongHome, *, retry_now: bool, wait_s: float
) -> DeliveryReport | None:
    """Deliver with a progress line and Ctrl-C as cancel; None when another process delivers."""
    from workstation.model.progress import CancelToken
    from workstation.net.audit import AuditTrail
    from workstation.net.delivery import deliver
    from workstation.net.outbox import OutboxBusy

    token = CancelToken()
    trail = AuditTrail.from_environment(home.audit)
    try:
        with cancel_on_interrupt(token), ProgressLine() as progress:
            return deliver(
                outbox,
                retry_now=retry_now,
                wait_s=wait_s,
                lock_timeout_s=LOCK_TIMEOUT_S,
                trail=trail,
                progress=progress,
                cancel=token,
            )
    except OutboxBusy as busy:
        print(f"halong: {busy}", file=sys.stderr)
        return None


def print_items(items: Sequence[OutboxItem], *, as_json: bool) -> None:
    if as_json:
        print(json.dumps([item.to_json() for item in items], indent=2))
        return
    if not items:
        print("The outbox is empty.")
        return
    headers = ("ID", "Status", "Tries", "Destination", "Kind", "File", "Key", "Last error")
    rows = [
        (
            item.id,
            item.status,
            item.attempts,
            item.destination.label,
            item.kind,
            item.label,
            item.key,
            "" if item.status == "delivered" else item.last_error or "",
        )
        for item in items
    ]
    print(format_table(headers, rows))
