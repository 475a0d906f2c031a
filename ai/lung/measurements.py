"""A segmented nodule's numbers: volume, diameters, attenuation, solid part, type.

Axial diameters are calipers on the sub-pixel outline: where a nodule pixel meets a
pixel outside, the edge is placed where the HU crosses the segmentation threshold
(linear interpolation, as marching squares does). Lung-RADS and Fleischner use the
axial slice of largest area: the long axis is its longest diameter, the short axis its extent
perpendicular to it, and the mean diameter their average to 0.1 mm. The 3D long axis is
the longest distance across the nodule, the 3D short axis its least caliper width, both
across voxel centres plus one voxel footprint along the caliper (the half-level
surface lies on average half a footprint beyond the outermost centres on each side).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import ndimage
from scipy.spatial import ConvexHull, QhullError

from ai.lung.nodule_segmentation import NoduleMask
from workstation.model.volume import Volume

NoduleType = Literal["solid", "part-solid", "ground-glass"]
#: Lung-RADS v2022 / Fleischner: the solid component is what is denser than this.
SOLID_THRESHOLD_HU = -300.0
#: A solid component smaller than this (mean diameter) is noise or a vessel, not a core.
MIN_SOLID_CORE_MM = 1.5
#: A nodule whose solid part fills at least this share of its volume is solid.
SOLID_SHARE = 0.5
#: A solid piece counts as the nodule's solid component when it reaches this deep inside
#: the nodule (mm, or this share of the nodule's own depth): vessel stubs at the rim do not.
MIN_SOLID_DEPTH_MM = 1.5
SOLID_DEPTH_SHARE = 0.35
#: Gaussian (pixels) applied to a slice before its outline is traced.
OUTLINE_SMOOTHING_PX = 0.6


@dataclass(frozen=True)
class AxialDiameters:
    """Long and perpendicular short axis on one axial slice, with their end points (LPS)."""

    slice_index: int
    long_mm: float
    short_mm: float
    long_ends_lps: tuple[tuple[float, ...], tuple[float, ...]]
    short_ends_lps: tuple[tuple[float, ...], tuple[float, ...]]

    @property
    def mean_mm(self) -> float:
        return round((self.long_mm + self.short_mm) / 2.0, 1)


@dataclass(frozen=True)
class NoduleMeasurements:
    """Everything measured on one nodule (lengths in mm, volumes in mm³, HU)."""

    center_lps_mm: tuple[float, float, float]
    bbox_lps_mm: tuple[tuple[float, float, float], tuple[float, float, float]]
    volume_mm3: float
    axial: AxialDiameters
    long_axis_3d_mm: float
    short_axis_3d_mm: float
    mean_hu: float
    max_hu: float
    solid_volume_mm3: float
    solid_core_mm: float
    type: NoduleType

    @property
    def long_axis_mm(self) -> float:
        return self.axial.long_mm

    @property
    def short_axis_mm(self) -> float:
        return self.axial.short_mm

    @property
    def mean_diameter_mm(self) -> float:
        return self.axial.mean_mm


def measure_nodule(
    volume: Volume, nodule: NoduleMask, solid_threshold_hu: float = SOLID_THRESHOLD_HU
) -> NoduleMeasurements:
    """Measure a segmented nodule; ``solid_threshold_hu`` defines its solid component."""
    offset = np.array([s.start for s in nodule.box])
    mask = nodule.mask
    hu = volume.voxels[nodule.box].astype(np.float32)
    values = hu[mask]
    voxel_mm3 = volume.voxel_volume_mm3
    indices = np.argwhere(mask) + offset
    centre = volume.index_to_world(indices.mean(axis=0)[::-1])
    solid = solid_component(mask, hu, solid_threshold_hu, volume.spacing, nodule.inscribed_mm)
    solid_volume = float(np.count_nonzero(solid) * voxel_mm3)
    core = _largest_component(solid)
    core_mm = (
        axial_diameters(volume, core, offset, hu, solid_threshold_hu).mean_mm if core.any() else 0.0
    )
    volume_mm3 = float(values.size * voxel_mm3)
    long_3d, short_3d = diameters_3d(volume, indices)
    return NoduleMeasurements(
        center_lps_mm=_point(centre),
        bbox_lps_mm=bounding_box_lps(volume, indices),
        volume_mm3=volume_mm3,
        axial=axial_diameters(volume, mask, offset, hu, nodule.threshold_hu),
        long_axis_3d_mm=long_3d,
        short_axis_3d_mm=short_3d,
        mean_hu=float(values.mean()),
        max_hu=float(values.max()),
        solid_volume_mm3=solid_volume,
        solid_core_mm=core_mm,
        type=nodule_type(solid_volume, volume_mm3, core_mm),
    )


def solid_component(
    mask: np.ndarray,
    hu: np.ndarray,
    threshold_hu: float,
    spacing: tuple[float, float, float],
    inscribed_mm: float,
) -> np.ndarray:
    """The nodule's solid voxels, without the vessel stubs at its rim.

    A vessel entering a ground-glass nodule is dense but shallow: it never reaches the
    nodule's interior, whereas a true solid component (or a solid nodule) does.
    """
    solid = mask & (hu > threshold_hu)
    pieces, count = ndimage.label(solid)
    if count == 0:
        return solid
    depth = ndimage.distance_transform_edt(mask, sampling=(spacing[2], spacing[1], spacing[0]))
    deepest = np.asarray(ndimage.maximum(depth, pieces, np.arange(1, count + 1)))
    needed = max(MIN_SOLID_DEPTH_MM, SOLID_DEPTH_SHARE * inscribed_mm)
    return np.isin(pieces, np.flatnonzero(deepest >= needed) + 1)


def nodule_type(solid_volume_mm3: float, volume_mm3: float, solid_core_mm: float) -> NoduleType:
    """Solid, part-solid or ground-glass from the size of the solid component."""
    if solid_core_mm < MIN_SOLID_CORE_MM:
        return "ground-glass"
    if solid_volume_mm3 >= SOLID_SHARE * volume_mm3:
        return "solid"
    return "part-solid"


def axial_diameters(
    volume: Volume, mask: np.ndarray, offset: np.ndarray, hu: np.ndarray, threshold_hu: float
) -> AxialDiameters:
    """Long and short axis on the axial slice where the mask has the largest area."""
    areas = mask.reshape(mask.shape[0], -1).sum(axis=1)
    k = int(np.argmax(areas))
    sx, sy, _ = volume.spacing
    # a pixel of noise stuck to the outline must not lengthen a caliper: smooth lightly
    outline = mask[k]
    if np.count_nonzero(outline) > 12:
        opened = ndimage.binary_opening(outline)
        outline = opened if opened.any() else outline
    smooth = ndimage.gaussian_filter(hu[k], OUTLINE_SMOOTHING_PX)
    hull = _hull_points(outline_points(outline, smooth, threshold_hu) * [sx, sy])
    distance = np.linalg.norm(hull[:, None] - hull[None], axis=2)
    i, j = np.unravel_index(int(np.argmax(distance)), distance.shape)
    long_mm = float(distance[i, j])
    along = (hull[j] - hull[i]) / long_mm if long_mm > 0 else np.array([1.0, 0.0])
    across = np.array([-along[1], along[0]])
    projection = hull @ across
    short_mm = float(projection.max() - projection.min())
    middle = 0.5 * (hull[i] + hull[j])
    base = middle - across * (middle @ across)
    short_ends = (base + across * projection.min(), base + across * projection.max())
    long_ends = (hull[i], hull[j])
    z = float(k + offset[0])

    def world(point_mm: np.ndarray) -> tuple[float, ...]:
        ijk = np.array([point_mm[0] / sx + offset[2], point_mm[1] / sy + offset[1], z])
        return tuple(float(v) for v in volume.index_to_world(ijk))

    return AxialDiameters(
        slice_index=int(k + offset[0]),
        long_mm=round(long_mm, 2),
        short_mm=round(short_mm, 2),
        long_ends_lps=(world(long_ends[0]), world(long_ends[1])),
        short_ends_lps=(world(short_ends[0]), world(short_ends[1])),
    )


def diameters_3d(volume: Volume, indices_zyx: np.ndarray) -> tuple[float, float]:
    """Longest distance across and least caliper width (mm), footprints included."""
    steps = np.array(volume.spacing)
    points = indices_zyx[:, ::-1] * steps
    try:
        hull = ConvexHull(points, qhull_options="QJ")
        vertices, normals = points[hull.vertices], hull.equations[:, :3]
    except (QhullError, ValueError):  # too few voxels for a hull: the box's own axes
        vertices, normals = points, np.eye(3)
    distance = np.linalg.norm(vertices[:, None] - vertices[None], axis=2)
    i, j = np.unravel_index(int(np.argmax(distance)), distance.shape)
    along = vertices[j] - vertices[i]
    along = along / distance[i, j] if distance[i, j] > 0 else np.array([1.0, 0.0, 0.0])
    longest = float(distance[i, j]) + footprint(along, steps)
    projections = vertices @ normals.T
    widths = projections.max(axis=0) - projections.min(axis=0)
    widths += np.array([footprint(n, steps) for n in normals])
    return round(longest, 2), round(float(widths.min()), 2)


def outline_points(mask: np.ndarray, hu: np.ndarray, threshold_hu: float) -> np.ndarray:
    """Sub-pixel (x, y) index points where the mask's outline crosses the threshold.

    Each pixel edge between a nodule pixel and an outside one gives a point between
    their centres, where linear interpolation of the HU meets the threshold; where the
    outside pixel is bright too (a detached vessel) the point stays half-way.
    """
    padded = np.pad(mask, 1)
    values = np.pad(hu, 1, mode="edge")
    points = []
    for axis in (0, 1):
        inside = np.take(padded, range(padded.shape[axis] - 1), axis=axis)
        after = np.take(padded, range(1, padded.shape[axis]), axis=axis)
        v0 = np.take(values, range(values.shape[axis] - 1), axis=axis)
        v1 = np.take(values, range(1, values.shape[axis]), axis=axis)
        rows, cols = np.nonzero(inside != after)
        a, b = v0[rows, cols], v1[rows, cols]
        from_inside = inside[rows, cols]
        v_in, v_out = np.where(from_inside, a, b), np.where(from_inside, b, a)
        step = np.divide(
            threshold_hu - v_in, v_out - v_in, out=np.full(a.shape, 0.5), where=v_out < v_in
        )
        step = np.clip(step, 0.0, 1.0)
        position = np.where(from_inside, step, 1.0 - step)  # from the lower-index pixel
        if axis == 0:
            points.append(np.stack([cols - 1.0, rows - 1.0 + position], axis=1))
        else:
            points.append(np.stack([cols - 1.0 + position, rows - 1.0], axis=1))
    return np.concatenate(points)


def footprint(direction: np.ndarray, steps: np.ndarray) -> float:
    """A voxel's effective width along a unit direction (its spread there, times √12)."""
    return float(np.sqrt(np.sum((np.asarray(direction) * steps) ** 2)))


def bounding_box_lps(
    volume: Volume, indices_zyx: np.ndarray
) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """LPS box (min corner, max corner) around the voxels' outlines."""
    low = indices_zyx.min(axis=0)[::-1] - 0.5
    high = indices_zyx.max(axis=0)[::-1] + 0.5
    corners = np.array(
        [[a[0], b[1], c[2]] for a in (low, high) for b in (low, high) for c in (low, high)]
    )
    world = volume.index_to_world(corners)
    return _point(world.min(axis=0)), _point(world.max(axis=0))


def _hull_points(points: np.ndarray) -> np.ndarray:
    """The convex hull's vertices; the points themselves when they span no area."""
    try:
        return points[ConvexHull(points).vertices]
    except (QhullError, ValueError):
        return points


def _largest_component(mask: np.ndarray) -> np.ndarray:
    labels, count = ndimage.label(mask)
    if count <= 1:
        return mask
    sizes = ndimage.sum_labels(mask, labels, np.arange(1, count + 1))
    return labels == (int(np.argmax(sizes)) + 1)


def _point(values: np.ndarray) -> tuple[float, float, float]:
    return (float(values[0]), float(values[1]), float(values[2]))
