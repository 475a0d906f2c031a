"""``halong``: the command line. Thin: parses arguments and calls the engine.

Each subcommand lives in its own module under :mod:`workstation.commands`, listed in
:data:`COMMAND_MODULES`; adding one is adding a module and a line here. Nothing heavy
(pydicom, numpy, torch, Qt, VTK) is imported until a subcommand runs.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

#: Modules exposing ``register(subparsers)``, in the order ``--help`` lists them.
COMMAND_MODULES = (
    "workstation.commands.gui",
    "workstation.commands.view",
    "workstation.commands.import_files",
    "workstation.commands.browse",
    "workstation.commands.demo",
    "workstation.commands.send",
    "workstation.commands.outbox",
    "workstation.commands.pacs",
    "workstation.commands.report",
    "workstation.commands.verify",
    "workstation.commands.audit",
    "workstation.commands.perfusion",
    "workstation.commands.lung",
    "workstation.commands.node",
)
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="halong",
        description="Halong radiology workstation. Without a command, opens the window.",
    )
    parser.add_argument(
        "--home",
        type=Path,
        metavar="DIR",
        help="data folder with the database and the store "
        "(default: $HALONG_HOME, else the user data folder)",
    )
    parser.add_argument(
        "--debug", action="store_true", help="show library warnings and full error tracebacks"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    parser.set_defaults(handler=_open_window)
    return parser


def _open_window(args: argparse.Namespace) -> int:
    """A bare ``halong``: the same as ``halong gui``."""
    from workstation.commands.gui import run

    return run(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; return its exit status (2 for any unexpected error)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_request:  # --help, or a usage error already printed
        return exit_request.code if isinstance(exit_request.code, int) else EXIT_ERROR
    try:
        _make_data_private(args.home)
        with warnings.catch_warnings():
            if not args.debug:  # pydicom warns about every odd header value
                warnings.filterwarnings("ignore", module=r"pydicom(\.|$)")
            return args.handler(args)
    except KeyboardInterrupt:
        print("halong: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_ERROR
    except Exception as error:
        if args.debug:
            raise
        print(f"halong: error: {_describe(error)}", file=sys.stderr)
        return EXIT_ERROR


def _make_data_private(home: Path | None) -> None:
    """Every file from here on is its owner's only; a data folder others read is told."""
    from workstation.home import open_private_home

    _, warning = open_private_home(home)
    if warning:
        print(f"halong: warning: {warning}", file=sys.stderr)


def _describe(error: Exception) -> str:
    """Errors written for users (DatabaseError, OSError) as is; others marked unexpected."""
    if isinstance(error, OSError) and error.filename:
        return f"{error.strerror or error}: {error.filename}"
    if type(error).__module__.startswith("workstation"):
        return str(error)
    return f"unexpected {type(error).__name__}: {error} (run with --debug for details)"


if __name__ == "__main__":
    sys.exit(main())
