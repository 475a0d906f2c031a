"""Space-filling branching vessel trees, grown by recursive territory splitting.

Each branch owns a cloud of points of the organ (its territory). It runs part
of the way towards the middle of its territory, then bifurcates: the territory
is cut in two across its longest axis and each child takes one half. Radii
follow Murray's law (r³ = r1³ + r2³) with flow proportional to territory size.
The result fills the organ the way pulmonary arteries fill a lung, is cheap to
grow (no voxels involved) and is random but reproducible per seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ai.phantoms.partial_volume import Tube


@dataclass(frozen=True)
class Branch:
    """One vessel segment: a tapered tube plus its generation (0 = root)."""

    tube: Tube
    generation: int


def grow_tree(
    rng: np.random.Generator,
    root_mm: np.ndarray,
    root_radius_mm: float,
    territory_mm: np.ndarray,
    generations: int,
    taper: float = 0.93,
    min_radius_mm: float = 0.5,
) -> list[Branch]:
    """Grow a tree from ``root_mm`` that fills the points ``territory_mm`` (n, 3)."""
    branches: list[Branch] = []
    if generations <= 0 or len(territory_mm) == 0:
        return branches

    def grow(start: np.ndarray, radius: float, points: np.ndarray, generation: int) -> None:
        centroid = points.mean(axis=0)
        # the territory point nearest its centroid is inside the organ even when
        # the territory wraps around a concavity (the heart, the mediastinum)
        target = points[np.argmin(((points - centroid) ** 2).sum(axis=1))]
        terminal = generation >= generations - 1 or len(points) < 4 or radius < min_radius_mm
        reach = 1.0 if terminal else rng.uniform(0.45, 0.75)
        end = start + reach * (target - start)
        r_end = radius * taper
        if np.linalg.norm(end - start) > 0.5 * radius:
            branches.append(Branch(Tube(start, end, radius, r_end), generation))
        if terminal:
            return
        halves = _split(rng, points)
        total = len(points)
        for half in halves:
            child_radius = r_end * (len(half) / total) ** (1.0 / 3.0)
            grow(end, child_radius, half, generation + 1)

    grow(np.asarray(root_mm, dtype=float), root_radius_mm, np.asarray(territory_mm), 0)
    return branches


def _split(rng: np.random.Generator, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cut a point cloud across a random mix of its two longest axes, near the median."""
    centred = points - points.mean(axis=0)
    _, vectors = np.linalg.eigh(centred.T @ centred)
    mix = rng.uniform(-0.35, 0.35)
    axis = vectors[:, -1] + mix * vectors[:, -2]
    projection = centred @ axis
    cut = np.quantile(projection, rng.uniform(0.25, 0.75))
    below = projection <= cut
    return points[below], points[~below]


def segment_distances(points: np.ndarray, branches: list[Branch]) -> np.ndarray:
    """Distance (m, b) from each point to each branch's surface (negative inside)."""
    starts = np.array([b.tube.start for b in branches])
    ends = np.array([b.tube.end for b in branches])
    r0 = np.array([b.tube.r_start for b in branches])
    r1 = np.array([b.tube.r_end for b in branches])
    v = ends - starts
    length2 = np.maximum((v * v).sum(axis=1), 1e-12)
    rel = points[:, None, :] - starts[None, :, :]
    t = np.clip((rel * v[None]).sum(axis=2) / length2[None], 0.0, 1.0)
    closest = rel - t[..., None] * v[None]
    return np.linalg.norm(closest, axis=2) - (r0 + t * (r1 - r0))
