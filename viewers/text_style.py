"""Viewer text in a font that can draw Vietnamese, and lines shortened to fit a width.

VTK's built-in Arial has no glyph for "ễ", "ặ", "ị"... and silently skips them
("Nguyễn" is drawn "Nguyn"), so every text property of the viewers goes through
:func:`use_unicode_font` (DejaVu Sans, see :mod:`workstation.model.fonts`, drawn by
FreeType). Widths are measured with that same font, so an elided line fits where
it is drawn.
"""

from __future__ import annotations

from functools import cache

import vtkmodules.vtkRenderingFreeType  # noqa: F401  (registers the FreeType text renderer)
from vtkmodules.vtkCommonCore import VTK_FONT_FILE
from vtkmodules.vtkRenderingCore import vtkTextProperty, vtkTextRenderer

from workstation.model.fonts import unicode_font

ELLIPSIS = "…"
#: VTK render windows draw text at 72 DPI: a font size in points is a height in pixels.
DPI = 72


def use_unicode_font(prop: vtkTextProperty) -> vtkTextProperty:
    """Draw ``prop``'s text in DejaVu Sans (its bold face when ``prop`` is bold)."""
    font = unicode_font()
    prop.SetFontFamily(VTK_FONT_FILE)
    prop.SetFontFile(str(font.bold if prop.GetBold() else font.regular))
    return prop


@cache
def _measuring_property(font_size: int) -> vtkTextProperty:
    prop = use_unicode_font(vtkTextProperty())
    prop.SetFontSize(font_size)
    return prop


def text_width(line: str, font_size: int) -> int:
    """Width in pixels of one line of text in the Unicode font at ``font_size``."""
    if not line:
        return 0
    bbox = [0, 0, 0, 0]
    renderer = vtkTextRenderer.GetInstance()
    if not renderer.GetBoundingBox(_measuring_property(font_size), line, bbox, DPI):
        raise RuntimeError(f"VTK could not measure the text {line!r}")
    return bbox[1] - bbox[0] + 1


def elide(text: str, font_size: int, max_width: float) -> str:
    """``text`` with every line longer than ``max_width`` pixels cut and ended with "…".

    A line with no room even for "…" becomes empty.
    """
    return "\n".join(_elide_line(line, font_size, max_width) for line in text.split("\n"))


def _elide_line(line: str, font_size: int, max_width: float) -> str:
    if text_width(line, font_size) <= max_width:
        return line

    def cut(kept: int) -> str:
        return line[:kept].rstrip() + ELLIPSIS

    if text_width(cut(0), font_size) > max_width:
        return ""
    # the longest prefix that fits with the ellipsis (a longer prefix is never narrower)
    low, high = 0, len(line) - 1
    while low < high:
        middle = (low + high + 1) // 2
        if text_width(cut(middle), font_size) <= max_width:
            low = middle
        else:
            high = middle - 1
    return cut(low)
