"""Support for the viewer tests: synthetic volumes, pixel helpers, widget clean-up.

The phantom is described in *world* (LPS) millimetres and painted onto whatever
voxel grid a test chooses, so the same anatomy stored left-to-right or
right-to-left must look the same on screen.
"""

from __future__ import annotations

import numpy as np

from workstation.model.volume import Volume

SHAPE_ZYX = (40, 64, 64)
SPACING = (0.8, 0.8, 2.5)  # anisotropic: thick slices
AIR, BODY, LOW, MARKER = -1000, 60, -700, 1000

#: World boxes ``((x0, x1), (y0, y1), (z0, z1)) -> HU``, painted in order.
BODY_BOX = ((-19, 19), (-19, 19), (-40, 40))
LOW_BOX = ((-15, -3), (-10, 10), (-40, 40))  # low-density region on the patient's right
LEFT_MARKER_BOX = ((12, 17), (-3, 3), (-8, 8))  # patient's left (+x)
ANTERIOR_MARKER_BOX = ((-3, 3), (-17, -12), (20, 30))  # anterior (-y) and superior (+z)


def world_grid(volume: Volume) -> np.ndarray:
    """``[z, y, x, 3]`` LPS centre of every voxel."""
    nz, ny, nx = volume.shape_zyx
    k, j, i = np.meshgrid(np.arange(nz), np.arange(ny), np.arange(nx), indexing="ij")
    return volume.index_to_world(np.stack([i, j, k], axis=-1))


def paint(volume: Volume, box, value: float) -> None:
    """Set every voxel whose centre lies in the world ``box`` to ``value``."""
    xyz = world_grid(volume)
    inside = np.ones(volume.shape_zyx, bool)
    for axis, (low, high) in enumerate(box):
        inside &= (xyz[..., axis] >= low) & (xyz[..., axis] <= high)
    volume.voxels[inside] = value


def centred_volume(direction: np.ndarray, shape=SHAPE_ZYX, spacing=SPACING) -> Volume:
    """An air-filled CT volume whose grid is centred on LPS (0, 0, 0)."""
    half_extent = np.asarray(spacing) * (np.array(shape[::-1]) - 1) / 2
    origin = -np.asarray(direction, float) @ half_extent
    voxels = np.full(shape, AIR, np.int16)
    return Volume(voxels, spacing=spacing, origin=tuple(origin), direction=direction, modality="CT")


def chest_phantom(direction: np.ndarray | None = None) -> Volume:
    """Body, low-density region and two markers; stored right-to-left unless told."""
    volume = centred_volume(np.diag([-1.0, 1.0, 1.0]) if direction is None else direction)
    paint(volume, BODY_BOX, BODY)
    paint(volume, LOW_BOX, LOW)
    paint(volume, LEFT_MARKER_BOX, MARKER)
    paint(volume, ANTERIOR_MARKER_BOX, MARKER)
    return volume


def region_mean(image: np.ndarray, x: float, y: float, half: int = 3) -> np.ndarray:
    """Mean RGB of a small square of pixels around display position ``(x, y)``."""
    row, col = round(y), round(x)
    patch = image[row - half : row + half + 1, col - half : col + half + 1]
    return patch.reshape(-1, 3).mean(axis=0)
