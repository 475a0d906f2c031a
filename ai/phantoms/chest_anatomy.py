"""Geometry of the synthetic chest: body, lungs, mediastinum, spine, ribs, airways.

All sizes are adult millimetres scaled by ``scale`` = in-plane field of view /
360 mm (capped at 1), so a small test grid gets a small but complete chest,
and the lungs stay enclosed by chest wall and mediastinum at any size. The
lungs are height-limited to the z field of view and centred in it.
Everything here is analytic; ``chest_ct`` samples it onto voxels.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ai.phantoms.grid import AxialGrid
from ai.phantoms.partial_volume import Tube
from ai.phantoms.shapes import circle_sdf, ellipse_sdf, ellipsoid_sdf, superellipse_sdf

Side = Literal["right", "left"]
#: Patient right is -x in LPS, patient left is +x.
SIDE_SIGN: dict[Side, float] = {"right": -1.0, "left": 1.0}

REFERENCE_FOV_MM = 360.0
#: Soft tissue kept between the lungs and the mediastinum / spine.
CARVE_MARGIN_MM = 3.0


@dataclass(frozen=True)
class Lung:
    """One lung: an elliptic cylinder with a diaphragm dome below and a round apex."""

    side: Side
    center_xy: tuple[float, float]
    semi_xy: tuple[float, float]
    base_z: float  # lowest point (costophrenic recess)
    dome_height: float  # dome top above base_z
    apex_z: float
    apex_start_z: float  # where the cross-section starts to shrink

    def apex_scale(self, z: np.ndarray | float) -> np.ndarray:
        """Cross-section scale at height z: 1 below the apex region, 0 at the apex."""
        rel = (np.asarray(z, dtype=np.float32) - self.apex_start_z) / (
            self.apex_z - self.apex_start_z
        )
        return np.sqrt(np.clip(1.0 - np.clip(rel, 0.0, None) ** 2, 0.0, 1.0))

    def ellipse_sdf(self, x: np.ndarray, y: np.ndarray, z: np.ndarray | float) -> np.ndarray:
        g = np.maximum(self.apex_scale(z), 1e-3)
        cx, cy = self.center_xy
        return ellipse_sdf(
            x - np.float32(cx), y - np.float32(cy), self.semi_xy[0] * g, self.semi_xy[1] * g
        )

    def dome_sdf(self, x: np.ndarray, y: np.ndarray, z: np.ndarray | float) -> np.ndarray:
        """Distance below the diaphragm dome (positive below, i.e. outside the lung).

        The dome is a paraboloid height field; its vertical distance divided by
        sqrt(1 + slope²) is the first-order distance along the surface normal.
        """
        cx, cy = self.center_xy
        a, b = self.semi_xy
        u, v = (x - cx) / a, (y - cy) / b
        inside = (u * u + v * v) < 1.0
        dome = self.base_z + self.dome_height * np.where(inside, 1.0 - u * u - v * v, 0.0)
        slope2 = np.where(inside, (2 * self.dome_height) ** 2 * ((u / a) ** 2 + (v / b) ** 2), 0.0)
        return ((dome - z) / np.sqrt(1.0 + slope2)).astype(np.float32)


@dataclass(frozen=True)
class ChestAnatomy:
    """Analytic chest; every length is in LPS millimetres."""

    scale: float
    body_semi: tuple[float, float]
    body_power: float
    skin_mm: float
    fat_mm: float
    lungs: dict[Side, Lung]
    lung_z: tuple[float, float]  # (base, apex): the z range the lungs are fitted to
    mediastinum: tuple[tuple[float, float], tuple[float, float]]  # centre, semi-axes
    mediastinal_fat: tuple[tuple[float, float], tuple[float, float]]
    heart_center: tuple[float, float, float]
    heart_semi: tuple[float, float, float]
    aorta: tuple[float, float, float]  # x, y, radius
    vertebra: tuple[float, float]  # centre y, radius
    canal: tuple[float, float]  # centre y, radius
    spinous: tuple[tuple[float, float], tuple[float, float]]
    vertebra_period_mm: float
    disc_mm: float
    sternum: tuple[tuple[float, float], tuple[float, float]]
    trachea_xy: tuple[float, float]
    trachea_radius: float
    airway_wall: float
    carina_z: float
    bronchus_ends: dict[Side, tuple[float, float, float]]
    bronchus_radius: float
    #: (side, root point, root radius) of each pulmonary vessel tree (arteries, veins).
    vessel_roots: tuple[tuple[Side, tuple[float, float, float], float], ...]
    rib_radius: float
    rib_z: tuple[float, ...]  # posterior end of each rib pair

    @classmethod
    def build(cls, grid: AxialGrid, rng: np.random.Generator) -> ChestAnatomy:
        """An adult chest fitted to the grid, with small seed-dependent variations."""
        fov = grid.extent_mm
        s = min(1.0, float(min(fov[0], fov[1])) / REFERENCE_FOV_MM)
        height = min(0.86 * float(fov[2]), 250.0 * s)
        base, apex = -height / 2.0, height / 2.0

        def jitter(spread: float = 0.04) -> float:
            return float(rng.uniform(1.0 - spread, 1.0 + spread))

        lungs: dict[Side, Lung] = {}
        for side, dome in (("right", 0.26), ("left", 0.2)):
            sign = SIDE_SIGN[side]
            lungs[side] = Lung(
                side=side,
                center_xy=(sign * 75.0 * s * jitter(0.02), 2.0 * s),
                semi_xy=(60.0 * s * jitter(), 82.0 * s * jitter()),
                base_z=base,
                dome_height=dome * height * jitter(0.1),
                apex_z=apex * jitter(0.02),
                apex_start_z=apex - 0.3 * height,
            )
        carina = base + 0.66 * height
        rib_count = max(3, round(0.75 * height / (24.0 * s)))
        rib_z = tuple(np.linspace(base + 0.22 * height, apex - 0.06 * height, rib_count))
        heart_dx = float(rng.uniform(-4.0, 4.0)) * s
        return cls(
            scale=s,
            body_semi=(165.0 * s, 122.0 * s),
            body_power=2.6,
            skin_mm=2.0 * s,
            fat_mm=12.0 * s,
            lungs=lungs,
            lung_z=(base, apex),
            mediastinum=((0.0, -10.0 * s), (36.0 * s, 72.0 * s)),
            mediastinal_fat=((0.0, -24.0 * s), (27.0 * s, 52.0 * s)),
            heart_center=(22.0 * s + heart_dx, -34.0 * s, base + 0.28 * height),
            heart_semi=(60.0 * s * jitter(), 50.0 * s * jitter(), 0.2 * height),
            aorta=(22.0 * s, 38.0 * s, 12.0 * s),
            vertebra=(62.0 * s, 19.0 * s),
            canal=(90.0 * s, 8.0 * s),
            spinous=((0.0, 104.0 * s), (5.0 * s, 10.0 * s)),
            vertebra_period_mm=26.0 * s,
            disc_mm=5.0 * s,
            sternum=((0.0, -97.0 * s), (15.0 * s, 6.0 * s)),
            trachea_xy=(0.0, 20.0 * s),
            trachea_radius=9.0 * s,
            airway_wall=max(1.5 * s, 1.0),
            carina_z=carina,
            bronchus_ends={
                side: (SIDE_SIGN[side] * 22.0 * s, 24.0 * s, carina - 20.0 * s)
                for side in ("right", "left")
            },
            bronchus_radius=6.0 * s,
            vessel_roots=tuple(
                (side, (SIDE_SIGN[side] * x * s, y * s, base + z * height), r * s)
                for side in ("right", "left")
                for x, y, z, r in ((27.0, 6.0, 0.55, 8.0), (30.0, 14.0, 0.42, 6.5))
            ),
            rib_radius=4.5 * s,
            rib_z=rib_z,
        )

    # --- signed distances ---------------------------------------------------------

    def body_sdf(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return superellipse_sdf(x, y, *self.body_semi, self.body_power)

    def static_carve_sdf(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Mediastinum, spine and aorta: what the lungs wrap around (z-invariant)."""
        (mx, my), (ma, mb) = self.mediastinum
        vy, vr = self.vertebra
        cy, cr = self.canal
        ax, ay, ar = self.aorta
        parts = (
            ellipse_sdf(x - mx, y - my, ma, mb),
            circle_sdf(x, y - vy, vr + 4.0 * self.scale),
            circle_sdf(x, y - cy, cr + 8.0 * self.scale),
            circle_sdf(x - ax, y - ay, ar),
        )
        return np.minimum.reduce(np.broadcast_arrays(*parts))

    def heart_sdf(self, x: np.ndarray, y: np.ndarray, z: np.ndarray | float) -> np.ndarray:
        hx, hy, hz = self.heart_center
        return ellipsoid_sdf(x - hx, y - hy, np.float32(z) - hz, *self.heart_semi)

    def lung_parts(
        self,
        side: Side,
        x: np.ndarray,
        y: np.ndarray,
        z: np.ndarray | float,
        static_carve: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(outline, dome, carve) distances; the lung is outline<0, dome<0, carve>0."""
        lung = self.lungs[side]
        carve = self.static_carve_sdf(x, y) if static_carve is None else static_carve
        carve = np.minimum(carve, self.heart_sdf(x, y, z)) - CARVE_MARGIN_MM
        return lung.ellipse_sdf(x, y, z), lung.dome_sdf(x, y, z), carve

    def lung_sdf(self, side: Side, points: np.ndarray) -> np.ndarray:
        """Signed distance (approximate) of LPS ``points`` (n, 3) to one lung."""
        x, y, z = (points[:, i].astype(np.float32) for i in range(3))
        outline, dome, carve = self.lung_parts(side, x, y, z)
        return np.maximum(np.maximum(outline, dome), -carve)

    # --- tubular structures ---------------------------------------------------------

    def airway_tubes(self) -> tuple[list[Tube], list[Tube]]:
        """(walls, lumens) of the trachea and the two main bronchi."""
        tx, ty = self.trachea_xy
        top = np.array([tx, ty, self.lung_z[1] + 400.0])
        carina = np.array([tx, ty, self.carina_z])
        walls, lumens = [], []
        pieces = [(top, carina, self.trachea_radius)]
        pieces += [
            (carina, np.array(end), self.bronchus_radius) for end in self.bronchus_ends.values()
        ]
        for start, end, radius in pieces:
            walls.append(Tube(start, end, radius + self.airway_wall, radius + self.airway_wall))
            lumens.append(Tube(start, end, radius, radius))
        return walls, lumens

    def rib_tubes(self) -> tuple[list[Tube], list[Tube]]:
        """(cortex, marrow) tubes of the ribs, curving from the spine round to the front.

        Each rib follows the lung outline at its own height, offset outwards by
        the rib radius plus a few millimetres, so ribs never touch the lung,
        and slopes down towards the front as real ribs do.
        """
        s = self.scale
        cortex, marrow = [], []
        angles = np.radians(np.linspace(140.0, -110.0, 16))
        height = self.lung_z[1] - self.lung_z[0]
        offset = self.rib_radius + 4.0 * s
        for z0 in self.rib_z:
            for side, lung in self.lungs.items():
                sign = SIDE_SIGN[side]
                z = z0 - 0.12 * height * (np.radians(140.0) - angles) / np.radians(250.0)
                g = lung.apex_scale(z)
                x = lung.center_xy[0] + sign * (lung.semi_xy[0] * g + offset) * np.cos(angles)
                y = lung.center_xy[1] + (lung.semi_xy[1] * g + offset) * np.sin(angles)
                path = np.stack([x, y, z], axis=1)
                keep = g > 0.25  # no rib where the lung has shrunk to its apex
                path = path[keep]
                for a, b in itertools.pairwise(path):
                    cortex.append(Tube(a, b, self.rib_radius, self.rib_radius))
                    marrow.append(Tube(a, b, 0.5 * self.rib_radius, 0.5 * self.rib_radius))
        return cortex, marrow

    def lung_points(
        self, rng: np.random.Generator, side: Side, n: int, inset_mm: float
    ) -> np.ndarray:
        """``n`` uniform random points (n, 3) at least ``inset_mm`` inside a lung."""
        lung = self.lungs[side]
        (cx, cy), (a, b) = lung.center_xy, lung.semi_xy
        lo = np.array([cx - a, cy - b, lung.base_z])
        hi = np.array([cx + a, cy + b, lung.apex_z])
        found: list[np.ndarray] = []
        count = 0
        for _ in range(50):
            candidates = rng.uniform(lo, hi, size=(4 * n, 3))
            inside = candidates[self.lung_sdf(side, candidates) < -inset_mm]
            found.append(inside)
            count += len(inside)
            if count >= n:
                break
        points = np.concatenate(found)[:n]
        if len(points) < n:
            raise ValueError(f"the {side} lung is too small for this grid")
        return points
