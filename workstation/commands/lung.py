"""``halong lung INPUT --out DIR``: find, measure and categorise lung nodules on a chest CT."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from workstation.commands.console import ProgressLine, cancel_on_interrupt
from workstation.home import resolve_home

#: Patient risk groups of the Fleischner 2017 guideline.
RISKS = ("low", "high")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "lung",
        help="detect, measure and categorise lung nodules (Lung-RADS, Fleischner)",
        description=(
            "Run the lung nodule engine on one chest CT series: a DICOM folder of one series "
            "or the UID of a series in the database. Writes DIR/lung.json, DIR/nodules-seg.dcm "
            "(DICOM SEG) and DIR/lung-sr.dcm (TID 1500 measurement report). Everything it "
            "writes is AI output, marked unverified, for a physician to review."
        ),
    )
    parser.add_argument(
        "input", metavar="INPUT", help="DICOM folder or NIfTI file of one CT series, or series UID"
    )
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    parser.add_argument(
        "--prior", metavar="PRIOR_INPUT", help="an earlier CT of the same patient (folder or UID)"
    )
    parser.add_argument(
        "--bundle",
        type=Path,
        metavar="BUNDLE_DIR",
        help="a MONAI bundle folder to use instead of the shipped nodule classifier",
    )
    parser.add_argument(
        "--risk",
        choices=RISKS,
        default="low",
        help="patient risk for the Fleischner 2017 recommendation (default: low)",
    )
    parser.add_argument(
        "--solid-threshold",
        type=float,
        default=-300.0,
        metavar="HU",
        help="HU above which nodule tissue counts as solid (default: -300)",
    )
    parser.add_argument("--device", metavar="DEVICE", help="cpu, cuda or cuda:N (default: auto)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """0 when the files are written; 2 with one line on stderr when the input is unusable."""
    from ai.lung.pipeline import LungInputError
    from ai.models.bundle import BundleError
    from ai.models.device import DeviceError
    from workstation.dicom.database import DatabaseError
    from workstation.dicom.series_input import SeriesInputError, load_series, resolve_input
    from workstation.lung.analysis import LungSettings, analyse
    from workstation.lung.outputs import write_lung_outputs
    from workstation.model.progress import CancelToken

    home = resolve_home(args.home)
    database = home.database_path
    token = CancelToken()
    try:
        request = resolve_input(args.input, database)
        prior = resolve_input(args.prior, database) if args.prior else None
        settings = LungSettings(
            risk=args.risk,
            solid_threshold_hu=args.solid_threshold,
            prior=prior,
            bundle_dir=args.bundle,
            device=args.device,
        )
        with cancel_on_interrupt(token), ProgressLine() as progress:
            started = time.perf_counter()
            loaded = load_series(request, database, progress, token)
            loading = time.perf_counter() - started
            result = analyse(loaded, settings, database, progress, token)
            result.timings_s = {"load": loading, **result.timings_s}
            written = write_lung_outputs(result, loaded, args.out, home.result_seal_key())
    except (LungInputError, BundleError, DeviceError, DatabaseError, SeriesInputError) as error:
        print(f"halong lung: error: {error}", file=sys.stderr)
        return 2
    _summarise(result, written)
    return 0


def _summarise(result, written: dict[str, Path]) -> None:
    print(
        f"Lung-RADS {result.lung_rads.category}: {result.lung_rads.management}"
        f" ({len(result.nodules)} nodule(s), AI-generated, unverified)"
    )
    for nodule in result.nodules:
        m = nodule.measurements
        prior = f", {nodule.prior.status}" if nodule.prior else ""
        print(
            f"  #{nodule.id}: {m.type}, {m.mean_diameter_mm:.1f} mm mean diameter, "
            f"{m.volume_mm3:.0f} mm3, {nodule.location.side} lung, "
            f"Lung-RADS {nodule.lung_rads.category if nodule.lung_rads else '-'}, "
            f"p={nodule.probability:.2f}{prior}"
        )
    if result.fleischner is not None:
        print(f"Fleischner 2017 ({result.risk} risk): {result.fleischner.recommendation}")
    for path in written.values():
        print(f"wrote {path}")
