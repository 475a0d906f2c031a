"""Follow-up against a prior CT: rigid registration, nodule matching, growth, VDT.

The prior is registered onto the current scan with SimpleITK (rigid Euler transform,
Mattes mutual information on ~4 mm copies clipped to the lung window, initialised by
the centres of mass), then each prior nodule's centre is mapped into the current scan
and paired with the nearest current nodule within reach. Volume doubling time is
``VDT = Δt · ln 2 / ln(V2 / V1)`` with Δt from the two study dates.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ai.lung.grids import CoarseGrid
from workstation.model.volume import Volume

#: Centres at most this far apart (mm, after registration) may be the same nodule...
MATCH_MM = 10.0
#: ...or up to this share of their mean diameters, for large ones.
MATCH_DIAMETER_SHARE = 0.75
REGISTRATION_STEP_MM = 4.0
HU_WINDOW = (-1000.0, 200.0)

PointMap = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Registration:
    """Maps prior LPS points into the current scan."""

    prior_to_current: PointMap
    parameters: tuple[float, ...]  # Euler angles (rad) and translation (mm), current -> prior

    def translation_mm(self) -> tuple[float, float, float]:
        return tuple(float(v) for v in self.parameters[3:6])  # type: ignore[return-value]


@dataclass(frozen=True)
class Match:
    """A nodule seen on both scans, with its change."""

    current_index: int
    prior_index: int
    distance_mm: float


def register_prior(current: Volume, prior: Volume) -> Registration:
    """Rigidly register ``prior`` (moving) onto ``current`` (fixed)."""
    import SimpleITK as sitk

    fixed = _coarse_image(current)
    moving = _coarse_image(prior)
    initial = sitk.CenteredTransformInitializer(
        fixed, moving, sitk.Euler3DTransform(), sitk.CenteredTransformInitializerFilter.MOMENTS
    )
    method = sitk.ImageRegistrationMethod()
    method.SetMetricAsMattesMutualInformation(numberOfHistogramBins=32)
    method.SetMetricSamplingStrategy(method.RANDOM)
    method.SetMetricSamplingPercentage(0.2, seed=1)
    method.SetInterpolator(sitk.sitkLinear)
    method.SetOptimizerAsRegularStepGradientDescent(
        learningRate=2.0, minStep=1e-3, numberOfIterations=200, relaxationFactor=0.6
    )
    method.SetOptimizerScalesFromPhysicalShift()
    method.SetShrinkFactorsPerLevel([2, 1])
    method.SetSmoothingSigmasPerLevel([2.0, 0.0])
    method.SetInitialTransform(initial, inPlace=False)
    transform = method.Execute(fixed, moving)
    inverse = transform.GetInverse()

    def prior_to_current(points: np.ndarray) -> np.ndarray:
        points = np.asarray(points, float).reshape(-1, 3)
        return np.array([inverse.TransformPoint(tuple(map(float, p))) for p in points])

    euler = sitk.Euler3DTransform(sitk.CompositeTransform(transform).GetNthTransform(0))
    return Registration(prior_to_current, tuple(euler.GetParameters()))


def _coarse_image(volume: Volume):
    """A ~4 mm float copy in the lung window, as a SimpleITK image with the volume's geometry."""
    from workstation.model.conversions import to_sitk

    grid = CoarseGrid.for_step(volume.shape_zyx, volume.spacing, REGISTRATION_STEP_MM)
    voxels = np.clip(grid.downsample(volume.voxels), *HU_WINDOW)
    first = grid.to_native_index(np.zeros((1, 3)))[0][::-1]
    coarse = Volume(
        voxels=voxels,
        spacing=grid.spacing,
        origin=tuple(volume.index_to_world(first)),
        direction=volume.direction,
        modality=volume.modality,
    )
    return to_sitk(coarse)


def match_nodules(
    current_lps: np.ndarray,
    current_diameters: Sequence[float],
    prior_lps_in_current: np.ndarray,
    prior_diameters: Sequence[float],
) -> list[Match]:
    """Greedy one-to-one pairing, closest pairs first, within the matching reach."""
    current_lps = np.asarray(current_lps, float).reshape(-1, 3)
    prior_lps_in_current = np.asarray(prior_lps_in_current, float).reshape(-1, 3)
    if len(current_lps) == 0 or len(prior_lps_in_current) == 0:
        return []
    distance = np.linalg.norm(current_lps[:, None] - prior_lps_in_current[None], axis=2)
    reach = np.maximum(
        MATCH_MM,
        MATCH_DIAMETER_SHARE
        * 0.5
        * (np.asarray(current_diameters)[:, None] + np.asarray(prior_diameters)[None]),
    )
    matches: list[Match] = []
    used_current: set[int] = set()
    used_prior: set[int] = set()
    for flat in np.argsort(distance, axis=None):
        i, j = np.unravel_index(int(flat), distance.shape)
        if distance[i, j] > reach[i, j]:
            break
        if i in used_current or j in used_prior:
            continue
        matches.append(Match(int(i), int(j), float(distance[i, j])))
        used_current.add(int(i))
        used_prior.add(int(j))
    return matches


def interval_days(current_date: str | None, prior_date: str | None) -> float | None:
    """Days between two DICOM dates (YYYYMMDD); None when either is missing or malformed."""
    try:
        later = dt.datetime.strptime(str(current_date)[:8], "%Y%m%d")
        earlier = dt.datetime.strptime(str(prior_date)[:8], "%Y%m%d")
    except (TypeError, ValueError):
        return None
    return float((later - earlier).days)


def volume_doubling_time(v1_mm3: float, v2_mm3: float, days: float | None) -> float | None:
    """Δt·ln2/ln(V2/V1) in days; None without an interval, for equal volumes or no volume.

    Negative for shrinking nodules (their halving time, signed), as is customary.
    """
    if days is None or days <= 0 or v1_mm3 <= 0 or v2_mm3 <= 0 or v1_mm3 == v2_mm3:
        return None
    return days * math.log(2.0) / math.log(v2_mm3 / v1_mm3)


def volume_change_percent(v1_mm3: float, v2_mm3: float) -> float:
    return 100.0 * (v2_mm3 - v1_mm3) / v1_mm3 if v1_mm3 > 0 else math.inf
