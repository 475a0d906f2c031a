"""``halong view INPUT``: open the window on one series; optionally save a screenshot."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

LAYOUTS = ("1x1", "1x2", "2x2")
_SIZE = re.compile(r"(\d{2,5})[xX](\d{2,5})")


class ViewError(Exception):
    """A ``halong view`` argument that cannot work; the message says why."""


def window_size(text: str) -> tuple[int, int]:
    """``1600x1000`` as (1600, 1000)."""
    match = _SIZE.fullmatch(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, e.g. 1600x1000, not {text!r}")
    width, height = int(match[1]), int(match[2])
    if not (200 <= width <= 10000 and 200 <= height <= 10000):
        raise argparse.ArgumentTypeError(f"{text}: width and height must be 200-10000 pixels")
    return width, height


def png_path(text: str) -> Path:
    path = Path(text).expanduser()
    if path.suffix.lower() != ".png":
        raise argparse.ArgumentTypeError(f"{text}: the screenshot is written as PNG; name it *.png")
    return path


def register(subparsers: argparse._SubParsersAction) -> None:
    from workstation.model.presets import WINDOW_PRESETS  # plain data, no engine

    parser = subparsers.add_parser(
        "view",
        help="open the window on a DICOM folder, a NIfTI file or a series UID",
        description=(
            "Open the Halong window on one series: a DICOM folder or file (read in place, "
            "not imported), a NIfTI file (.nii, .nii.gz), or the UID of a series in the "
            "database. With --screenshot, save the window as PNG once every view has "
            "rendered, and exit."
        ),
    )
    parser.add_argument("input", metavar="INPUT", help="DICOM folder, NIfTI file or series UID")
    parser.add_argument("--layout", choices=LAYOUTS, help="viewer layout (default: the last used)")
    parser.add_argument("--preset", choices=list(WINDOW_PRESETS), help="window/level preset")
    parser.add_argument("--screenshot", type=png_path, metavar="FILE.png", help="save and exit")
    parser.add_argument(
        "--size",
        type=window_size,
        default=(1600, 1000),
        metavar="WxH",
        help="window size in pixels (default: 1600x1000)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Exit 0 when shown or saved, 1 when the series cannot be loaded, 2 on bad input."""
    from workstation.ui.app import run_window

    if args.screenshot is not None and not args.screenshot.absolute().parent.is_dir():
        raise ViewError(
            f"the folder for the screenshot does not exist: {args.screenshot.absolute().parent}"
        )
    return run_window(
        args.home,
        open_input=args.input,
        layout=args.layout,
        preset=args.preset,
        size=args.size,
        screenshot=args.screenshot.absolute() if args.screenshot else None,
    )
