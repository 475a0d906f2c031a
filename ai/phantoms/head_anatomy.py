"""Anatomy of the synthetic stroke head: tissue classes, vessels, ischaemic zones.

Tissue classes are assigned per voxel centre (no mixing between grey matter,
white matter and CSF), so every parenchyma voxel has one exact set of
perfusion values. Only the vessels are drawn with partial volume, the way real
arteries blur into their neighbours; the AIF and VOF voxels are chosen where a
vessel fills the whole voxel.

Sizes are adult millimetres scaled by in-plane field of view / 205 mm (capped
at 1); the slab is placed above the skull base, as in a CTP acquisition.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from ai.phantoms.grid import AxialGrid
from ai.phantoms.partial_volume import Tube, render_union
from ai.phantoms.shapes import ellipsoid_sdf

AIR, SCALP, SKULL, CSF, GREY, WHITE = range(6)
#: Ischaemic zones of parenchyma voxels.
NORMAL, MILD, SEVERE, CORE = range(4)

REFERENCE_FOV_MM = 205.0


@dataclass
class HeadModel:
    """Per-voxel anatomy of the head on a grid."""

    tissue: np.ndarray  # uint8 class per voxel (AIR ... WHITE)
    zone: np.ndarray  # uint8 NORMAL/MILD/SEVERE/CORE, meaningful on parenchyma only
    artery_fraction: np.ndarray  # float32 in [0, 1]
    sinus_fraction: np.ndarray  # float32 in [0, 1]
    aif_index_zyx: tuple[int, int, int]
    vof_index_zyx: tuple[int, int, int]

    @property
    def vessels(self) -> np.ndarray:
        return (self.artery_fraction + self.sinus_fraction) > 0.01

    @property
    def tissue_share(self) -> np.ndarray:
        """Fraction of each voxel not taken by a vessel."""
        return 1.0 - np.minimum(self.artery_fraction + self.sinus_fraction, 1.0)

    @property
    def parenchyma(self) -> np.ndarray:
        return ((self.tissue == GREY) | (self.tissue == WHITE)) & ~self.vessels

    @property
    def intracranial(self) -> np.ndarray:
        return self.tissue >= CSF


def build_head(grid: AxialGrid, rng: np.random.Generator, infarct: bool = True) -> HeadModel:
    """Classify every voxel and draw the vessels; ``rng`` adds small shape variations."""
    s = min(1.0, float(min(grid.extent_mm[:2])) / REFERENCE_FOV_MM)
    sz = grid.spacing[2]
    z_lo, z_hi = grid.axis_mm(2)[0] - sz / 2, grid.axis_mm(2)[-1] + sz / 2
    outer = np.array([72.0, 92.0, 95.0]) * s * rng.uniform(0.97, 1.03, size=3)
    center_z = z_lo + 0.1 * (z_hi - z_lo)  # the slab starts just above the skull base

    x = grid.axis_mm(0).astype(np.float32)[None, None, :]
    y = grid.axis_mm(1).astype(np.float32)[None, :, None]
    z = grid.axis_mm(2).astype(np.float32)[:, None, None]
    tissue = _tissue_classes(x, y, z, s, outer, center_z, (z_lo, z_hi))
    zone = np.full(grid.shape, NORMAL, dtype=np.uint8)
    if infarct:
        _draw_ischaemia(zone, x, y, z, s, z_lo + 0.42 * (z_hi - z_lo))

    arteries, ica_axis = _arteries(grid, s, z_lo, z_hi)
    artery_fraction = _fraction(grid, arteries)
    sinus_fraction = _fraction(grid, _sinus(grid, s, outer, center_z, z_lo, z_hi))
    return HeadModel(
        tissue=tissue,
        zone=zone,
        artery_fraction=artery_fraction,
        sinus_fraction=sinus_fraction,
        aif_index_zyx=_full_voxel_on_axis(grid, artery_fraction, ica_axis),
        vof_index_zyx=_full_voxel_nearest_mid_slab(sinus_fraction),
    )


def _tissue_classes(
    x: np.ndarray,
    y: np.ndarray,
    z: np.ndarray,
    s: float,
    outer: np.ndarray,
    center_z: float,
    slab: tuple[float, float],
) -> np.ndarray:
    """Scalp, skull, CSF, cortex, white matter, deep grey nuclei and lateral ventricles."""
    head = ellipsoid_sdf(x, y, z - np.float32(center_z), *outer)
    tissue = np.full(head.shape, AIR, dtype=np.uint8)
    tissue[head < 0] = SCALP
    tissue[head + 5.0 * s < 0] = SKULL
    tissue[head + 12.0 * s < 0] = CSF  # subarachnoid space under the inner table
    brain = head + 14.5 * s
    tissue[brain < 0] = GREY  # cortical ribbon
    tissue[brain + 3.5 * s < 0] = WHITE
    z_lo, z_hi = slab
    nuclei_z, ventricle_z = z_lo + 0.35 * (z_hi - z_lo), z_lo + 0.5 * (z_hi - z_lo)
    for sign in (-1.0, 1.0):
        nuclei = ellipsoid_sdf(x - sign * 20 * s, y - 2 * s, z - nuclei_z, 9 * s, 16 * s, 12 * s)
        tissue[(nuclei < 0) & (brain < 0)] = GREY
        ventricle = ellipsoid_sdf(
            x - sign * 9 * s, y + 4 * s, z - ventricle_z, 5.5 * s, 25 * s, 15 * s
        )
        tissue[(ventricle < 0) & (brain < 0)] = CSF
    return tissue


def _draw_ischaemia(
    zone: np.ndarray, x: np.ndarray, y: np.ndarray, z: np.ndarray, s: float, center_z: float
) -> None:
    """Nested left-MCA-territory zones: penumbra, severe hypoperfusion, core."""
    left = x > 3.0 * s  # patient left (+x), clear of the midline
    cx, cy = 34.0 * s, -2.0 * s
    for level, semi in ((MILD, (30, 44, 28)), (SEVERE, (20, 28, 20)), (CORE, (13, 18, 14))):
        a, b, c = (v * s for v in semi)
        inside = ellipsoid_sdf(x - cx, y - cy, z - np.float32(center_z), a, b, c) < 0
        zone[inside & left] = level


def _arteries(grid: AxialGrid, s: float, z_lo: float, z_hi: float) -> tuple[list[Tube], np.ndarray]:
    """ICAs rising to the circle of Willis, ACAs, the right MCA and an occluded left MCA stub.

    Returns the tubes and the (snapped) axis point of the right ICA, whose
    centre voxel is the partial-volume-free arterial input.
    """
    width = max(grid.spacing[:2])
    r_ica = max(2.4 * s, 0.8 * width)
    z0 = grid.axis_mm(2)[0]
    willis = min(max(z_lo + 0.3 * (z_hi - z_lo), z0 + grid.spacing[2] / 2 + r_ica + 0.5), z_hi)
    tubes: list[Tube] = []
    axis_right = None
    for sign in (-1.0, 1.0):
        axis = grid.snap(np.array([sign * 15.0 * s, -6.0 * s, z0]))
        top = np.array([axis[0], axis[1], willis])
        tubes.append(Tube(np.array([axis[0], axis[1], z_lo - 30.0]), top, r_ica, r_ica))
        aca_turn = np.array([sign * 2.5 * s, -38.0 * s, willis + 6.0 * s])
        tubes.append(Tube(top, aca_turn, 1.3 * s, 1.3 * s))
        tubes.append(
            Tube(aca_turn, np.array([sign * 2.5 * s, -30.0 * s, z_hi + 20.0]), 1.3 * s, 1.3 * s)
        )
        if sign < 0:  # right MCA, patent
            m1_end = np.array([-50.0 * s, 0.0, willis + 4.0 * s])
            tubes.append(Tube(top, m1_end, 1.6 * s, 1.6 * s))
            tubes.append(
                Tube(m1_end, np.array([-56.0 * s, 10.0 * s, willis + 30.0 * s]), 1.2 * s, 1.2 * s)
            )
            axis_right = axis
        else:  # left MCA occluded a centimetre from its origin
            tubes.append(
                Tube(top, np.array([22.0 * s, -4.0 * s, willis + 1.0 * s]), 1.6 * s, 1.6 * s)
            )
    assert axis_right is not None
    return tubes, axis_right


def _sinus(
    grid: AxialGrid, s: float, outer: np.ndarray, center_z: float, z_lo: float, z_hi: float
) -> list[Tube]:
    """Superior sagittal sinus: midline, running up just inside the posterior inner table."""
    radius = max(4.0 * s, 1.5 * max(grid.spacing[:2]))
    inner = outer - 12.0 * s
    zs = np.linspace(z_lo - 10.0, z_hi + 10.0, 24)
    rel = np.clip((zs - center_z) / inner[2], -0.95, 0.95)
    ys = inner[1] * np.sqrt(1.0 - rel**2) - radius - 1.0 * s
    points = np.stack([np.zeros_like(zs), ys, zs], axis=1)
    return [Tube(a, b, radius, radius) for a, b in itertools.pairwise(points)]


def _fraction(grid: AxialGrid, tubes: list[Tube]) -> np.ndarray:
    out = np.zeros(grid.shape, dtype=np.float32)
    rendered = render_union(grid, tubes)
    if rendered is not None:
        box, fraction = rendered
        out[box] = fraction
    return out


def _full_voxel_on_axis(
    grid: AxialGrid, fraction: np.ndarray, axis_point: np.ndarray
) -> tuple[int, int, int]:
    """The lowest voxel on a vertical vessel's axis (fully inside the vessel)."""
    i, j, _ = np.rint(grid.world_to_index(axis_point)).astype(int)
    column = fraction[:, j, i]
    k = int(np.argmax(column >= 0.999)) if np.any(column >= 0.999) else int(np.argmax(column))
    return k, int(j), int(i)


def _full_voxel_nearest_mid_slab(fraction: np.ndarray) -> tuple[int, int, int]:
    """A voxel the vessel fills completely, as near the middle slice as possible."""
    full = np.argwhere(fraction >= 0.999)
    if len(full) == 0:
        full = np.argwhere(fraction >= fraction.max())
    middle = (fraction.shape[0] - 1) / 2.0
    k, j, i = full[np.argmin(np.abs(full[:, 0] - middle))]
    return int(k), int(j), int(i)
