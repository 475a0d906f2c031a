"""``halong demo``: write the synthetic demo studies, index them, open the app on them."""

from __future__ import annotations

import argparse
from pathlib import Path

from workstation.commands.console import ProgressLine, cancel_on_interrupt
from workstation.home import resolve_home


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="generate the demo chest CT and CT perfusion studies and open the app on them",
        description=(
            "Write two synthetic studies with known ground truth as DICOM (a chest CT with "
            "lung nodules; a CT perfusion stroke study with a left-hemisphere infarct), "
            "index them in the local database and open the main window on the chest CT. "
            "The ground truth is written beside each series as <series>.truth.json."
        ),
    )
    parser.add_argument(
        "--out", type=Path, metavar="DIR", help="where to write them (default: <data folder>/demo)"
    )
    parser.add_argument("--no-gui", action="store_true", help="only write and index the studies")
    parser.add_argument("--seed", type=int, default=0, help="phantom random seed (default 0)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from workstation.demo import write_demo_studies
    from workstation.dicom.database import Database
    from workstation.dicom.importer import ImportRequest, import_paths
    from workstation.model.progress import CancelToken

    home = resolve_home(args.home)
    out = args.out or home.demo
    token = CancelToken()
    with cancel_on_interrupt(token), ProgressLine() as progress:
        studies = write_demo_studies(out, seed=args.seed, progress=progress, cancel=token)
        with Database.open(home.database_path) as db:
            request = ImportRequest(paths=studies.folders, store=home.store, copy=False)
            report = import_paths(db, request, progress=progress, cancel=token)
    print(f"Demo studies in {studies.root}:")
    for folder in studies.folders:
        print(f"  {folder}  (ground truth: {folder.name}.truth.json)")
    print(f"Indexed: {report.imported} new, {report.already_indexed} already indexed.")
    if report.skipped:
        for skipped in report.skipped:
            print(f"  skipped {skipped.line()}")
        return 2
    if args.no_gui:
        return 0
    from workstation.ui.app import run_window

    return run_window(args.home, open_input=str(studies.chest_series))
