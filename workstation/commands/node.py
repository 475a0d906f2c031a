"""``halong node``: run the triage node (receive from scanners, analyse, send to the PACS).

``halong node --aet HALONG --port 11112 --pacs AET@HOST:PORT --allow AET@HOST ...`` (or
``--config node.toml`` with the same keys) runs until Ctrl-C or SIGTERM. The node's
job commands (``halong node jobs``, ``halong node requeue SERIES_UID``) come from
:mod:`workstation.commands.node_jobs`, the administration commands (``halong node token
NAME``, ``halong node user add NAME``) from :mod:`workstation.commands.node_admin`.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from workstation.cli import EXIT_ERROR
from workstation.commands.node_admin import register_admin
from workstation.commands.node_jobs import register_jobs


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "node",
        help="run the triage node: analyse studies as they arrive and send results to the PACS",
        description=(
            "Receive studies from the scanners (a DICOM storage SCP admitting only the "
            "--allow'ed AE titles, each from its host), decide when each series is complete "
            "(no instance for --stable-seconds), route it by the rules (CT/MR perfusion to "
            "the perfusion analysis, chest CT to the lung nodule engine, the rest ignored), "
            "run the analysis in worker processes, write the result under the study's "
            "results, and send its DICOM objects to the PACS through the durable outbox. "
            "Every result is AI-generated and unverified. Runs until Ctrl-C or SIGTERM."
        ),
    )
    parser.add_argument("--config", type=Path, metavar="FILE", help="TOML file of these options")
    parser.add_argument("--aet", metavar="AET", help="the node's AE title (default: HALONG)")
    parser.add_argument("--port", type=int, metavar="PORT", help="DICOM port (default: 11112)")
    parser.add_argument("--listen", metavar="HOST", help="address to listen on (default: all)")
    parser.add_argument(
        "--http",
        metavar="HOST:PORT",
        help="the stroke team's web page, where installed (default: 127.0.0.1:8088; off: none)",
    )
    parser.add_argument(
        "--pacs", action="append", metavar="AET@HOST:PORT", help="where results go (repeatable)"
    )
    parser.add_argument(
        "--allow",
        action="append",
        metavar="AET@HOST",
        help="a scanner that may send: its AE title and host (repeatable)",
    )
    parser.add_argument(
        "--rules", type=Path, metavar="FILE", help="routing rules (JSON) replacing the default"
    )
    parser.add_argument(
        "--workers", type=int, metavar="N", help="analyses at once, each in a process (default: 1)"
    )
    parser.add_argument(
        "--ray",
        metavar="ADDRESS",
        help="run the analyses as tasks on the Ray cluster at HOST:PORT (--workers at once)",
    )
    parser.add_argument("--fhir", metavar="URL", help="the EMR's FHIR base (alerts)")
    parser.add_argument(
        "--stable-seconds",
        type=float,
        metavar="S",
        help="a series is complete after this long without a new instance (default: 5)",
    )
    parser.add_argument(
        "--language",
        choices=("vi", "en"),
        help="the words on the results (the perfusion summary image; default: vi)",
    )
    parser.set_defaults(handler=run)
    commands = parser.add_subparsers(dest="node_command", metavar="COMMAND")
    register_jobs(commands)
    register_admin(commands)


#: Options that are settings (the rest: --config, and argparse's own).
_SETTINGS = (
    "aet",
    "port",
    "listen",
    "http",
    "pacs",
    "allow",
    "rules",
    "workers",
    "ray",
    "fhir",
    "stable_seconds",
    "language",
)


def run(args: argparse.Namespace) -> int:
    """Serve until stopped: 0 then; 2 with one line when the node cannot start."""
    from workstation.home import resolve_home
    from workstation.net.errors import NetworkError
    from workstation.node.config import NodeConfigError, build_config, read_toml
    from workstation.node.executor import ExecutorError
    from workstation.node.logs import node_logging
    from workstation.node.routing import RulesError
    from workstation.node.service import NodeBusyError, NodeService

    home = resolve_home(args.home)
    try:
        values = read_toml(args.config) if args.config else {}
        given = {key: getattr(args, key) for key in _SETTINGS if getattr(args, key) is not None}
        config = build_config(values | given)
        service = NodeService(config, home)
    except (NodeConfigError, RulesError, ExecutorError) as error:
        print(f"halong node: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    stop = threading.Event()
    previous = {
        number: signal.signal(number, lambda *_: stop.set())
        for number in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        with node_logging(home.logs):
            service.run(stop)
    except (NetworkError, NodeBusyError) as error:
        print(f"halong node: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    return 0
