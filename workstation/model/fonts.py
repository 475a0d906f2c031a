"""A Unicode TrueType font that has every Vietnamese letter (DejaVu Sans).

Neither PDF's built-in fonts nor VTK's built-in Arial can draw "Nguyễn", so reports
embed DejaVu Sans and the viewers draw their text with it. It is taken from
matplotlib's data folder when matplotlib is installed (it comes with vtk, so the
app needs no root to get it), else from Debian's ``fonts-dejavu-core``. The package
is located without importing it (this module stays headless).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import cache
from pathlib import Path

_SYSTEM_FOLDERS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/TTF"))


class FontError(Exception):
    """No usable Unicode font was found."""


@dataclass(frozen=True)
class FontFiles:
    regular: Path
    bold: Path


def _candidate_folders() -> list[Path]:
    folders = []
    spec = importlib.util.find_spec("matplotlib")
    if spec is not None and spec.origin:
        folders.append(Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf")
    return [*folders, *_SYSTEM_FOLDERS]


@cache
def unicode_font() -> FontFiles:
    for folder in _candidate_folders():
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            return FontFiles(regular, bold)
    raise FontError(
        "no DejaVu Sans font found: install matplotlib (pip) or fonts-dejavu-core (apt)"
    )


#: The name the reporting package knows it by.
report_font = unicode_font
