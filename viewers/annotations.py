"""Text and rulers drawn over a slice: orientation letters, corner text, scale bar.

They live in display coordinates (pixels), so they keep their size whatever the
zoom; the slice view refreshes them before every render from its camera and size.
The upper-left text (patient, series) gives way to the others: its long lines are
elided so the orientation letter and the view label beside it stay readable.
"""

from __future__ import annotations

import math
import unicodedata

from vtkmodules.vtkCommonCore import vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData
from vtkmodules.vtkRenderingAnnotation import vtkCornerAnnotation
from vtkmodules.vtkRenderingCore import (
    vtkActor2D,
    vtkPolyDataMapper2D,
    vtkRenderer,
    vtkTextActor,
)

from viewers.text_style import elide, text_width, use_unicode_font

#: vtkCornerAnnotation slots.
CORNERS = {"lower_left": 0, "lower_right": 1, "upper_left": 2, "upper_right": 3}
EDGES = {"bottom": 4, "right": 5, "left": 6, "top": 7}
SLOTS = {**CORNERS, **EDGES}

TEXT_COLOUR = (0.95, 0.85, 0.3)
MIN_FONT_SIZE, MAX_FONT_SIZE = 9, 15
#: vtkCornerAnnotation draws its texts this far from the viewport's border.
MARGIN_PX = 5
#: Clear space between the elided title and the texts beside it.
GAP_PX = 8


def corner_font_size(width: int, height: int) -> int:
    """Corner text size for a view of this many pixels: smaller in small views."""
    return min(MAX_FONT_SIZE, max(MIN_FONT_SIZE, min(width, height) // 20))


def scale_bar_length_mm(mm_per_pixel: float, max_pixels: float) -> float:
    """The longest 1-2-5 x 10^k mm length that fits in ``max_pixels``."""
    limit = mm_per_pixel * max_pixels
    if limit <= 0:
        return 0.0
    best = 0.0
    for exponent in range(math.floor(math.log10(limit)) - 1, math.floor(math.log10(limit)) + 1):
        for mantissa in (1.0, 2.0, 5.0):
            length = mantissa * 10.0**exponent
            if length <= limit:
                best = max(best, length)
    return best


class SliceAnnotations:
    """The 2D annotation actors of one slice view."""

    def __init__(self) -> None:
        self.corner = vtkCornerAnnotation()
        self.corner.SetMaximumFontSize(MAX_FONT_SIZE)
        self.corner.SetMinimumFontSize(MIN_FONT_SIZE)
        # VTK sizes the text as linear * (size fitted to the texts) ** nonlinear; exponent 0
        # leaves just the linear factor, set by layout(), so the title is elided for that size
        self.corner.SetNonlinearFontScaleFactor(0)
        self.corner.SetLinearFontScaleFactor(MAX_FONT_SIZE)
        use_unicode_font(self.corner.GetTextProperty())
        self.corner.GetTextProperty().SetColor(TEXT_COLOUR)
        self.corner.GetTextProperty().ShadowOn()  # legible over bright anatomy
        self._bar_points = vtkPoints()
        self._bar_points.SetNumberOfPoints(2)
        lines = vtkCellArray()
        lines.InsertNextCell(2, [0, 1])
        bar = vtkPolyData()
        bar.SetPoints(self._bar_points)
        bar.SetLines(lines)
        mapper = vtkPolyDataMapper2D()
        mapper.SetInputData(bar)
        self.scale_bar = vtkActor2D()
        self.scale_bar.SetMapper(mapper)
        self.scale_bar.GetProperty().SetColor(TEXT_COLOUR)
        self.scale_bar.GetProperty().SetLineWidth(2)
        self.scale_text = vtkTextActor()
        use_unicode_font(self.scale_text.GetTextProperty())
        self.scale_text.GetTextProperty().SetColor(TEXT_COLOUR)
        self.scale_text.GetTextProperty().SetFontSize(11)
        self.scale_text.GetTextProperty().SetJustificationToCentered()
        self.scale_text.GetTextProperty().ShadowOn()
        self.scale_length_mm = 0.0
        self._texts: dict[str, str] = {}

    def add_to(self, renderer: vtkRenderer) -> None:
        for actor in (self.corner, self.scale_bar, self.scale_text):
            renderer.AddViewProp(actor)

    def set_visible(self, visible: bool) -> None:
        for actor in (self.corner, self.scale_bar, self.scale_text):
            actor.SetVisibility(visible)

    def set_edges(self, labels: dict[str, str]) -> None:
        for edge in EDGES:
            self._texts[edge] = labels.get(edge, "")

    def set_corner(self, corner: str, text: str) -> None:
        """Text for a corner, drawn from the next :meth:`layout`."""
        if corner not in CORNERS:
            raise KeyError(corner)
        # composed letters: the font has "ễ" as one glyph, VTK does not stack combining marks
        self._texts[corner] = unicodedata.normalize("NFC", text)

    def text(self, slot: str) -> str:
        """Text given for a corner (``"upper_left"``...) or an edge (``"left"``...)."""
        return self._texts.get(slot, "")

    def shown_text(self, slot: str) -> str:
        """Text as drawn at the last layout (the upper-left one may be elided)."""
        return self.corner.GetText(SLOTS[slot]) or ""

    def layout(self, width: int, height: int) -> None:
        """Size the texts for a ``width`` x ``height`` pixel view and elide the title to fit."""
        size = corner_font_size(width, height)
        self.corner.SetLinearFontScaleFactor(size)
        room = self._title_room(size, width)
        for slot, index in SLOTS.items():
            text = self.text(slot)
            self.corner.SetText(index, elide(text, size, room) if slot == "upper_left" else text)

    def _title_room(self, size: int, width: int) -> float:
        """Pixels left for the upper-left lines before the top letter and the upper-right text."""
        top_letter = text_width(self.text("top"), size)
        upper_right = max(text_width(line, size) for line in self.text("upper_right").split("\n"))
        right_end = min((width - top_letter) / 2, width - MARGIN_PX - upper_right)
        return right_end - GAP_PX - MARGIN_PX

    def update_scale_bar(self, mm_per_pixel: float, width: int, height: int) -> None:
        """A bar of a round length in mm, centred near the bottom edge."""
        length_mm = scale_bar_length_mm(mm_per_pixel, width / 4) if mm_per_pixel > 0 else 0.0
        self.scale_length_mm = length_mm
        shown = length_mm > 0 and bool(self.corner.GetVisibility())
        self.scale_bar.SetVisibility(shown)
        self.scale_text.SetVisibility(shown)
        if not shown:
            return
        pixels = length_mm / mm_per_pixel
        y = max(24.0, 0.06 * height)
        self._bar_points.SetPoint(0, width / 2 - pixels / 2, y, 0)
        self._bar_points.SetPoint(1, width / 2 + pixels / 2, y, 0)
        self._bar_points.Modified()
        self.scale_text.SetInput(f"{length_mm:g} mm")
        self.scale_text.SetPosition(width / 2, y + 4)
