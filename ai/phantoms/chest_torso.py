"""Slice-by-slice rendering of the chest's soft parts, bones and lungs.

Everything here is a function of (x, y) or varies slowly with z, so it is
drawn one axial slice at a time on small in-plane boxes: cheap even for 512 x
512 x 300 grids. Structures that end in z (mediastinal fat, aorta, sternum,
intervertebral discs) are weighted by the exact fraction of each slice they
fill, so any slice thickness gets correct partial volume.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ai.phantoms.chest_anatomy import ChestAnatomy, Side
from ai.phantoms.grid import AxialGrid
from ai.phantoms.partial_volume import edge_fraction, paint
from ai.phantoms.shapes import circle_sdf, ellipse_sdf, interval_overlap

AIR_HU = -1000.0
LUNG_HU = -850.0
#: Lung density rises towards the dependent (posterior) lung by this much, end to end.
LUNG_GRADIENT_HU = 50.0
FAT_HU = -100.0
SOFT_TISSUE_HU = 40.0
CORTICAL_BONE_HU = 900.0
CANCELLOUS_BONE_HU = 400.0
STERNUM_HU = 600.0
DISC_HU = 80.0
CANAL_HU = 20.0
#: Lung label values in ``ChestPhantom.lung_labels``.
LUNG_LABELS: dict[Side, int] = {"right": 1, "left": 2}


class _Region:
    """The in-plane bounding box of a structure and its coordinates."""

    def __init__(self, grid: AxialGrid, center: tuple[float, float], half: tuple[float, float]):
        pad = max(grid.spacing[:2])
        x, y = grid.slice_coords()
        cols = np.flatnonzero(np.abs(x[0] - center[0]) <= half[0] + pad)
        rows = np.flatnonzero(np.abs(y[:, 0] - center[1]) <= half[1] + pad)
        self.box = (
            slice(rows[0], rows[-1] + 1) if rows.size else slice(0, 0),
            slice(cols[0], cols[-1] + 1) if cols.size else slice(0, 0),
        )
        self.x, self.y = x[:, self.box[1]], y[self.box[0], :]

    def paint(self, image: np.ndarray, fraction: np.ndarray, value: float | np.ndarray) -> None:
        paint(image[self.box], fraction, value)  # type: ignore[arg-type]


@dataclass
class _Layer:
    """A fixed in-plane shape painted on each slice by the share of the slice it fills."""

    region: _Region
    fraction: np.ndarray
    value: float
    slice_weight: np.ndarray

    def paint(self, image: np.ndarray, k: int) -> None:
        weight = np.float32(self.slice_weight[k])
        if weight > 0:
            self.region.paint(image, self.fraction * weight, self.value)


def render_torso(grid: AxialGrid, anatomy: ChestAnatomy) -> tuple[np.ndarray, np.ndarray]:
    """HU of the torso without tubes or nodules (float32), and the lung labels (uint8)."""
    sz = grid.spacing[2]
    width = max(grid.spacing[:2])
    template = _template(grid, anatomy, width)
    layers = _layers(grid, anatomy, width)
    hx, hy, hz = anatomy.heart_center
    ha, hb, hc = anatomy.heart_semi
    heart = _Region(grid, (hx, hy), (ha, hb))
    lungs = {
        side: _Region(grid, lung.center_xy, lung.semi_xy) for side, lung in anatomy.lungs.items()
    }
    lung_hu = {
        side: (
            LUNG_HU + LUNG_GRADIENT_HU * (lungs[side].y - lung.center_xy[1]) / (2 * lung.semi_xy[1])
        )
        for side, lung in anatomy.lungs.items()
    }
    carve = {side: anatomy.static_carve_sdf(r.x, r.y) for side, r in lungs.items()}
    base, apex = anatomy.lung_z

    hu = np.empty(grid.shape, dtype=np.float32)
    labels = np.zeros(grid.shape, dtype=np.uint8)
    for k, z in enumerate(grid.axis_mm(2)):
        image = hu[k]
        image[:] = template
        for layer in layers:
            layer.paint(image, k)
        if abs(z - hz) < hc + sz:
            heart_sdf = anatomy.heart_sdf(heart.x, heart.y, z)
            heart.paint(image, edge_fraction(heart_sdf, width), SOFT_TISSUE_HU)
        if not base - sz < z < apex + sz:
            continue
        for side, region in lungs.items():
            outline, dome, wall = anatomy.lung_parts(side, region.x, region.y, z, carve[side])
            inside = np.minimum(edge_fraction(outline, width), edge_fraction(dome, sz))
            lung = np.minimum(inside, 1.0 - edge_fraction(wall, width))
            region.paint(image, lung, lung_hu[side])
            labels[k][region.box][lung >= 0.5] = LUNG_LABELS[side]
    return hu, labels


def _template(grid: AxialGrid, anatomy: ChestAnatomy, width: float) -> np.ndarray:
    """What every slice shares: skin, subcutaneous fat, chest wall, vertebra, canal."""
    s = anatomy.scale
    x, y = grid.slice_coords()
    body = anatomy.body_sdf(x, y)
    image = np.full(grid.shape[1:], AIR_HU, dtype=np.float32)
    paint(image, edge_fraction(body, width), SOFT_TISSUE_HU)
    paint(image, edge_fraction(body + anatomy.skin_mm, width), FAT_HU)
    paint(image, edge_fraction(body + anatomy.skin_mm + anatomy.fat_mm, width), SOFT_TISSUE_HU)
    vy, vr = anatomy.vertebra
    cy, cr = anatomy.canal
    (px, py), (pa, pb) = anatomy.spinous
    spine = _Region(grid, (0.0, (vy - vr + py + pb) / 2), (vr + 2 * s, (py + pb - vy + vr) / 2))
    arch = np.minimum(
        circle_sdf(spine.x, spine.y - cy, cr + 5 * s),
        ellipse_sdf(spine.x - px, spine.y - py, pa, pb),
    )
    for sdf, value in (
        (arch, CORTICAL_BONE_HU),
        (circle_sdf(spine.x, spine.y - cy, cr), CANAL_HU),
        (circle_sdf(spine.x, spine.y - vy, vr), CORTICAL_BONE_HU),
        (circle_sdf(spine.x, spine.y - vy, vr - 2.0 * s), CANCELLOUS_BONE_HU),
    ):
        spine.paint(image, edge_fraction(sdf, width), value)
    return image


def _layers(grid: AxialGrid, anatomy: ChestAnatomy, width: float) -> list[_Layer]:
    """Discs, mediastinal fat, aorta and sternum, each with its z extent."""
    s = anatomy.scale
    z_mm, sz = grid.axis_mm(2), grid.spacing[2]
    base, apex = anatomy.lung_z
    height = apex - base
    layers = []

    vy, vr = anatomy.vertebra
    body = _Region(grid, (0.0, vy), (vr, vr))
    period = anatomy.vertebra_period_mm
    starts = np.arange(np.floor((z_mm[0] - sz) / period), np.ceil((z_mm[-1] + sz) / period) + 1)
    discs = sum(interval_overlap(z_mm, sz, d, d + anatomy.disc_mm) for d in starts * period)
    disc_shape = edge_fraction(circle_sdf(body.x, body.y - vy, vr - 2.0 * s), width)
    layers.append(_Layer(body, disc_shape, DISC_HU, np.asarray(discs)))

    (mx, my), (ma, mb) = anatomy.mediastinal_fat
    (tx, ty), (ta, tb) = anatomy.sternum
    ax, ay, ar = anatomy.aorta
    for (cx, cy), (a, b), value, (z_lo, z_hi) in (
        ((mx, my), (ma, mb), FAT_HU, (base + 0.1 * height, apex - 0.1 * height)),
        ((ax, ay), (ar, ar), SOFT_TISSUE_HU, (base, apex - 0.2 * height)),
        ((tx, ty), (ta, tb), STERNUM_HU, (base + 0.3 * height, apex - 0.12 * height)),
    ):
        region = _Region(grid, (cx, cy), (a, b))
        shape = edge_fraction(ellipse_sdf(region.x - cx, region.y - cy, a, b), width)
        layers.append(_Layer(region, shape, value, interval_overlap(z_mm, sz, z_lo, z_hi)))
    return layers
