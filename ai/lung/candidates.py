"""Nodule candidates: bright blobs inside the lungs, found by a multi-scale LoG in mm.

The scale-normalised Laplacian of Gaussian, ``-σ² ΔG_σ * I``, peaks at the centre of
a sphere of radius ``r ≈ √3 σ`` with a height proportional to its contrast, whatever
its size; so one threshold (in HU) serves 4 mm nodules and 5 cm masses alike. Each
scale runs on its own pyramid level (block means about 1.2 σ wide), which keeps the
large scales cheap. A Hessian eigenvalue ratio at each maximum then drops tubes
(vessels), which the LoG alone cannot tell from blobs.

Slices are treated as what they are: the blur a thick slice already carries along z
(its box profile, ``thickness/√12``) is subtracted from the blur the scale asks for,
and where little blur is left the z derivative is a plain finite difference, so
0.6 mm and 8 mm slices give comparable responses.

Sensitivity is the goal here: ground glass (≈250 HU above lung) and juxtapleural
nodules must pass, so vessel crossings pass too; the network sorts them out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from ai.lung.grids import CoarseGrid
from workstation.model.progress import CancelToken, check
from workstation.model.volume import Volume

#: Blob scales σ (mm): sphere diameters 2√3σ from about 3.5 mm to 55 mm.
SCALES_MM = (1.0, 1.41, 2.0, 2.83, 4.0, 5.66, 8.0, 11.3, 16.0)
#: Least scale-normalised response (HU-like units) of a candidate. A 6 mm ground-glass
#: nodule straddling two 5 mm slices (~85) is the faintest thing we must keep.
MIN_RESPONSE = 70.0
#: Least blobness: tubes (vessels, ~0.1) go, nodules (≥ 0.49 on phantoms, also on the
#: pleura and on thick slices) stay.
MIN_BLOBNESS = 0.45
MAX_CANDIDATES = 3000
#: Air and bone outside the expected range are clipped, so ribs do not ring into the lung.
HU_RANGE = (-1000.0, 200.0)
#: Slices thicker than this many σ give no usable z curvature: blobness is judged in-plane.
IN_PLANE_RATIO = 2.5
#: Pyramid block width per scale, in units of σ (rounded to a power of two in voxels).
LEVEL_STEP = 0.85


@dataclass(frozen=True)
class Candidate:
    """One blob: where, how big and how strong."""

    center_zyx: tuple[float, float, float]  # native continuous voxel index
    radius_mm: float  # √3 σ of the scale it was found at
    response: float  # scale-normalised LoG, HU-like
    blobness: float = 1.0  # Hessian eigenvalue ratio: 1 ball, 0 tube
    #: Found as a mass (``ai.lung.masses``): reported whatever the network scores.
    mass: bool = False

    @property
    def score(self) -> float:
        """Ranking: strong and round first."""
        return self.response * self.blobness


def detect_candidates(
    volume: Volume,
    lung_labels: np.ndarray,
    scales_mm: tuple[float, ...] = SCALES_MM,
    min_response: float = MIN_RESPONSE,
    max_candidates: int = MAX_CANDIDATES,
    cancel: CancelToken | None = None,
) -> list[Candidate]:
    """Blob candidates inside ``lung_labels`` (> 0), strongest first, after scale-space NMS."""
    box = _bounding_box(lung_labels, volume.spacing, max(scales_mm) * 2.0)
    if box is None:
        return []
    hu = np.clip(volume.voxels[box], *HU_RANGE).astype(np.float32)
    labels = lung_labels[box]
    offset = np.array([s.start for s in box], dtype=float)
    found: list[Candidate] = []
    levels = _Pyramid(hu, labels > 0, volume.spacing)
    for sigma in scales_mm:
        check(cancel)
        found += _scale_maxima(levels, sigma, min_response, offset)
    return _suppress(found, volume.spacing, max_candidates)


def _bounding_box(
    labels: np.ndarray, spacing: tuple[float, float, float], margin_mm: float
) -> tuple[slice, slice, slice] | None:
    objects = ndimage.find_objects((labels > 0).astype(np.uint8))
    if not objects or objects[0] is None:
        return None
    sx, sy, sz = spacing
    pads = [int(np.ceil(margin_mm / s)) for s in (sz, sy, sx)]
    return tuple(
        slice(max(0, b.start - p), min(n, b.stop + p))
        for b, p, n in zip(objects[0], pads, labels.shape, strict=True)
    )  # type: ignore[return-value]


class _Pyramid:
    """Block-mean levels of the HU box and the lung mask, with power-of-two block sizes.

    Each level is made from the one with half its block size, so the whole pyramid
    costs about one pass over the native box.
    """

    def __init__(self, hu: np.ndarray, inside: np.ndarray, spacing: tuple[float, float, float]):
        self.spacing = spacing
        base = CoarseGrid((1, 1, 1), hu.shape, spacing)  # type: ignore[arg-type]
        self._levels: dict[tuple[int, ...], tuple[CoarseGrid, np.ndarray, np.ndarray]] = {
            (1, 1, 1): (base, hu, inside)
        }

    def level(self, sigma: float) -> tuple[CoarseGrid, np.ndarray, np.ndarray]:
        """The level whose blocks are about ``LEVEL_STEP``⁻¹ σ wide on every axis."""
        sx, sy, sz = self.spacing
        factors = tuple(2 ** max(0, round(np.log2(sigma / (LEVEL_STEP * s)))) for s in (sz, sy, sx))
        return self._get(factors)

    def _get(self, factors: tuple[int, ...]) -> tuple[CoarseGrid, np.ndarray, np.ndarray]:
        if factors not in self._levels:
            parent_factors = tuple(max(1, f // 2) for f in factors)
            _, hu, inside = self._get(parent_factors)
            step = tuple(f // p for f, p in zip(factors, parent_factors, strict=True))
            parent_spacing = tuple(  # (sx, sy, sz) of the parent level
                s * p for s, p in zip(self.spacing, parent_factors[::-1], strict=True)
            )
            coarse = CoarseGrid(step, hu.shape, parent_spacing)  # type: ignore[arg-type]
            grid = CoarseGrid(factors, self._levels[(1, 1, 1)][0].native_shape, self.spacing)  # type: ignore[arg-type]
            self._levels[factors] = (grid, coarse.downsample(hu), coarse.downsample(inside) >= 0.5)
        return self._levels[factors]


def _scale_maxima(
    levels: _Pyramid, sigma: float, min_response: float, offset: np.ndarray
) -> list[Candidate]:
    """Round local maxima of the normalised LoG at one scale, on that scale's level."""
    grid, level, inside = levels.level(sigma)
    response, smooth = normalised_log(level, grid.spacing, sigma)
    peaks = (response >= min_response) & inside
    peaks &= response == ndimage.maximum_filter(response, size=3, mode="nearest")
    points = np.argwhere(peaks)
    in_plane = levels.spacing[2] > IN_PLANE_RATIO * sigma
    round_enough = blobness(smooth, points, grid.spacing, in_plane)
    keep = round_enough >= MIN_BLOBNESS
    points, round_enough = points[keep], round_enough[keep]
    values = response[tuple(points.T)]
    radius = float(np.sqrt(3.0) * sigma)
    native = grid.to_native_index(_recentre(points, level, inside, radius, grid.spacing)) + offset
    return [
        Candidate((float(p[0]), float(p[1]), float(p[2])), radius, float(v), float(b))
        for p, v, b in zip(native, values, round_enough, strict=True)
    ]


def _recentre(
    points: np.ndarray,
    level: np.ndarray,
    inside: np.ndarray,
    radius_mm: float,
    spacing: tuple[float, float, float],
) -> np.ndarray:
    """Each maximum moved to the density centroid of the lung tissue within the radius.

    A pyramid level's blocks are about a scale wide, so its maxima can sit half a block
    off; one mean-shift step on the level brings them back (the chest wall, outside the
    lung mask, does not pull a juxtapleural nodule's centre towards it).
    """
    steps = np.array([spacing[2], spacing[1], spacing[0]])
    reach = np.ceil(radius_mm / steps).astype(int)
    weight_map = np.clip(level - (HU_RANGE[0] + 150.0), 0.0, None) * inside
    moved = points.astype(float)
    for n, point in enumerate(points):
        low = np.maximum(point - reach, 0)
        high = np.minimum(point + reach + 1, level.shape)
        axes = [np.arange(a, b) for a, b in zip(low, high, strict=True)]
        grid = np.meshgrid(*axes, indexing="ij")
        near = sum(((g - c) * s) ** 2 for g, c, s in zip(grid, point, steps, strict=True))
        weight = weight_map[tuple(slice(a, b) for a, b in zip(low, high, strict=True))]
        weight = weight * (near <= radius_mm**2)
        total = weight.sum()
        if total > 0:
            moved[n] = [(g * weight).sum() / total for g in grid]
    return moved


def blobness(
    smooth: np.ndarray, points: np.ndarray, spacing: tuple[float, float, float], in_plane: bool
) -> np.ndarray:
    """Smallest over largest Hessian eigenvalue magnitude at ``points`` (1 ball, 0 tube).

    Zero where the image is not concave in every direction (not a bright blob). On
    slices much thicker than the scale only the in-plane Hessian is trusted.
    """
    steps = np.array([spacing[2], spacing[1], spacing[0]], dtype=float)
    padded = np.pad(smooth, 1, mode="edge")
    if len(points) == 0:
        return np.zeros(0)
    p = points + 1
    hessian = np.zeros((len(points), 3, 3))
    for a in range(3):
        for b in range(a, 3):
            if a == b:
                up, down = p.copy(), p.copy()
                up[:, a] += 1
                down[:, a] -= 1
                value = padded[tuple(up.T)] - 2 * padded[tuple(p.T)] + padded[tuple(down.T)]
                value = value / steps[a] ** 2
            else:
                value = 0.0
                for da, db, sign in ((1, 1, 1), (1, -1, -1), (-1, 1, -1), (-1, -1, 1)):
                    q = p.copy()
                    q[:, a] += da
                    q[:, b] += db
                    value = value + sign * padded[tuple(q.T)]
                value = value / (4 * steps[a] * steps[b])
            hessian[:, a, b] = hessian[:, b, a] = value
    if in_plane:
        hessian = hessian[:, 1:, 1:]
    eig = np.linalg.eigvalsh(hessian)  # ascending: most negative first
    concave = eig.max(axis=1) < 0
    ratio = np.abs(eig.max(axis=1)) / np.maximum(np.abs(eig.min(axis=1)), 1e-6)
    return np.where(concave, ratio, 0.0)


def normalised_log(
    image: np.ndarray, spacing: tuple[float, float, float], sigma_mm: float
) -> tuple[np.ndarray, np.ndarray]:
    """``-σ² ΔG_σ * image`` in image units; positive at bright blobs (anisotropy aware).

    Each axis is blurred by what the scale asks for beyond what is blurred anyway: the
    voxels (boxes ``step`` wide, variance step²/12) and the central difference that
    takes the Laplacian (a triangle, variance step²/6). Differences stay sound where
    hardly any blur is left (thick slices).
    """
    steps = (spacing[2], spacing[1], spacing[0])  # along z, y, x
    blur = [max(sigma_mm**2 - step**2 / 4.0, 0.0) ** 0.5 / step for step in steps]
    smooth = ndimage.gaussian_filter(
        image.astype(np.float32, copy=False), [b if b >= 0.3 else 0.0 for b in blur], mode="nearest"
    )
    total = np.zeros(image.shape, dtype=np.float32)
    stencil = np.array([1.0, -2.0, 1.0], dtype=np.float32)
    for axis, step in enumerate(steps):
        if image.shape[axis] >= 3:
            total += ndimage.correlate1d(smooth, stencil, axis=axis, mode="nearest") / np.float32(
                step * step
            )
    total *= np.float32(-(sigma_mm**2))
    return total, smooth


def _suppress(
    found: list[Candidate], spacing: tuple[float, float, float], limit: int
) -> list[Candidate]:
    """Keep the strongest blob where two describe the same one (closer than the smaller radius).

    The smaller radius, not the larger: a vessel crossing inside a large ground-glass
    nodule must not silence the nodule, nor the nodule the crossing.
    """
    if not found:
        return []
    found = sorted(found, key=lambda c: -c.score)
    scale = np.array([spacing[2], spacing[1], spacing[0]])
    positions = np.array([c.center_zyx for c in found]) * scale
    radii = np.array([c.radius_mm for c in found])
    tree = cKDTree(positions)
    suppressed = np.zeros(len(found), dtype=bool)
    kept: list[Candidate] = []
    for i, candidate in enumerate(found):
        if suppressed[i]:
            continue
        kept.append(candidate)
        if len(kept) >= limit:
            break
        near = np.asarray(tree.query_ball_point(positions[i], radii[i]), dtype=int)
        near = near[near > i]
        if len(near):
            distance = np.linalg.norm(positions[near] - positions[i], axis=1)
            suppressed[near[distance < np.minimum(radii[near], radii[i])]] = True
    return kept
