"""Soft-edged rendering of solids, so voxel sums match analytic volumes.

A voxel's occupancy is a linear ramp of the signed distance of its centre to
the surface, one voxel footprint wide along the surface normal (the ramp width
is the standard deviation of the voxel box projected on the normal, times
sqrt(12)). On a curved surface that ramp alone overestimates the volume by
mean curvature x ramp variance per unit area, so the ramp is shifted inwards
by exactly that amount. The result: summed occupancy equals the analytic
volume to well under 1 % for spheres a few voxels across, at any spacing.

Solids are rendered in their own bounding box only, never as full-volume
distance maps, which keeps 512 x 512 x 300 grids cheap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ai.phantoms.grid import AxialGrid, Box

_TINY = np.float32(1e-12)


def edge_fraction(sdf: np.ndarray, width: np.ndarray | float) -> np.ndarray:
    """Occupancy in [0, 1] of voxels whose centres lie ``sdf`` mm from a surface."""
    return np.clip(np.float32(0.5) - sdf / width, 0.0, 1.0).astype(np.float32, copy=False)


def paint(dst: np.ndarray, fraction: np.ndarray, value: float) -> None:
    """Mix ``value`` into ``dst`` in place by occupancy (later solids cover earlier ones)."""
    dst += fraction * (np.float32(value) - dst)


def _ramp_width(
    nx: np.ndarray, ny: np.ndarray, nz: np.ndarray, spacing: tuple[float, float, float]
) -> np.ndarray:
    """Voxel footprint along the unit normal (n): sqrt(sum (n_i s_i)^2).

    Where the normal is undefined (a voxel centre on a tube axis or at a
    solid's centre, deep inside anyway) the smallest spacing stands in.
    """
    sx, sy, sz = (np.float32(s) for s in spacing)
    width = np.sqrt((nx * sx) ** 2 + (ny * sy) ** 2 + (nz * sz) ** 2)
    return np.maximum(width, min(sx, sy, sz))


def _curvature_shift(mean_curvature: np.ndarray, width: np.ndarray, sdf: np.ndarray) -> np.ndarray:
    """Inward shift that cancels the ramp's excess volume on a curved surface."""
    shift = mean_curvature * width * width / np.float32(12.0)
    return np.where(np.abs(sdf) < width, shift, np.float32(0.0))


class Solid(Protocol):
    """Anything with an LPS bounding box and an occupancy on a box of voxels."""

    def bounds(self) -> tuple[np.ndarray, np.ndarray]: ...

    def fraction(
        self,
        x: np.ndarray,
        y: np.ndarray,
        z: np.ndarray,
        spacing: tuple[float, float, float],
    ) -> np.ndarray: ...


@dataclass(frozen=True)
class Ellipsoid:
    """An ellipsoid with semi-axes along the columns of ``rotation`` (LPS)."""

    center: np.ndarray
    semi_axes: np.ndarray
    rotation: np.ndarray

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        half = np.sqrt(((self.rotation * self.semi_axes[None, :]) ** 2).sum(axis=1))
        return self.center - half, self.center + half

    def fraction(
        self,
        x: np.ndarray,
        y: np.ndarray,
        z: np.ndarray,
        spacing: tuple[float, float, float],
    ) -> np.ndarray:
        p = (x - np.float32(self.center[0]), y - np.float32(self.center[1]))
        p = (*p, z - np.float32(self.center[2]))
        rot = self.rotation.astype(np.float32)
        a = self.semi_axes.astype(np.float32)
        # u_i = p'_i / a_i^2, with p' the point in the principal frame
        u = [
            (p[0] * rot[0, i] + p[1] * rot[1, i] + p[2] * rot[2, i]) / (a[i] * a[i])
            for i in range(3)
        ]
        q = np.sqrt(sum(u[i] * u[i] * a[i] * a[i] for i in range(3)))
        unorm = np.maximum(np.sqrt(u[0] * u[0] + u[1] * u[1] + u[2] * u[2]), _TINY)
        sdf = np.where(q < 1e-4, -a.min(), (q - 1) * q / unorm)
        n = [sum(rot[j, i] * u[i] for i in range(3)) / unorm for j in range(3)]
        width = _ramp_width(*n, spacing)
        inv_a2 = 1.0 / (a * a)
        curvature = (
            unorm * unorm * inv_a2.sum() - sum(u[i] * u[i] * inv_a2[i] for i in range(3))
        ) / (2 * unorm**3)
        return edge_fraction(sdf + _curvature_shift(curvature, width, sdf), width)


@dataclass(frozen=True)
class LobulatedSphere:
    """A star-shaped solid: radius ``r0 * (1 + amplitude * lobes(direction))``.

    ``lobes`` is a zero-mean sum of smooth von Mises bumps around
    ``lobe_directions``, so the outline has a few soft bulges like a lobulated
    nodule while staying exactly integrable (see ``volume_mm3``).
    """

    center: np.ndarray
    r0: float
    amplitude: float
    lobe_directions: np.ndarray  # (k, 3) unit vectors
    lobe_weights: np.ndarray  # (k,)
    kappa: float = 10.0

    def radius(self, directions: np.ndarray) -> np.ndarray:
        """Surface radius along unit ``directions`` (..., 3)."""
        mean_bump = (1.0 - np.exp(-2.0 * self.kappa)) / (2.0 * self.kappa)
        cos = directions @ self.lobe_directions.T
        lobes = ((np.exp(self.kappa * (cos - 1.0)) - mean_bump) * self.lobe_weights).sum(axis=-1)
        return self.r0 * (1.0 + self.amplitude * lobes)

    def radius_bound(self) -> float:
        """Largest radius (dense sampling plus a small safety margin)."""
        return 1.02 * float(self.radius(fibonacci_sphere(4000)).max())

    def volume_mm3(self) -> float:
        """(1/3) ∫ r³ dΩ by Fibonacci-sphere quadrature (error ~1e-6)."""
        return float(4.0 * np.pi * np.mean(self.radius(fibonacci_sphere(20000)) ** 3) / 3.0)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        r = self.radius_bound()
        return self.center - r, self.center + r

    def fraction(
        self,
        x: np.ndarray,
        y: np.ndarray,
        z: np.ndarray,
        spacing: tuple[float, float, float],
    ) -> np.ndarray:
        px = x - np.float32(self.center[0])
        py = y - np.float32(self.center[1])
        pz = z - np.float32(self.center[2])
        rho = np.sqrt(px * px + py * py + pz * pz)
        inv = 1.0 / np.maximum(rho, _TINY)
        nx, ny, nz = np.broadcast_arrays(px * inv, py * inv, pz * inv)
        r = self.radius(np.stack([nx, ny, nz], axis=-1)).astype(np.float32)
        sdf = rho - r
        width = _ramp_width(nx, ny, nz, spacing)
        return edge_fraction(sdf + _curvature_shift(1.0 / r, width, sdf), width)


@dataclass(frozen=True)
class Tube:
    """A tapered capsule (cone frustum with round ends) from ``start`` to ``end``."""

    start: np.ndarray
    end: np.ndarray
    r_start: float
    r_end: float

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        r = max(self.r_start, self.r_end)
        return np.minimum(self.start, self.end) - r, np.maximum(self.start, self.end) + r

    def fraction(
        self,
        x: np.ndarray,
        y: np.ndarray,
        z: np.ndarray,
        spacing: tuple[float, float, float],
    ) -> np.ndarray:
        px = x - np.float32(self.start[0])
        py = y - np.float32(self.start[1])
        pz = z - np.float32(self.start[2])
        vx, vy, vz = (np.float32(c) for c in self.end - self.start)
        length2 = max(float(vx * vx + vy * vy + vz * vz), 1e-12)
        t = np.clip((px * vx + py * vy + pz * vz) / np.float32(length2), 0.0, 1.0)
        cx, cy, cz = px - t * vx, py - t * vy, pz - t * vz
        rho = np.sqrt(cx * cx + cy * cy + cz * cz)
        inv = 1.0 / np.maximum(rho, _TINY)
        r = np.float32(self.r_start) + t * np.float32(self.r_end - self.r_start)
        sdf = rho - r
        width = _ramp_width(cx * inv, cy * inv, cz * inv, spacing)
        # a cylinder's mean curvature is 1 / (2 r)
        return edge_fraction(sdf + _curvature_shift(0.5 / r, width, sdf), width)


def fibonacci_sphere(n: int) -> np.ndarray:
    """``n`` nearly uniform unit vectors (n, 3): quadrature points on the sphere."""
    k = np.arange(n) + 0.5
    polar = np.arccos(1.0 - 2.0 * k / n)
    azimuth = np.pi * (1.0 + 5.0**0.5) * k
    return np.stack(
        [np.cos(azimuth) * np.sin(polar), np.sin(azimuth) * np.sin(polar), np.cos(polar)], axis=-1
    )


def _z_subsamples(spacing: tuple[float, float, float]) -> int:
    """Sub-slices per slice so that thick slices are integrated, not ramped.

    A ramp one slice thick cannot describe a nodule smaller than the slice, so
    slices much thicker than the in-plane spacing are averaged over sub-slices
    (a box filter along z: the slice sensitivity profile of an ideal scanner).
    """
    sx, sy, sz = spacing
    return max(1, int(np.ceil(sz / (1.25 * max(sx, sy)))))


def box_fraction(grid: AxialGrid, solid: Solid, box: Box) -> np.ndarray:
    """Occupancy of a solid on a box of voxels, integrated over the slice thickness."""
    x, y, z = grid.box_coords(box)
    n = _z_subsamples(grid.spacing)
    if n == 1:
        return solid.fraction(x, y, z, grid.spacing)
    sx, sy, sz = grid.spacing
    sub_spacing = (sx, sy, sz / n)
    total = np.zeros(np.broadcast_shapes(x.shape, y.shape, z.shape), dtype=np.float32)
    for k in range(n):
        offset = np.float32(((k + 0.5) / n - 0.5) * sz)
        total += solid.fraction(x, y, z + offset, sub_spacing)
    total /= np.float32(n)
    return total


def solid_box(grid: AxialGrid, solid: Solid) -> Box | None:
    """Voxels that can be touched by a solid: its bounds padded by half a voxel diagonal."""
    pad = 0.5 * float(np.linalg.norm(grid.spacing))
    lo, hi = solid.bounds()
    return grid.box(lo - pad, hi + pad)


def render_solid(grid: AxialGrid, solid: Solid) -> tuple[Box, np.ndarray] | None:
    """Occupancy of one solid on its own box of the grid."""
    box = solid_box(grid, solid)
    if box is None:
        return None
    return box, box_fraction(grid, solid, box)


def render_union(grid: AxialGrid, solids: Sequence[Solid]) -> tuple[Box, np.ndarray] | None:
    """Occupancy of the union of solids (maximum), on the box that holds them all.

    Taking the maximum rather than painting one by one keeps joints of a
    branching tree from growing brighter edges where segments overlap.
    """
    boxes = [(solid, solid_box(grid, solid)) for solid in solids]
    boxes = [(s, b) for s, b in boxes if b is not None]
    if not boxes:
        return None
    lo = [min(b[axis].start for _, b in boxes) for axis in range(3)]
    hi = [max(b[axis].stop for _, b in boxes) for axis in range(3)]
    union: Box = (slice(lo[0], hi[0]), slice(lo[1], hi[1]), slice(lo[2], hi[2]))
    canvas = np.zeros([top - bottom for bottom, top in zip(lo, hi, strict=True)], dtype=np.float32)
    for solid, box in boxes:
        local = tuple(slice(b.start - o, b.stop - o) for b, o in zip(box, lo, strict=True))
        view = canvas[local]
        np.maximum(view, box_fraction(grid, solid, box), out=view)
    return union, canvas
