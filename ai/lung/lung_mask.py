"""Left and right lung masks with the airways taken out and the pleura rolled over.

Steps, on a ~2 mm working grid: air inside the body; the trachea and main bronchi
tracked slice by slice from the top and removed; the remaining large air regions are
the lungs, split left / right at the narrowest bridge if they touch; holes (vessels,
nodules inside the lung) filled per slice; then each lung is closed with a ball of
``roll_radius_mm`` (the rolling-ball of Armato et al.), which puts back every nodule or
mass that bites into the lung from the pleura, so juxtapleural lesions are never cut
out of the search region.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ai.lung.grids import CoarseGrid, box_around
from workstation.model.progress import CancelToken, check
from workstation.model.volume import Volume

#: Label values of :attr:`LungMask.labels` (same as the chest phantom's).
RIGHT, LEFT = 1, 2
SIDE_NAMES = {RIGHT: "right", LEFT: "left"}
AIR_HU = -400.0
#: Working grid step; fine enough for a pleural border, coarse enough to be quick.
WORK_STEP_MM = 2.0
#: Ball rolled over the pleura: lesions up to about twice this radius stay inside.
ROLL_RADIUS_MM = 20.0
#: A trachea cross-section is at most this big (cm²); bigger means lung.
MAX_AIRWAY_AREA_CM2 = 8.0
MIN_LUNG_ML = 30.0
#: Holes in one slice up to this area (cm², a vessel seen end-on) count as lung.
MAX_SLICE_HOLE_CM2 = 2.5
#: The native-resolution pleura may lie this far beyond the working grid's (mm).
PLEURA_REFINE_MM = 3.0
#: The chest around the nodule that the redrawing looks at, beyond its reach, as a share
#: of the ball's radius (beyond it, no air is assumed: the ball may come in from there).
PLEURA_MARGIN_SHARE = 1.0


@dataclass
class LungMask:
    """Lung labels on the native grid plus the coarse maps they came from."""

    #: 0 outside, 1 right lung, 2 left lung; the rolled (closed) lungs: the search region.
    labels: np.ndarray
    #: Coarse-grid aerated lung without the rolling (parenchyma only), and airways.
    coarse_lungs: np.ndarray
    coarse_airways: np.ndarray
    grid: CoarseGrid

    @property
    def found(self) -> bool:
        return bool(self.coarse_lungs.any())

    def volume_ml(self, label: int) -> float:
        sx, sy, sz = self.grid.spacing
        return float(np.count_nonzero(self.coarse_lungs == label) * sx * sy * sz / 1000.0)


def segment_lungs(
    volume: Volume,
    roll_radius_mm: float = ROLL_RADIUS_MM,
    cancel: CancelToken | None = None,
) -> LungMask:
    """Lung labels of a chest CT in HU (``volume.voxels`` ``[z, y, x]``)."""
    grid = CoarseGrid.for_step(volume.shape_zyx, volume.spacing, WORK_STEP_MM)
    hu = grid.downsample(volume.voxels)
    air = hu < AIR_HU
    body = _body(air)
    inside_air = air & body
    check(cancel)
    superior_first = _superior_first(volume)
    airways = _track_airways(inside_air, body, grid, superior_first)
    check(cancel)
    lungs = _label_lungs(inside_air & ~ndimage.binary_dilation(airways), grid, volume)
    check(cancel)
    rolled = np.zeros_like(lungs)
    for label in (RIGHT, LEFT):
        mask = lungs == label
        if mask.any():
            filled = _fill_holes(mask, grid)
            closed = _fill_holes(_close(filled, roll_radius_mm, grid), grid) & body
            rolled[closed & (rolled == 0)] = label
    rolled[airways] = 0
    check(cancel)
    return LungMask(grid.upsample(rolled), lungs, airways, grid)


def _body(air: np.ndarray) -> np.ndarray:
    """Everything not connected to the air at the in-plane border of any slice."""
    labels, _ = ndimage.label(air)
    border = np.concatenate([labels[:, [0, -1], :].ravel(), labels[:, :, [0, -1]].ravel()])
    outside = np.isin(labels, np.unique(border[border > 0]))
    return ~outside


def _superior_first(volume: Volume) -> bool:
    """Whether slice index 0 is the most superior (head) end."""
    return bool(volume.direction[2, 2] * volume.spacing[2] < 0)


def _track_airways(
    inside_air: np.ndarray, body: np.ndarray, grid: CoarseGrid, superior_first: bool
) -> np.ndarray:
    """Trachea and main bronchi: followed down from the top while they stay tube-sized."""
    sx, sy, _ = grid.spacing
    pixel_cm2 = sx * sy / 100.0
    max_pixels = MAX_AIRWAY_AREA_CM2 / pixel_cm2
    order = range(inside_air.shape[0]) if superior_first else range(inside_air.shape[0] - 1, -1, -1)
    airways = np.zeros_like(inside_air)
    previous: np.ndarray | None = None
    for k in order:
        labels, count = ndimage.label(inside_air[k])
        if count == 0:
            if previous is not None:
                break
            continue
        areas = ndimage.sum_labels(np.ones_like(labels), labels, np.arange(1, count + 1))
        if previous is None:
            seed = _trachea_seed(labels, areas, body[k], sx, max_pixels)
            if seed is None:
                if areas.max() > 3 * max_pixels:  # already into the lungs without a trachea
                    break
                continue
            keep = [seed]
        else:
            touching = np.unique(labels[ndimage.binary_dilation(previous) & (labels > 0)])
            keep = [int(t) for t in touching if areas[t - 1] <= max_pixels]
            if not keep:
                break
        current = np.isin(labels, keep)
        airways[k] = current
        previous = current
    return airways


def _trachea_seed(
    labels: np.ndarray, areas: np.ndarray, body: np.ndarray, sx: float, max_pixels: float
) -> int | None:
    """The tube-sized air region nearest the body's midline, if one is close to it."""
    columns = np.nonzero(body.any(axis=0))[0]
    if columns.size == 0:
        return None
    midline = 0.5 * (columns[0] + columns[-1])
    centres = ndimage.center_of_mass(np.ones_like(labels), labels, np.arange(1, len(areas) + 1))
    best, best_gap = None, 25.0  # mm
    for index, (area, (_, cx)) in enumerate(zip(areas, centres, strict=True), start=1):
        gap = abs(cx - midline) * sx
        if 2 <= area <= max_pixels and gap < best_gap:
            best, best_gap = index, gap
    return best


def _label_lungs(air: np.ndarray, grid: CoarseGrid, volume: Volume) -> np.ndarray:
    """Right (1) and left (2) lung from the large air regions, split if they touch."""
    labels, count = ndimage.label(air)
    if count == 0:
        return np.zeros(air.shape, np.uint8)
    sizes = ndimage.sum_labels(np.ones_like(labels), labels, np.arange(1, count + 1))
    voxel_ml = float(np.prod(grid.spacing)) / 1000.0
    big = [i + 1 for i in np.argsort(sizes)[::-1] if sizes[i] * voxel_ml >= MIN_LUNG_ML]
    big = [i for i in big if sizes[i - 1] >= 0.1 * sizes[big[0] - 1]][:2]
    out = np.zeros(air.shape, np.uint8)
    if len(big) == 1:
        parts = _split_in_two(labels == big[0])
    else:
        parts = [labels == big[0], labels == big[1]]
    for part in parts:
        if part.any():
            out[part] = _side_of(part, grid, volume)
    return out


def _split_in_two(mask: np.ndarray) -> list[np.ndarray]:
    """Two lungs joined at a thin bridge: erode until they part, then regrow each."""
    structure = ndimage.generate_binary_structure(3, 1)
    structure[0] = structure[2] = False  # erode in-plane only: bridges are in-plane
    eroded = mask
    for _ in range(12):
        eroded = ndimage.binary_erosion(eroded, structure)
        labels, count = ndimage.label(eroded)
        if count >= 2:
            sizes = ndimage.sum_labels(np.ones_like(labels), labels, np.arange(1, count + 1))
            first, second = np.argsort(sizes)[::-1][:2] + 1
            if sizes[second - 1] >= 0.1 * sizes[first - 1]:
                seeds = np.where(labels == first, 1, np.where(labels == second, 2, 0))
                _, nearest = ndimage.distance_transform_edt(seeds == 0, return_indices=True)
                grown = seeds[tuple(nearest)] * mask
                return [grown == 1, grown == 2]
    return [mask]


def _side_of(part: np.ndarray, grid: CoarseGrid, volume: Volume) -> int:
    """Right or left from the LPS x of the part's centre relative to the body centre."""
    centre = grid.to_native_index(np.array(ndimage.center_of_mass(part)))
    world = volume.index_to_world(centre[::-1])
    middle = volume.index_to_world((np.array(volume.shape_zyx[::-1]) - 1) / 2.0)
    return LEFT if world[0] > middle[0] else RIGHT


def _fill_holes(mask: np.ndarray, grid: CoarseGrid) -> np.ndarray:
    """Fill cavities enclosed in 3D (nodules) and per-slice holes of vessel size.

    Per-slice holes are stacked and labelled in 3D: a stack that is wide somewhere is
    not lung. That keeps out the diaphragm's dome, whose axial cuts show the liver as
    an island inside the lung, small at the top and growing towards the feet.
    """
    filled = ndimage.binary_fill_holes(mask)
    holes = _slice_holes(filled)
    stacks, count = ndimage.label(holes)
    if count == 0:
        return filled
    sx, sy, _ = grid.spacing
    largest = MAX_SLICE_HOLE_CM2 * 100.0 / (sx * sy)
    per_slice = stacks.reshape(stacks.shape[0], -1)
    widest = np.zeros(count + 1)
    for plane in per_slice:
        np.maximum(widest, np.bincount(plane, minlength=count + 1), out=widest)
    small = np.flatnonzero(widest[1:] <= largest) + 1
    return filled | np.isin(stacks, small)


def _slice_holes(mask: np.ndarray) -> np.ndarray:
    """Background enclosed by the mask within each axial slice (one labelling for all)."""
    in_plane = np.zeros((3, 3, 3), dtype=bool)
    in_plane[1] = ndimage.generate_binary_structure(2, 1)
    background, _ = ndimage.label(~mask, structure=in_plane)
    edges = np.concatenate([background[:, [0, -1], :].ravel(), background[:, :, [0, -1]].ravel()])
    return (background > 0) & ~np.isin(background, np.unique(edges))


def _close(mask: np.ndarray, radius_mm: float, grid: CoarseGrid) -> np.ndarray:
    """Closing with a ball in mm, on the mask's bounding box plus the ball's reach."""
    pad = [int(np.ceil(radius_mm / s)) + 1 for s in grid.spacing_zyx]
    box = ndimage.find_objects(mask.astype(np.uint8))[0]
    window = tuple(
        slice(max(0, b.start - p), min(n, b.stop + p))
        for b, p, n in zip(box, pad, mask.shape, strict=True)
    )
    out = mask.copy()
    out[window] |= _close_in_box(mask[window], radius_mm, grid.spacing_zyx)
    return out


def refine_pleura(
    volume: Volume,
    labels: np.ndarray,
    center_zyx: tuple[float, float, float],
    reach_mm: float,
    roll_radius_mm: float = ROLL_RADIUS_MM,
) -> None:
    """Redraw the pleura at native resolution around a nodule, in ``labels`` (in place).

    The ~2 mm working grid puts the pleura up to a couple of millimetres inside the lung,
    which shaves the base off a juxtapleural nodule. Here the lung's air near the point
    is closed with the same rolling ball on the scan's own grid: the ball cannot enter
    the nodule, so its base is kept up to the true pleural line and its cap in the chest
    wall (indistinguishable from the wall) stays out. Only tissue within
    :data:`PLEURA_REFINE_MM` of the lung is added; nothing is taken away. Free nodules,
    whose surroundings are all lung, are left as they are.
    """
    steps = (volume.spacing[2], volume.spacing[1], volume.spacing[0])
    near_box = box_around(volume, center_zyx, reach_mm, min_voxels=0.0)
    if (labels[near_box] > 0).all():
        return
    margin = reach_mm + PLEURA_REFINE_MM + PLEURA_MARGIN_SHARE * roll_radius_mm
    box = box_around(volume, center_zyx, margin, min_voxels=0.0)
    region = labels[box]
    inside = region[region > 0]
    if inside.size == 0:
        return
    side = int(np.bincount(inside).argmax())
    lung = region == side
    near = ndimage.distance_transform_edt(~lung, sampling=steps) <= PLEURA_REFINE_MM
    hu = volume.voxels[box]
    closed = _close_in_box(near & (hu < AIR_HU), roll_radius_mm, steps)
    region[closed & near & (region == 0) & (hu >= AIR_HU)] = side


def _close_in_box(
    mask: np.ndarray, radius_mm: float, steps: tuple[float, float, float]
) -> np.ndarray:
    """Closing with a Euclidean ball in mm via two distance transforms, as if no air lay
    beyond the box: the ball may roll in from any side (past the scan's first and last
    slice too), and only the mask inside the box stops it."""
    pad = [int(np.ceil(radius_mm / s)) + 1 for s in steps]
    local = np.pad(mask, [(p, p) for p in pad])
    grown = ndimage.distance_transform_edt(~local, sampling=steps) <= radius_mm
    closed = ndimage.distance_transform_edt(grown, sampling=steps) > radius_mm
    return closed[tuple(slice(p, p + n) for p, n in zip(pad, mask.shape, strict=True))]
