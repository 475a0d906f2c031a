"""Soft-edged solids: summed occupancy against analytic volumes, any spacing."""

from __future__ import annotations

import numpy as np
import pytest

from ai.phantoms.grid import AxialGrid
from ai.phantoms.partial_volume import Ellipsoid, LobulatedSphere, Tube, render_solid

SPACINGS = [(0.7, 0.7, 0.7), (1.4, 1.4, 2.5), (0.6, 0.6, 5.0), (0.8, 0.8, 8.0)]


def _rotation(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _grid(spacing, extent_mm: float = 60.0) -> AxialGrid:
    """A grid at least ``extent_mm`` wide along every axis."""
    sx, sy, sz = spacing
    return AxialGrid(tuple(int(np.ceil(extent_mm / s)) for s in (sz, sy, sx)), spacing)


def _summed_volume(grid: AxialGrid, solid) -> float:
    rendered = render_solid(grid, solid)
    assert rendered is not None
    _, fraction = rendered
    assert fraction.min() >= 0.0 and fraction.max() <= 1.0
    return float(fraction.sum()) * grid.voxel_volume_mm3


@pytest.mark.parametrize("spacing", SPACINGS)
@pytest.mark.parametrize("diameter", [4.0, 6.0, 12.0])
def test_spheres_and_ellipsoids_sum_to_their_volume(spacing, diameter) -> None:
    grid = _grid(spacing, 30.0)
    tolerance = 0.04 if diameter < 5 else 0.02  # a 4 mm sphere is barely 2 voxels wide
    rng = np.random.default_rng(int(diameter * 10))
    for _ in range(4):
        centre = rng.uniform(-2.0, 2.0, 3)
        r = diameter / 2
        sphere = Ellipsoid(centre, np.full(3, r), np.eye(3))
        semi = r * np.array([1.3, 1.0, 0.8]) / (1.3 * 0.8) ** (1 / 3)
        ellipsoid = Ellipsoid(centre, semi, _rotation(rng.uniform(0, np.pi)))
        for solid in (sphere, ellipsoid):
            expected = 4 / 3 * np.pi * np.prod(solid.semi_axes)
            assert _summed_volume(grid, solid) == pytest.approx(expected, rel=tolerance)


@pytest.mark.parametrize("spacing", SPACINGS)
def test_lobulated_solid_matches_its_quadrature_volume(spacing) -> None:
    grid = _grid(spacing, 30.0)
    directions = np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], [-0.6, -0.6, -0.53]])
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    solid = LobulatedSphere(np.zeros(3), 5.0, 0.3, directions, np.array([1.0, 0.6, 0.8, 0.5]))
    # independent check of the quadrature: a plain spherical-coordinate Riemann sum
    theta = (np.arange(400) + 0.5) * np.pi / 400
    phi = (np.arange(800) + 0.5) * 2 * np.pi / 800
    t, p = np.meshgrid(theta, phi, indexing="ij")
    u = np.stack([np.sin(t) * np.cos(p), np.sin(t) * np.sin(p), np.cos(t)], axis=-1)
    riemann = (solid.radius(u) ** 3 / 3 * np.sin(t)).sum() * (np.pi / 400) * (2 * np.pi / 800)
    assert solid.volume_mm3() == pytest.approx(riemann, rel=1e-4)
    assert _summed_volume(grid, solid) == pytest.approx(riemann, rel=0.02)


@pytest.mark.parametrize("spacing", SPACINGS)
def test_oblique_tube_sums_to_cylinder_plus_caps(spacing) -> None:
    grid = _grid(spacing, 60.0)
    start, end, r = np.array([-15.0, -8.0, -20.0]), np.array([14.0, 9.0, 18.0]), 2.5
    tube = Tube(start, end, r, r)
    length = np.linalg.norm(end - start)
    expected = np.pi * r**2 * length + 4 / 3 * np.pi * r**3
    assert _summed_volume(grid, tube) == pytest.approx(expected, rel=0.02)


def test_grid_is_centred_lps_and_boxes_clip() -> None:
    grid = AxialGrid((5, 4, 3), (0.5, 1.0, 2.0))
    assert np.allclose(grid.origin, [-0.5, -1.5, -4.0])
    assert np.allclose(grid.index_to_world(np.array([1, 1.5, 2])), 0.0)
    assert grid.box(np.array([100.0, 0, 0]), np.array([101.0, 1, 1])) is None
    box = grid.box(np.array([-10.0, -10, -10]), np.array([10.0, 10, 10]))
    assert box == (slice(0, 5), slice(0, 4), slice(0, 3))
