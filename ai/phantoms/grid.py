"""The axial voxel grid every phantom is drawn on.

Phantoms are defined analytically in patient LPS millimetres and sampled on an
axial grid with identity direction: x runs to the patient's Left, y to
Posterior, z to Superior. The grid is centred on LPS (0, 0, 0), so the patient
midline is x = 0 and the patient's left is at high x index. Working in world
millimetres keeps anatomy and nodule sizes independent of the voxel spacing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workstation.model.volume import Volume

#: Index slices ``(z, y, x)`` of a sub-box of the grid.
Box = tuple[slice, slice, slice]


@dataclass(frozen=True)
class AxialGrid:
    """Voxel centres of an axial, LPS-aligned grid centred on the world origin."""

    shape: tuple[int, int, int]  # (z, y, x)
    spacing: tuple[float, float, float]  # (sx, sy, sz) mm

    def __post_init__(self) -> None:
        if len(self.shape) != 3 or min(self.shape) < 1:
            raise ValueError(f"a grid needs three positive sizes (z, y, x), got {self.shape}")
        if len(self.spacing) != 3 or min(self.spacing) <= 0:
            raise ValueError(f"spacing must be three positive mm values, got {self.spacing}")
        object.__setattr__(self, "shape", tuple(int(n) for n in self.shape))
        object.__setattr__(self, "spacing", tuple(float(s) for s in self.spacing))

    @property
    def size_xyz(self) -> np.ndarray:
        """Number of voxels along x, y, z."""
        return np.array(self.shape[::-1])

    @property
    def origin(self) -> np.ndarray:
        """LPS position of the centre of voxel [0, 0, 0]."""
        return -(self.size_xyz - 1) / 2.0 * np.asarray(self.spacing)

    @property
    def extent_mm(self) -> np.ndarray:
        """Field of view along x, y, z (outer voxel edges)."""
        return self.size_xyz * np.asarray(self.spacing)

    @property
    def voxel_volume_mm3(self) -> float:
        return float(np.prod(self.spacing))

    def axis_mm(self, axis: int) -> np.ndarray:
        """Voxel-centre coordinates along axis 0 = x, 1 = y, 2 = z."""
        return self.origin[axis] + self.spacing[axis] * np.arange(self.size_xyz[axis])

    def world_to_index(self, lps: np.ndarray) -> np.ndarray:
        """Continuous (i, j, k) = (x, y, z) indices of ``(..., 3)`` LPS points."""
        return (np.asarray(lps, dtype=float) - self.origin) / np.asarray(self.spacing)

    def index_to_world(self, ijk: np.ndarray) -> np.ndarray:
        """LPS positions of ``(..., 3)`` indices ordered (x, y, z)."""
        return self.origin + np.asarray(ijk, dtype=float) * np.asarray(self.spacing)

    def snap(self, lps: np.ndarray) -> np.ndarray:
        """The voxel centre nearest to an LPS point (clamped into the grid)."""
        ijk = np.clip(np.rint(self.world_to_index(lps)), 0, self.size_xyz - 1)
        return self.index_to_world(ijk)

    def box(self, lo_mm: np.ndarray, hi_mm: np.ndarray) -> Box | None:
        """Index slices of the voxels whose centres lie in an LPS box; None if empty."""
        lo = np.ceil(self.world_to_index(lo_mm) - 1e-9).astype(int)
        hi = np.floor(self.world_to_index(hi_mm) + 1e-9).astype(int) + 1
        lo = np.clip(lo, 0, self.size_xyz)
        hi = np.clip(hi, 0, self.size_xyz)
        if np.any(hi <= lo):
            return None
        return slice(lo[2], hi[2]), slice(lo[1], hi[1]), slice(lo[0], hi[0])

    def box_coords(self, box: Box) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Broadcastable LPS coordinates ``(x, y, z)`` of the voxels of a box, float32."""
        zs, ys, xs = box
        x = self.axis_mm(0)[xs].astype(np.float32)[None, None, :]
        y = self.axis_mm(1)[ys].astype(np.float32)[None, :, None]
        z = self.axis_mm(2)[zs].astype(np.float32)[:, None, None]
        return x, y, z

    def slice_coords(self) -> tuple[np.ndarray, np.ndarray]:
        """Broadcastable in-plane LPS coordinates ``(x[1, nx], y[ny, 1])``, float32."""
        x = self.axis_mm(0).astype(np.float32)[None, :]
        y = self.axis_mm(1).astype(np.float32)[:, None]
        return x, y

    def volume(self, voxels: np.ndarray, modality: str, **kwargs: object) -> Volume:
        """A Volume of these voxels with this grid's geometry."""
        return Volume(
            voxels=voxels,
            spacing=self.spacing,
            origin=tuple(self.origin),
            direction=np.eye(3),
            modality=modality,
            **kwargs,  # type: ignore[arg-type]
        )
