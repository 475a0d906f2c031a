"""``halong studies`` and ``halong series``: what the database holds."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from workstation.commands.console import format_table
from workstation.home import resolve_home
from workstation.model.dates import dicom_date


def register(subparsers: argparse._SubParsersAction) -> None:
    studies = subparsers.add_parser(
        "studies", help="list the indexed studies, newest first", description="List studies."
    )
    studies.add_argument("--json", action="store_true", help="print a JSON list")
    studies.set_defaults(handler=run_studies)

    series = subparsers.add_parser(
        "series",
        help="list the indexed series (of one study or of all)",
        description="List series with their instance counts and image geometry.",
    )
    series.add_argument("study_uid", nargs="?", metavar="STUDY_UID", help="only this study")
    series.add_argument("--json", action="store_true", help="print a JSON list")
    series.set_defaults(handler=run_series)


def run_studies(args: argparse.Namespace) -> int:
    from workstation.dicom.database import Database

    with Database.open(resolve_home(args.home).database_path) as db:
        records = db.studies()
    if args.json:
        print(json.dumps([asdict(record) for record in records], indent=2))
    elif not records:
        print("No studies indexed yet; add some with: halong import PATH")
    else:
        headers = ("Patient", "ID", "Born", "Sex", "Date", "Accession", "Description")
        headers += ("Modalities", "Series", "Images", "Study UID")
        rows = [
            (
                r.patient_name,
                r.patient_id,
                dicom_date(r.patient_birth_date),
                r.patient_sex,
                dicom_date(r.study_date),
                r.accession_number,
                r.study_description,
                ",".join(r.modalities),
                r.series_count,
                r.instance_count,
                r.study_uid,
            )
            for r in records
        ]
        print(format_table(headers, rows))
    return 0


def run_series(args: argparse.Namespace) -> int:
    """Exit 1 when a study was named but has no indexed series."""
    from workstation.dicom.database import Database

    with Database.open(resolve_home(args.home).database_path) as db:
        records = db.series(args.study_uid)
    if args.json:
        print(json.dumps([asdict(record) for record in records], indent=2))
    elif not records:
        print(f"No series indexed for study {args.study_uid}." if args.study_uid else "No series.")
    else:
        headers = ("#", "Modality", "Description", "Body part", "Images", "Size", "Spacing")
        headers += ("Thickness", "Series UID", "Study UID")
        rows = [
            (
                r.series_number,
                r.modality,
                r.series_description,
                r.body_part,
                r.instance_count,
                f"{r.columns}x{r.rows}",
                "x".join(f"{v:g}" for v in r.pixel_spacing or ()),
                "" if r.slice_thickness is None else f"{r.slice_thickness:g}",
                r.series_uid,
                r.study_uid,
            )
            for r in records
        ]
        print(format_table(headers, rows))
    return 1 if args.study_uid and not records else 0
