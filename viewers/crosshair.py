"""The crosshair: lines through a world point along the other planes' intersections.

Drawn with a gap around the point itself so the anatomy under it stays visible.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from vtkmodules.util.numpy_support import numpy_to_vtk
from vtkmodules.vtkCommonCore import vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData
from vtkmodules.vtkRenderingCore import vtkActor, vtkPolyDataMapper

#: Scene depth above the image, in mm.
CROSSHAIR_DEPTH = 0.3
COLOURS = ((0.2, 0.6, 1.0), (1.0, 0.35, 0.35), (0.3, 0.9, 0.3))


class Crosshair:
    """Line segments in plane coordinates, one colour per direction."""

    def __init__(self) -> None:
        self._data = vtkPolyData()
        mapper = vtkPolyDataMapper()
        mapper.SetInputData(self._data)
        self.actor = vtkActor()
        self.actor.SetMapper(mapper)
        self.actor.GetProperty().SetLineWidth(1.5)
        self.actor.GetProperty().LightingOff()
        self.actor.PickableOff()
        self.actor.VisibilityOff()

    def show(
        self,
        centre_uv: Sequence[float],
        directions_uv: Sequence[Sequence[float]],
        half_length: float,
        gap: float,
    ) -> None:
        """Lines through ``centre_uv`` along each direction, leaving ``gap`` mm clear."""
        points = vtkPoints()
        lines = vtkCellArray()
        colours = []
        c = np.asarray(centre_uv, float)
        for index, direction in enumerate(directions_uv):
            d = np.asarray(direction, float)
            if np.linalg.norm(d) < 1e-9:
                continue
            d = d / np.linalg.norm(d)
            for sign in (-1.0, 1.0):
                first = points.GetNumberOfPoints()
                for distance in (gap, half_length):
                    u, v = c + sign * distance * d
                    points.InsertNextPoint(u, v, CROSSHAIR_DEPTH)
                lines.InsertNextCell(2, [first, first + 1])
                colours.append(COLOURS[index % len(COLOURS)])
        self._data.SetPoints(points)
        self._data.SetLines(lines)
        rgb = np.round(np.asarray(colours).reshape(-1, 3) * 255).astype(np.uint8)
        rgb = numpy_to_vtk(rgb, deep=True)
        rgb.SetName("colours")
        self._data.GetCellData().SetScalars(rgb)
        self._data.Modified()
        self.actor.VisibilityOn()

    def hide(self) -> None:
        self.actor.VisibilityOff()
