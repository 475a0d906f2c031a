"""``halong gui`` (and a bare ``halong``): open the main window."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "gui",
        help="open the workstation window (also what a bare `halong` does)",
        description="Open the Halong main window on the local database.",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from workstation.ui.app import run_window

    return run_window(args.home)
