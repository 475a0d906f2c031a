"""Overlays resliced on a slice view's plane: label masks and parametric maps.

Labels (segmentations, infarct core/penumbra) are resampled nearest-neighbour so
label values never blend, then coloured in numpy (optionally as outlines).
Parametric maps (CBF, Tmax, probabilities) are resampled linearly and coloured by a
lookup table whose legend is a vtkScalarBarActor.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
from vtkmodules.util import numpy_support
from vtkmodules.vtkCommonDataModel import vtkImageData
from vtkmodules.vtkImagingCore import vtkImageMapToColors
from vtkmodules.vtkRenderingAnnotation import vtkScalarBarActor
from vtkmodules.vtkRenderingCore import vtkImageActor

from viewers.colormaps import lookup_table
from viewers.reslice import PlaneReslicer, SliceGrid
from viewers.text_style import use_unicode_font

Colour = tuple[float, float, float]

#: Scene depth of each layer above the image (towards the camera), in mm.
LABEL_DEPTH = 0.2
PARAMETRIC_DEPTH = 0.1


def _unit_colour(colour: Colour) -> np.ndarray:
    """Colours may be given 0..1 or 0..255."""
    rgb = np.asarray(colour, float)
    return rgb / 255.0 if rgb.max() > 1.0 else rgb


def outline_mask(labels: np.ndarray) -> np.ndarray:
    """Labelled pixels with a 4-neighbour of another value (the region's border)."""
    padded = np.pad(labels, 1, mode="edge")
    centre = padded[1:-1, 1:-1]
    border = (
        (centre != padded[:-2, 1:-1])
        | (centre != padded[2:, 1:-1])
        | (centre != padded[1:-1, :-2])
        | (centre != padded[1:-1, 2:])
    )
    return border & (labels != 0)


class LabelOverlay:
    """A label volume drawn in colour on the plane."""

    def __init__(self) -> None:
        self.reslicer = PlaneReslicer(interpolation="nearest", background=0)
        self._rgba = vtkImageData()
        self.actor = vtkImageActor()
        self.actor.GetMapper().SetInputData(self._rgba)
        self.actor.SetPosition(0.0, 0.0, LABEL_DEPTH)
        self.actor.InterpolateOff()
        self.actor.VisibilityOff()
        self._table = np.zeros((1, 4), np.uint8)
        self._outline = False

    @property
    def active(self) -> bool:
        return bool(self.actor.GetVisibility())

    def set_labels(
        self,
        image: vtkImageData,
        colours: Mapping[int, Colour],
        opacity: float,
        visible_labels: Iterable[int] | None,
        outline: bool,
    ) -> None:
        shown = set(colours) if visible_labels is None else set(visible_labels)
        top = max([0, *colours])
        if top > 65535:
            raise ValueError("label values above 65535 are not supported")
        table = np.zeros((top + 1, 4), np.uint8)
        for label, colour in colours.items():
            if label != 0 and label in shown:
                table[label, :3] = np.round(_unit_colour(colour) * 255)
                table[label, 3] = round(255 * opacity)
        self._table = table
        self._outline = outline
        self.reslicer.set_input(image)
        self.actor.VisibilityOn()

    def clear(self) -> None:
        self.actor.VisibilityOff()

    def update(self, grid: SliceGrid) -> None:
        """Re-slice and re-colour for the current plane."""
        if not self.active:
            return
        self.reslicer.set_grid(grid)
        labels = self.reslicer.output_array().astype(np.int64)
        labels[(labels < 0) | (labels >= len(self._table))] = 0
        if self._outline:
            labels = np.where(outline_mask(labels), labels, 0)
        rgba = self._table[labels]
        nv, nu = labels.shape
        self._rgba.SetDimensions(nu, nv, 1)
        self._rgba.SetOrigin(grid.origin)
        self._rgba.SetSpacing(grid.spacing)
        scalars = numpy_support.numpy_to_vtk(rgba.reshape(-1, 4), deep=True)
        self._rgba.GetPointData().SetScalars(scalars)
        self._rgba.Modified()


class ParametricOverlay:
    """A float map drawn through a colour lookup table, with a legend."""

    def __init__(self) -> None:
        self.reslicer = PlaneReslicer(interpolation="linear", background=float("nan"))
        self._colours = vtkImageMapToColors()
        self._colours.SetOutputFormatToRGBA()
        self._colours.SetInputConnection(self.reslicer.output_port())
        self.actor = vtkImageActor()
        self.actor.GetMapper().SetInputConnection(self._colours.GetOutputPort())
        self.actor.SetPosition(0.0, 0.0, PARAMETRIC_DEPTH)
        self.actor.VisibilityOff()
        self.legend = vtkScalarBarActor()
        self.legend.SetNumberOfLabels(5)
        # both legend texts are bold by default: they get the bold face
        use_unicode_font(self.legend.GetTitleTextProperty())
        use_unicode_font(self.legend.GetLabelTextProperty())
        self.legend.SetMaximumWidthInPixels(70)
        self.legend.SetMaximumHeightInPixels(260)
        # right side, between the edge's orientation letter and the W/L corner text
        self.legend.SetPosition(0.86, 0.1)
        self.legend.SetWidth(0.12)
        self.legend.SetHeight(0.34)
        self.legend.VisibilityOff()

    @property
    def active(self) -> bool:
        return bool(self.actor.GetVisibility())

    def set_values(
        self,
        image: vtkImageData,
        colour_map: str,
        value_range: tuple[float, float],
        threshold: float | None,
        title: str,
        opacity: float,
    ) -> None:
        table = lookup_table(colour_map, value_range, threshold, opacity)
        self._colours.SetLookupTable(table)
        self.legend.SetLookupTable(table)
        self.legend.SetTitle(title)
        self.reslicer.set_input(image)
        self.actor.VisibilityOn()
        self.legend.VisibilityOn()

    def clear(self) -> None:
        self.actor.VisibilityOff()
        self.legend.VisibilityOff()

    def update(self, grid: SliceGrid) -> None:
        if self.active:
            self.reslicer.set_grid(grid)
