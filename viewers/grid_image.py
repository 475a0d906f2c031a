"""A Volume as a vtkImageData in *grid* space, plus the matrices to and from LPS.

The grid image has origin 0 and identity direction (so point ``q = spacing * ijk``);
the volume's origin and direction live in a 4x4 matrix that the viewers apply
themselves (reslice axes, a prop's user matrix). vtkImageReslice and the software
volume mappers ignore an image's direction matrix, so carrying it ourselves is what
keeps flipped or oblique acquisitions the right way round.
"""

from __future__ import annotations

import numpy as np
from vtkmodules.util import numpy_support
from vtkmodules.vtkCommonDataModel import vtkImageData

from workstation.model.conversions import to_vtk
from workstation.model.volume import Volume


def grid_image(volume: Volume, frame: int = 0) -> vtkImageData:
    """The voxels of one frame on the grid, uploaded once and shared by every view."""
    image = to_vtk(volume, frame)
    image.SetOrigin(0.0, 0.0, 0.0)
    image.SetDirectionMatrix(1, 0, 0, 0, 1, 0, 0, 0, 1)
    return image


def load_frame(image: vtkImageData, volume: Volume, frame: int) -> None:
    """Copy another frame of a 4D volume into ``image`` in place (cine without re-creating)."""
    target = numpy_support.vtk_to_numpy(image.GetPointData().GetScalars())
    target[:] = np.ascontiguousarray(volume.voxels[frame]).ravel()
    image.Modified()


def grid_to_world(volume: Volume) -> np.ndarray:
    """4x4 matrix from grid points ``spacing * ijk`` to LPS."""
    matrix = np.eye(4)
    matrix[:3, :3] = volume.direction
    matrix[:3, 3] = volume.origin
    return matrix


def world_to_grid(volume: Volume) -> np.ndarray:
    return np.linalg.inv(grid_to_world(volume))


def world_corners(volume: Volume) -> np.ndarray:
    """``(8, 3)`` LPS corners of the volume's outer voxel faces."""
    nz, ny, nx = volume.shape_zyx
    corners = np.array([[i, j, k] for i in (0, nx) for j in (0, ny) for k in (0, nz)], float) - 0.5
    return volume.index_to_world(corners)


def world_centre(volume: Volume) -> np.ndarray:
    nz, ny, nx = volume.shape_zyx
    return volume.index_to_world(np.array([nx - 1, ny - 1, nz - 1], float) / 2)
