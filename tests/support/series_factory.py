"""Analytic test volumes and slices with known geometry, for assembly tests."""

from __future__ import annotations

import numpy as np

from workstation.model.volume import Volume


def rotation(ax: float, ay: float, az: float) -> np.ndarray:
    """A rotation matrix from three angles in degrees (x, then y, then z)."""
    ax, ay, az = np.radians([ax, ay, az])
    rx = np.array([[1, 0, 0], [0, np.cos(ax), -np.sin(ax)], [0, np.sin(ax), np.cos(ax)]])
    ry = np.array([[np.cos(ay), 0, np.sin(ay)], [0, 1, 0], [-np.sin(ay), 0, np.cos(ay)]])
    rz = np.array([[np.cos(az), -np.sin(az), 0], [np.sin(az), np.cos(az), 0], [0, 0, 1]])
    return rz @ ry @ rx


def ramp_volume(
    shape=(12, 20, 24),
    spacing=(0.7, 0.9, 2.5),
    origin=(-40.0, 25.0, 110.0),
    direction=None,
    modality="CT",
) -> Volume:
    """A volume whose every voxel value encodes its own (z, y, x) index."""
    z, y, x = np.indices(shape)
    voxels = (z * 1000 + y * 30 + x - 900).astype(np.int16)
    return Volume(
        voxels=voxels,
        spacing=spacing,
        origin=origin,
        direction=np.eye(3) if direction is None else direction,
        modality=modality,
    )


def sphere_value(points: np.ndarray, center, radius: float) -> np.ndarray:
    """HU of a 300 HU sphere in -1000 HU air at LPS ``points`` (..., 3)."""
    inside = np.linalg.norm(points - np.asarray(center), axis=-1) <= radius
    return np.where(inside, 300, -1000).astype(np.int16)
