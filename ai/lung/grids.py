"""Coarse working grids: block averages down, nearest-neighbour labels back up.

Whole-chest steps (lung mask, registration) do not need 0.6 mm voxels; running them
on ~2 mm blocks makes a 512 x 512 x 300 scan cheap on two CPU cores, while nodule
measurements stay on the native grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workstation.model.volume import Volume


@dataclass(frozen=True)
class CoarseGrid:
    """Integer block factors (z, y, x) from a native grid to a coarse one."""

    factors: tuple[int, int, int]
    native_shape: tuple[int, int, int]
    native_spacing: tuple[float, float, float]  # (sx, sy, sz) mm

    @classmethod
    def for_step(
        cls, shape: tuple[int, int, int], spacing: tuple[float, float, float], step_mm: float
    ) -> CoarseGrid:
        """Blocks about ``step_mm`` wide along each axis (never below one voxel)."""
        sx, sy, sz = spacing
        factors = tuple(max(1, round(step_mm / s)) for s in (sz, sy, sx))
        return cls(factors, tuple(int(n) for n in shape), tuple(float(s) for s in spacing))  # type: ignore[arg-type]

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(max(1, n // f) for n, f in zip(self.native_shape, self.factors, strict=True))  # type: ignore[return-value]

    @property
    def spacing(self) -> tuple[float, float, float]:
        """(sx, sy, sz) of the coarse voxels."""
        fz, fy, fx = self.factors
        sx, sy, sz = self.native_spacing
        return (sx * fx, sy * fy, sz * fz)

    @property
    def spacing_zyx(self) -> tuple[float, float, float]:
        sx, sy, sz = self.spacing
        return (sz, sy, sx)

    def downsample(self, voxels: np.ndarray) -> np.ndarray:
        """Block means (float32); trailing voxels that fill no whole block are dropped."""
        nz, ny, nx = self.shape
        out = voxels[: nz * self.factors[0], : ny * self.factors[1], : nx * self.factors[2]]
        # strided sums, one axis at a time (the first one converts only 1/f of the data):
        # far quicker than a float copy of everything and a 6-D mean
        for axis in (2, 1, 0):
            factor = self.factors[axis]
            if factor > 1:
                index: list[slice] = [slice(None)] * 3
                index[axis] = slice(0, None, factor)
                total = out[tuple(index)].astype(np.float32)
                for offset in range(1, factor):
                    index[axis] = slice(offset, None, factor)
                    total += out[tuple(index)]
                out = total
        out = out.astype(np.float32, copy=False)
        count = int(np.prod(self.factors))
        if count > 1:
            return out / np.float32(count)
        return out.copy() if np.shares_memory(out, voxels) else out

    def upsample(self, coarse: np.ndarray) -> np.ndarray:
        """A coarse map back on the native grid (nearest block)."""
        index = [
            np.minimum(np.arange(n) // f, c - 1)
            for n, f, c in zip(self.native_shape, self.factors, coarse.shape, strict=True)
        ]
        return coarse[np.ix_(*index)]

    def to_native_index(self, zyx: np.ndarray) -> np.ndarray:
        """Native continuous (z, y, x) indices of coarse voxel centres."""
        f = np.asarray(self.factors, dtype=float)
        return np.asarray(zyx, dtype=float) * f + (f - 1.0) / 2.0


def box_around(
    volume: Volume,
    center_zyx: tuple[float, float, float],
    half_mm: float,
    min_voxels: float = 2.0,
) -> tuple[slice, slice, slice]:
    """Index ranges of the box ``half_mm`` around a point, clipped to the scan."""
    steps = (volume.spacing[2], volume.spacing[1], volume.spacing[0])
    return tuple(
        slice(max(0, int(np.floor(c - h))), min(n, int(np.ceil(c + h)) + 1))
        for c, h, n in zip(
            center_zyx,
            [max(half_mm / s, min_voxels) for s in steps],
            volume.shape_zyx,
            strict=True,
        )
    )  # type: ignore[return-value]
