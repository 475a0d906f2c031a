"""One nodule's voxels: a half-level threshold, grown from the centre, vessels cut off.

Partial volume makes a nodule's edge a ramp from the lung's HU to the nodule's; the
surface sits where the ramp is half-way, so thresholding at the mean of the local lung
and the nodule's own plateau keeps the volume unbiased for any size and slice
thickness. The plateau is the nodule's outer layer: ground glass for ground-glass and
part-solid nodules (so the whole lesion is measured), soft tissue for solid ones.

Vessels touching the nodule are cut off by a morphological opening at the nodule's
scale (a ball of ``DETACH_FRACTION`` × its radius, through distance transforms, in mm):
strands thinner than the ball vanish, the nodule survives, and the surface detail the
opening removed is grown back inside the threshold mask. The region never leaves the
(rolled) lung mask, so a juxtapleural nodule stops at the pleura.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ai.lung.grids import box_around
from workstation.model.volume import Volume

#: Ball radius of the vessel-detaching opening, as a fraction of the nodule's inscribed
#: radius (the depth of its centre): vessels thinner than that come off.
DETACH_FRACTION = 0.6
DETACH_RANGE_MM = (1.0, 8.0)
#: Voxels at least this far above the local lung are part of some lesion (ground glass).
LESION_LIFT_HU = 100.0
#: A ground-glass layer at least this many times the solid volume is the lesion's edge.
GLASS_VOLUME_RATIO = 3.0
GGO_RANGE_HU = (-750.0, -300.0)
DEFAULT_LUNG_HU = -850.0
#: A box that still cuts the nodule is doubled at most this many times (10 mm -> 80 mm),
#: and only while the nodule's depth is at least this share of the box's half width.
MAX_BOX_GROWTH = 4
GROWTH_DEPTH_SHARE = 0.25
#: Nothing belongs to a nodule further from its centre than this many inscribed radii
#: (an ellipsoid 1.75:1 reaches 1.75; lobulated and spiculated edges a little more).
REACH_PER_DEPTH = 2.5
MAX_CLIMB_STEPS = 20


@dataclass
class NoduleMask:
    """A nodule's voxels inside a box of the scan, and the levels that made them."""

    box: tuple[slice, slice, slice]  # native (z, y, x) index ranges
    mask: np.ndarray  # bool, shape of the box
    lung_hu: float
    level_hu: float
    threshold_hu: float
    inscribed_mm: float = 0.0  # depth of the nodule's centre: its inscribed radius

    @property
    def voxel_count(self) -> int:
        return int(np.count_nonzero(self.mask))

    def indices_zyx(self) -> np.ndarray:
        """Native (z, y, x) indices of the nodule's voxels, (n, 3)."""
        offset = np.array([s.start for s in self.box])
        return np.argwhere(self.mask) + offset


def segment_nodule(
    volume: Volume,
    lung_labels: np.ndarray,
    center_zyx: tuple[float, float, float],
    radius_mm: float,
) -> NoduleMask | None:
    """Segment the nodule around a candidate centre; None when nothing stands out there.

    The box around the centre grows while the nodule reaches its faces (a candidate's
    scale can underestimate a large mass).
    """
    half_mm = radius_mm + max(radius_mm, 10.0)
    for _ in range(MAX_BOX_GROWTH):
        box = box_around(volume, center_zyx, half_mm)
        found = _segment_in_box(volume, lung_labels, box, center_zyx, radius_mm)
        if found is None or not _touches_faces(found, volume.shape_zyx):
            return found
        if found.inscribed_mm < GROWTH_DEPTH_SHARE * half_mm:
            return found  # a thin thing running off: not a big nodule to follow
        half_mm *= 2.0
    return found


def _touches_faces(nodule: NoduleMask, shape: tuple[int, int, int]) -> bool:
    """Whether the mask reaches a face of its box that is not the scan's own edge."""
    mask = nodule.mask
    for axis, (cut, size) in enumerate(zip(nodule.box, shape, strict=True)):
        first, last = np.take(mask, 0, axis=axis), np.take(mask, -1, axis=axis)
        if (cut.start > 0 and first.any()) or (cut.stop < size and last.any()):
            return True
    return False


def _segment_in_box(
    volume: Volume,
    lung_labels: np.ndarray,
    box: tuple[slice, slice, slice],
    center_zyx: tuple[float, float, float],
    radius_mm: float,
) -> NoduleMask | None:
    hu = volume.voxels[box].astype(np.float32)
    lungs = lung_labels[box] > 0
    spacing = (volume.spacing[2], volume.spacing[1], volume.spacing[0])
    aerated = hu[lungs & (hu < -700)]
    lung_hu = float(np.clip(np.median(aerated), -950, -750)) if aerated.size else DEFAULT_LUNG_HU
    seed = _seed(hu, center_zyx, box, radius_mm, spacing, lung_hu + LESION_LIFT_HU)
    if seed is None:
        return None
    lesion = lungs & (hu > lung_hu + LESION_LIFT_HU)
    first = _detached(lesion, seed, DETACH_RANGE_MM[0], spacing)
    if first is None:
        return None
    depth = ndimage.distance_transform_edt(first, sampling=spacing)
    seed = _deepest(depth, seed, spacing)
    inscribed = float(depth[seed])
    rho = float(np.clip(DETACH_FRACTION * inscribed, *DETACH_RANGE_MM))
    first = _detached(lesion, seed, rho, spacing)
    if first is None:
        return None
    # the nodule's own level, away from whatever it touches (vessels, heart, chest wall)
    own = first & _ball(hu.shape, seed, 1.5 * inscribed + max(spacing), spacing)
    level = _plateau(hu[own], lung_hu)
    threshold = 0.5 * (lung_hu + level)
    if hu[seed] <= threshold:  # a ground-glass nodule against something solid
        level = _glass_level(hu[own], level)
        threshold = 0.5 * (lung_hu + level)
    region = _detached(lungs & (hu > threshold), seed, rho, spacing)
    if region is None:
        return None
    # nodules are compact: nothing further from the centre than a few times its depth
    region &= _ball(hu.shape, seed, REACH_PER_DEPTH * inscribed + max(spacing), spacing)
    return NoduleMask(box, region, lung_hu, level, threshold, inscribed)


def _seed(
    hu: np.ndarray,
    center_zyx: tuple[float, float, float],
    box: tuple[slice, slice, slice],
    radius_mm: float,
    spacing: tuple[float, float, float],
    floor_hu: float,
) -> tuple[int, int, int] | None:
    """The centre voxel, or the brightest voxel within half a radius when the centre is dim."""
    local = np.clip(
        np.rint(np.subtract(center_zyx, [s.start for s in box])).astype(int),
        0,
        np.array(hu.shape) - 1,
    )
    if hu[tuple(local)] > floor_hu:
        return tuple(int(i) for i in local)  # type: ignore[return-value]
    grid = np.indices(hu.shape, dtype=np.float32)
    distance = np.sqrt(
        sum(((grid[a] - local[a]) * spacing[a]) ** 2 for a in range(3))  # type: ignore[arg-type]
    )
    near = distance <= max(0.5 * radius_mm, 1.5 * max(spacing[1:]))
    if not np.any(near & (hu > floor_hu)):
        return None
    smoothed = ndimage.uniform_filter(hu, size=(1, 3, 3))
    index = np.argmax(np.where(near, smoothed, -np.inf))
    return tuple(int(i) for i in np.unravel_index(index, hu.shape))  # type: ignore[return-value]


def _detached(
    mask: np.ndarray, seed: tuple[int, int, int], rho_mm: float, spacing: tuple[float, float, float]
) -> np.ndarray | None:
    """The seed's connected region after an opening of radius ``rho_mm`` cut thin attachments."""
    if not mask[seed]:
        return None
    labels, _ = ndimage.label(mask)
    region = labels == labels[seed]
    core = ndimage.distance_transform_edt(region, sampling=spacing) > rho_mm
    core_labels, count = ndimage.label(core)
    if count == 0:  # smaller than the ball: nothing to detach from
        return region
    if core_labels[seed]:
        chosen = core_labels == core_labels[seed]
    else:  # the seed sat in the part the erosion removed: take the nearest core piece
        _, nearest = ndimage.distance_transform_edt(
            core_labels == 0, sampling=spacing, return_indices=True
        )
        chosen = core_labels == core_labels[tuple(nearest[:, seed[0], seed[1], seed[2]])]
    reach = rho_mm + 0.5 * float(np.linalg.norm(spacing))
    grown = ndimage.distance_transform_edt(~chosen, sampling=spacing) <= reach
    grown &= region
    labels, _ = ndimage.label(grown)
    return labels == labels[seed] if labels[seed] else grown


def _deepest(
    depth: np.ndarray, seed: tuple[int, int, int], spacing: tuple[float, float, float]
) -> tuple[int, int, int]:
    """Climb the distance map from the seed to the nodule's deepest point, its centre.

    A candidate may sit on a nodule's flank (a small-scale blob on its edge); the
    nodule's depth at its centre sets the scale of everything that follows.
    """
    for _ in range(MAX_CLIMB_STEPS):
        near = _ball(depth.shape, seed, float(depth[seed]) + 1.5 * max(spacing), spacing)
        best = np.unravel_index(int(np.argmax(np.where(near, depth, -1.0))), depth.shape)
        if depth[best] <= depth[seed] + 1e-6:
            break
        seed = tuple(int(i) for i in best)  # type: ignore[assignment]
    return seed


def _ball(
    shape: tuple[int, ...],
    centre: tuple[int, int, int],
    radius_mm: float,
    spacing: tuple[float, float, float],
) -> np.ndarray:
    """Voxels within ``radius_mm`` of a voxel (an ellipsoid in index space)."""
    axes = [((np.arange(n) - c) * s) ** 2 for n, c, s in zip(shape, centre, spacing, strict=True)]
    return (
        axes[0][:, None, None] + axes[1][None, :, None] + axes[2][None, None, :]
    ) <= radius_mm**2


def _plateau(values: np.ndarray, lung_hu: float) -> float:
    """The HU of the nodule's outer layer: ground glass if it has one, else solid tissue.

    A ground-glass layer is real when thresholding half-way to it gives a much larger
    lesion than thresholding half-way to the solid level (a part-solid core is at most
    ~60 % of the diameter, so ≥ 4.6x the volume); the partial-volume ramp of a solid
    nodule alone never does that.
    """
    low, high = GGO_RANGE_HU
    glass = values[(values > low) & (values <= high)]
    peak = float(np.percentile(values, 90))
    if peak <= high:  # no solid tissue at all
        return float(np.median(glass)) if glass.size else peak
    if glass.size == 0:
        return peak
    glass_level = float(np.median(glass))
    with_glass = np.count_nonzero(values > 0.5 * (lung_hu + glass_level))
    solid_only = np.count_nonzero(values > 0.5 * (lung_hu + peak))
    return glass_level if with_glass >= GLASS_VOLUME_RATIO * max(solid_only, 1) else peak


def _glass_level(values: np.ndarray, fallback: float) -> float:
    low, high = GGO_RANGE_HU
    glass = values[(values > low) & (values <= high)]
    return float(np.median(glass)) if glass.size else fallback
