"""Resampling a volume onto a slice plane with vtkImageReslice.

The output image lives in the plane frame ``(u, v)`` of :mod:`viewers.plane`, so a
slice view's scene never changes coordinates when the user scrolls: only the
reslice axes' translation along the normal does, and only this view re-slices.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from vtkmodules.util import numpy_support
from vtkmodules.vtkCommonDataModel import vtkImageData
from vtkmodules.vtkCommonMath import vtkMatrix4x4
from vtkmodules.vtkImagingCore import vtkImageReslice

from viewers.grid_image import world_corners, world_to_grid
from viewers.plane import PlaneAxes
from workstation.model.volume import Volume

SLAB_MODES = ("none", "mip", "minip", "mean")


@dataclass(frozen=True)
class SliceGrid:
    """Where a plane's pixels lie: the reslice axes and the output image geometry."""

    #: Maps plane coordinates ``(u, v, w)`` to grid coordinates of the input image.
    axes_matrix: np.ndarray
    origin: tuple[float, float, float]
    spacing: tuple[float, float, float]
    extent: tuple[int, int, int, int, int, int]

    @property
    def bounds_uv(self) -> tuple[float, float, float, float]:
        """``(u_min, u_max, v_min, v_max)`` of the pixel centres."""
        return (
            self.origin[0],
            self.origin[0] + self.extent[1] * self.spacing[0],
            self.origin[1],
            self.origin[1] + self.extent[3] * self.spacing[1],
        )


def slice_grid(
    volume: Volume, centre: np.ndarray, axes: PlaneAxes, offset_mm: float, step_mm: float
) -> SliceGrid:
    """The plane through ``centre + offset_mm * normal`` covering the whole volume.

    Pixels are square at the finest voxel spacing, so anisotropic data keep their
    true proportions.
    """
    pixel = min(volume.spacing)
    rel = world_corners(volume) - centre
    u, v = rel @ axes.right, rel @ axes.up
    u_min, v_min = np.floor(u.min() / pixel) * pixel, np.floor(v.min() / pixel) * pixel
    nu = int(np.ceil((u.max() - u_min) / pixel)) + 1
    nv = int(np.ceil((v.max() - v_min) / pixel)) + 1
    to_grid = world_to_grid(volume)
    plane_to_world = np.eye(4)
    plane_to_world[:3, :3] = axes.matrix
    plane_to_world[:3, 3] = centre + offset_mm * axes.normal
    return SliceGrid(
        axes_matrix=to_grid @ plane_to_world,
        origin=(float(u_min), float(v_min), 0.0),
        spacing=(pixel, pixel, step_mm),
        extent=(0, nu - 1, 0, nv - 1, 0, 0),
    )


class PlaneReslicer:
    """One vtkImageReslice kept on a view's plane (image, labels or a parametric map)."""

    def __init__(self, interpolation: str = "linear", background: float = 0.0) -> None:
        self.reslice = vtkImageReslice()
        self._matrix = vtkMatrix4x4()
        self.reslice.SetResliceAxes(self._matrix)
        if interpolation == "nearest":
            self.reslice.SetInterpolationModeToNearestNeighbor()
        else:
            self.reslice.SetInterpolationModeToLinear()
        self.reslice.SetBackgroundLevel(background)

    def set_input(self, image: vtkImageData) -> None:
        self.reslice.SetInputData(image)

    def set_background(self, value: float) -> None:
        self.reslice.SetBackgroundLevel(value)

    def set_grid(self, grid: SliceGrid) -> None:
        self._matrix.DeepCopy(grid.axes_matrix.ravel())
        self.reslice.SetOutputOrigin(grid.origin)
        self.reslice.SetOutputSpacing(grid.spacing)
        self.reslice.SetOutputExtent(grid.extent)
        self.reslice.Modified()

    def set_slab(self, mode: str, slices: int) -> None:
        """Combine ``slices`` planes one output z-spacing apart (thick-slab MIP/MinIP/mean)."""
        if mode not in SLAB_MODES:
            raise ValueError(f"unknown slab mode {mode!r}; use one of {SLAB_MODES}")
        if mode == "mip":
            self.reslice.SetSlabModeToMax()
        elif mode == "minip":
            self.reslice.SetSlabModeToMin()
        else:
            self.reslice.SetSlabModeToMean()
        self.reslice.SetSlabNumberOfSlices(1 if mode == "none" else max(1, slices))

    def output_port(self):
        return self.reslice.GetOutputPort()

    def output_array(self) -> np.ndarray:
        """The current slice as numpy ``[v, u]`` (updates the pipeline)."""
        self.reslice.Update()
        output = self.reslice.GetOutput()
        nu, nv, _ = output.GetDimensions()
        return numpy_support.vtk_to_numpy(output.GetPointData().GetScalars()).reshape(nv, nu)
