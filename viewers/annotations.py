"""Text and rulers drawn over a slice: orientation letters, corner text, scale bar.

They live in display coordinates (pixels), so they keep their size whatever the
zoom; the slice view refreshes them before every render from its camera.
"""

from __future__ import annotations

import math

from vtkmodules.vtkCommonCore import vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData
from vtkmodules.vtkRenderingAnnotation import vtkCornerAnnotation
from vtkmodules.vtkRenderingCore import (
    vtkActor2D,
    vtkPolyDataMapper2D,
    vtkRenderer,
    vtkTextActor,
)

#: vtkCornerAnnotation slots.
CORNERS = {"lower_left": 0, "lower_right": 1, "upper_left": 2, "upper_right": 3}
EDGES = {"bottom": 4, "right": 5, "left": 6, "top": 7}

TEXT_COLOUR = (0.95, 0.85, 0.3)


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
        self.corner.SetMaximumFontSize(15)
        self.corner.SetMinimumFontSize(9)
        self.corner.SetLinearFontScaleFactor(2)
        self.corner.SetNonlinearFontScaleFactor(1)
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
        self.scale_text.GetTextProperty().SetColor(TEXT_COLOUR)
        self.scale_text.GetTextProperty().SetFontSize(11)
        self.scale_text.GetTextProperty().SetJustificationToCentered()
        self.scale_text.GetTextProperty().ShadowOn()
        self.scale_length_mm = 0.0

    def add_to(self, renderer: vtkRenderer) -> None:
        for actor in (self.corner, self.scale_bar, self.scale_text):
            renderer.AddViewProp(actor)

    def set_visible(self, visible: bool) -> None:
        for actor in (self.corner, self.scale_bar, self.scale_text):
            actor.SetVisibility(visible)

    def set_edges(self, labels: dict[str, str]) -> None:
        for edge, slot in EDGES.items():
            self.corner.SetText(slot, labels.get(edge, ""))

    def set_corner(self, corner: str, text: str) -> None:
        self.corner.SetText(CORNERS[corner], text)

    def text(self, slot: str) -> str:
        """Text at a corner (``"upper_left"``...) or an edge (``"left"``...)."""
        return self.corner.GetText(CORNERS.get(slot, EDGES.get(slot, -1))) or ""

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
