"""Drawing measurements on a slice: their outlines, their value text, the one in progress.

Measurements are kept in LPS; the slice view projects the ones lying on its
current plane into plane coordinates ``(u, v)`` and hands them here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from vtkmodules.vtkCommonCore import vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData
from vtkmodules.vtkRenderingCore import vtkActor, vtkPolyDataMapper, vtkRenderer, vtkTextActor

from viewers.text_style import use_unicode_font
from workstation.model.measurements import Measurement, MeasurementKind, describe, ellipse_outline

#: Scene depth above the image, in mm (in front of overlays).
MEASUREMENT_DEPTH = 0.4
COLOUR = (1.0, 0.85, 0.1)
PREVIEW_COLOUR = (0.3, 0.9, 1.0)
PROBE_MARK_MM = 2.0


@dataclass(frozen=True)
class Drawing:
    """A measurement's polylines and text anchor in plane coordinates ``(u, v)``."""

    polylines: list[tuple[np.ndarray, bool]]
    anchor: tuple[float, float]
    text: str


def drawing(measurement: Measurement, to_uv: Callable[[np.ndarray], np.ndarray]) -> Drawing:
    """How to draw ``measurement``; ``to_uv`` projects ``(n, 3)`` LPS to ``(n, 2)``."""
    points = np.asarray(measurement.points, float)
    if measurement.kind == MeasurementKind.ELLIPSE:
        polylines = [(to_uv(ellipse_outline(points)), True)]
    elif measurement.kind == MeasurementKind.PROBE:
        u, v = to_uv(points)[0]
        d = PROBE_MARK_MM
        polylines = [
            (np.array([[u - d, v], [u + d, v]]), False),
            (np.array([[u, v - d], [u, v + d]]), False),
        ]
    else:
        polylines = [(to_uv(points), measurement.kind == MeasurementKind.FREEHAND)]
    if measurement.kind == MeasurementKind.ANGLE:
        anchor = to_uv(points)[1]  # the vertex
    else:  # right of the drawing, where it covers least of the anatomy inside
        drawn = np.vstack([line for line, _ in polylines])
        anchor = drawn[np.argmax(drawn[:, 0])]
    return Drawing(polylines, (float(anchor[0]) + 1.0, float(anchor[1])), describe(measurement))


def _polydata(polylines: Sequence[tuple[np.ndarray, bool]], depth: float) -> vtkPolyData:
    points = vtkPoints()
    cells = vtkCellArray()
    for line, closed in polylines:
        first = points.GetNumberOfPoints()
        for u, v in line:
            points.InsertNextPoint(u, v, depth)
        ids = list(range(first, first + len(line)))
        if closed and len(ids) > 2:
            ids.append(first)
        cells.InsertNextCell(len(ids), ids)
    data = vtkPolyData()
    data.SetPoints(points)
    data.SetLines(cells)
    return data


def _line_actor(colour: tuple[float, float, float]) -> tuple[vtkActor, vtkPolyDataMapper]:
    mapper = vtkPolyDataMapper()
    actor = vtkActor()
    actor.SetMapper(mapper)
    actor.GetProperty().SetColor(colour)
    actor.GetProperty().SetLineWidth(2)
    actor.GetProperty().LightingOff()
    actor.PickableOff()
    return actor, mapper


class MeasurementLayer:
    """The actors showing measurements in one renderer."""

    def __init__(self, renderer: vtkRenderer) -> None:
        self._renderer = renderer
        self._actor, self._mapper = _line_actor(COLOUR)
        self._preview_actor, self._preview_mapper = _line_actor(PREVIEW_COLOUR)
        renderer.AddActor(self._actor)
        renderer.AddActor(self._preview_actor)
        self._texts: list[vtkTextActor] = []
        self.show([])
        self.show_preview([], closed=False)

    def show(self, drawings: Sequence[Drawing]) -> None:
        self._mapper.SetInputData(
            _polydata([line for d in drawings for line in d.polylines], MEASUREMENT_DEPTH)
        )
        while len(self._texts) < len(drawings):
            text = vtkTextActor()
            use_unicode_font(text.GetTextProperty())
            text.GetTextProperty().SetColor(COLOUR)
            text.GetTextProperty().SetFontSize(12)
            text.GetTextProperty().ShadowOn()  # legible over bright anatomy
            text.GetPositionCoordinate().SetCoordinateSystemToWorld()
            self._renderer.AddViewProp(text)
            self._texts.append(text)
        for index, text in enumerate(self._texts):
            if index < len(drawings):
                d = drawings[index]
                text.SetInput(d.text)
                text.GetPositionCoordinate().SetValue(d.anchor[0], d.anchor[1], MEASUREMENT_DEPTH)
                text.VisibilityOn()
            else:
                text.VisibilityOff()

    def show_preview(self, points_uv: Sequence[Sequence[float]], closed: bool) -> None:
        """The measurement being placed (rubber band), or nothing."""
        line = np.asarray(points_uv, float).reshape(-1, 2)
        polylines = [(line, closed)] if len(line) >= 2 else []
        self._preview_mapper.SetInputData(_polydata(polylines, MEASUREMENT_DEPTH))

    def texts(self) -> list[str]:
        """Value texts currently shown (for tests and accessibility)."""
        return [t.GetInput() for t in self._texts if t.GetVisibility()]
