"""Approximate signed distances of the smooth shapes anatomy is built from.

Each function returns millimetres, negative inside, and accepts broadcastable
numpy arrays, so the same formula serves a whole slice, a sub-box or a list of
points. The distances are first-order (implicit value over gradient length):
exact on the surface, which is all soft edges and placement checks need.
"""

from __future__ import annotations

import numpy as np

_TINY = np.float32(1e-12)


def ellipse_sdf(
    x: np.ndarray, y: np.ndarray, a: float | np.ndarray, b: float | np.ndarray
) -> np.ndarray:
    """Distance to the ellipse x²/a² + y²/b² = 1 (in-plane); a, b may vary per point."""
    return superellipse_sdf(x, y, a, b, 2.0)


def superellipse_sdf(
    x: np.ndarray, y: np.ndarray, a: float | np.ndarray, b: float | np.ndarray, p: float
) -> np.ndarray:
    """Distance to |x/a|^p + |y/b|^p = 1; p > 2 gives the boxier outline of a torso."""
    a = np.asarray(a, dtype=np.float32)
    b = np.asarray(b, dtype=np.float32)
    u = np.abs(x) / a
    v = np.abs(y) / b
    if p == 2.0:
        q = np.sqrt(u * u + v * v)
        gu, gv = u / a, v / b
        grad = np.sqrt(gu * gu + gv * gv) / np.maximum(q, _TINY)
    else:
        up, vp = u ** np.float32(p), v ** np.float32(p)
        q = (up + vp) ** np.float32(1.0 / p)
        # d q / d u = (u / q)^(p - 1)
        qs = np.maximum(q, _TINY)
        gu = (u / qs) ** np.float32(p - 1) / a
        gv = (v / qs) ** np.float32(p - 1) / b
        grad = np.sqrt(gu * gu + gv * gv)
    return np.where(q < 1e-4, -np.minimum(a, b), (q - 1) / np.maximum(grad, _TINY))


def ellipsoid_sdf(
    x: np.ndarray, y: np.ndarray, z: np.ndarray, a: float, b: float, c: float
) -> np.ndarray:
    """Distance to the axis-aligned ellipsoid x²/a² + y²/b² + z²/c² = 1."""
    u, v, w = x / np.float32(a), y / np.float32(b), z / np.float32(c)
    q = np.sqrt(u * u + v * v + w * w)
    gu, gv, gw = u / np.float32(a), v / np.float32(b), w / np.float32(c)
    grad = np.sqrt(gu * gu + gv * gv + gw * gw) / np.maximum(q, _TINY)
    return np.where(q < 1e-4, np.float32(-min(a, b, c)), (q - 1) / np.maximum(grad, _TINY))


def circle_sdf(x: np.ndarray, y: np.ndarray, r: float) -> np.ndarray:
    """Distance to a circle of radius r (in-plane)."""
    return np.sqrt(x * x + y * y) - np.float32(r)


def interval_overlap(centres: np.ndarray, thickness: float, lo: float, hi: float) -> np.ndarray:
    """Fraction of each slab [c - t/2, c + t/2] that lies inside [lo, hi].

    This is the exact partial-volume weight of a structure bounded in z for
    slices of any thickness.
    """
    c = np.asarray(centres, dtype=float)
    top = np.minimum(c + thickness / 2, hi)
    bottom = np.maximum(c - thickness / 2, lo)
    return np.clip(top - bottom, 0.0, None) / thickness
