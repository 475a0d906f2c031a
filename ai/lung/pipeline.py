"""The lung engine end to end: a chest CT (and optionally a prior) in, a LungResult out.

Stages, each timed: lung mask, candidates, classification (the CNN), segmentation
and measurement of the kept candidates, the prior scan through the same stages plus
registration and matching, then Lung-RADS and Fleischner. This is long work run as a
plain function with a progress callback and a cancel token, by the CLI and the UI alike.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ai.lung.candidates import Candidate, detect_candidates
from ai.lung.classifier import NoduleClassifier
from ai.lung.followup import (
    interval_days,
    match_nodules,
    register_prior,
    volume_change_percent,
    volume_doubling_time,
)
from ai.lung.location import Location, locate
from ai.lung.lung_mask import LungMask, refine_pleura, segment_lungs
from ai.lung.masses import find_masses
from ai.lung.measurements import SOLID_THRESHOLD_HU, NoduleMeasurements, measure_nodule
from ai.lung.nodule_segmentation import NoduleMask, segment_nodule
from ai.lung.result import AlgorithmInfo, LungResult, Nodule, PriorComparison
from ai.lung.rules import (
    Fleischner,
    LungRads,
    Risk,
    RuleNodule,
    fleischner,
    fleischner_exam,
    growth_status,
    lung_rads,
    lung_rads_exam,
)
from workstation.model.progress import CancelToken, Progress, check, no_progress
from workstation.model.volume import Volume

#: Findings smaller than this (mean diameter) are not reported.
MIN_REPORTED_MM = 3.0
#: A finding whose surface lies more than this share on the lung's edge is partial volume
#: along a border (heart, diaphragm, pleura); juxtapleural nodules on phantoms stay < 0.45,
#: as most of a nodule's surface faces the lung.
MAX_BORDER_SHARE = 0.6
#: The pleura is redrawn at native resolution at most this far around a candidate (mm).
MAX_PLEURA_REACH_MM = 25.0
#: A scan must show this much air inside the body to hold lungs at all.
MIN_LUNG_ML = 50.0


class LungInputError(Exception):
    """The input cannot be analysed as a chest CT; the message says why."""


@dataclass
class LungRequest:
    """What to analyse and how."""

    volume: Volume
    prior: Volume | None = None
    bundle_dir: Path | None = None
    risk: Risk = "low"
    solid_threshold_hu: float = SOLID_THRESHOLD_HU
    device: str | None = None
    #: Keep candidates scoring at least this; None: the bundle's operating threshold.
    min_probability: float | None = None


@dataclass
class ScanDetection:
    """One scan's nodules (before rules), plus what found them."""

    nodules: list[Nodule]
    lungs: LungMask
    candidates: list[Candidate]
    scores: np.ndarray
    timings_s: dict[str, float] = field(default_factory=dict)


@contextmanager
def _timed(timings: dict[str, float], name: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - started


def check_chest_ct(volume: Volume, what: str = "the input") -> None:
    """Refuse volumes the engine cannot read as a chest CT in HU."""
    if volume.is_4d:
        raise LungInputError(f"{what} is a 4D series; the lung engine needs one 3D chest CT")
    if volume.modality not in ("CT", "OT"):
        raise LungInputError(f"{what} is {volume.modality}, not CT")
    if min(volume.shape_zyx) < 3:
        raise LungInputError(f"{what} has only {volume.shape_zyx} voxels: not a chest CT volume")
    low = float(np.percentile(volume.voxels[:: max(1, volume.shape_zyx[0] // 16)], 1))
    if low > -500:
        raise LungInputError(f"{what} holds no air-like values (HU): not a chest CT in HU")


def finite_ct(volume: Volume, what: str = "the input") -> tuple[Volume, int]:
    """The CT with NaN or infinite voxels read as air (-1000 HU), and how many there were.

    Refuses a volume with no finite voxel: there is no image to read.
    """
    if np.issubdtype(volume.voxels.dtype, np.integer):
        return volume, 0
    invalid = ~np.isfinite(volume.voxels)
    count = int(invalid.sum())
    if count == invalid.size:
        raise LungInputError(f"every voxel of {what} is NaN or infinite: no image to analyse")
    if count == 0:
        return volume, 0
    return volume.with_voxels(np.where(invalid, np.float32(-1000.0), volume.voxels)), count


def detect_nodules(
    volume: Volume,
    classifier: NoduleClassifier,
    solid_threshold_hu: float = SOLID_THRESHOLD_HU,
    min_probability: float | None = None,
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
) -> ScanDetection:
    """Lung mask, candidates, CNN scores, then segmentation and measurement of the kept ones."""
    timings: dict[str, float] = {}
    progress(0, 4, "segmenting the lungs")
    with _timed(timings, "lung_mask"):
        lungs = segment_lungs(volume, cancel=cancel)
    if sum(lungs.volume_ml(label) for label in (1, 2)) < MIN_LUNG_ML:
        raise LungInputError("no lungs found: is this a chest CT?")
    progress(1, 4, "finding candidates")
    with _timed(timings, "candidates"):
        candidates = find_masses(volume, lungs) + detect_candidates(
            volume, lungs.labels, cancel=cancel
        )
    progress(2, 4, "scoring candidates")
    with _timed(timings, "classification"):
        scores = classifier.score(volume, candidates, cancel=cancel)
    check(cancel)
    progress(3, 4, "measuring nodules")
    threshold = classifier.threshold if min_probability is None else min_probability
    with _timed(timings, "segmentation"):
        nodules = _segment_kept(volume, lungs, candidates, scores, threshold, solid_threshold_hu)
    progress(4, 4, "nodules measured")
    return ScanDetection(nodules, lungs, candidates, scores, timings)


def _segment_kept(
    volume: Volume,
    lungs: LungMask,
    candidates: list[Candidate],
    scores: np.ndarray,
    threshold: float,
    solid_threshold_hu: float,
) -> list[Nodule]:
    """Segment masses and candidates above threshold, best first; one nodule per lesion."""
    taken = np.zeros(volume.shape_zyx, dtype=bool)
    found: list[Nodule] = []
    masses = [i for i, c in enumerate(candidates) if c.mass]
    above = [int(i) for i in np.argsort(-scores) if scores[i] >= threshold and i not in masses]
    for index in masses + above:
        candidate = candidates[index]
        centre = tuple(round(c) for c in candidate.center_zyx)
        if taken[centre]:
            continue  # another candidate of a lesion already measured
        mask = segment_in_lungs(volume, lungs, candidate.center_zyx, candidate.radius_mm)
        if mask is None:
            continue
        region = taken[mask.box]
        if np.count_nonzero(region & mask.mask) > 0.3 * mask.voxel_count:
            continue
        measurements, location = measure_and_locate(volume, lungs, mask, solid_threshold_hu)
        if measurements.mean_diameter_mm < MIN_REPORTED_MM:
            continue
        if location.border_share > MAX_BORDER_SHARE and not candidate.mass:
            continue  # a sliver along the heart, diaphragm or chest wall, not a nodule
        region |= mask.mask
        found.append(
            Nodule(
                0, mask, measurements, float(scores[index]), location, found_as_mass=candidate.mass
            )
        )
    found.sort(key=lambda n: -n.measurements.volume_mm3)
    for number, nodule in enumerate(found, start=1):
        nodule.id = number
    return found


def segment_in_lungs(
    volume: Volume, lungs: LungMask, center_zyx: tuple[float, float, float], radius_mm: float
) -> NoduleMask | None:
    """A nodule's voxels around a point (None if nothing stands out), cut at the pleura.

    The pleura near the point is first redrawn at the scan's resolution (in place in
    ``lungs.labels``), so a juxtapleural nodule keeps its base; found and reader-placed
    nodules alike go through here.
    """
    reach = min(2.0 * radius_mm + 2.0, MAX_PLEURA_REACH_MM)
    refine_pleura(volume, lungs.labels, center_zyx, reach)
    mask = segment_nodule(volume, lungs.labels, center_zyx, radius_mm)
    return None if mask is None or mask.voxel_count == 0 else mask


def analyse_chest_ct(
    request: LungRequest,
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
) -> LungResult:
    """Find, measure and categorise the lung nodules of one chest CT (and compare to a prior)."""
    from ai.models.device import describe_device, select_device

    volume, invalid = finite_ct(request.volume)
    prior, invalid_prior = (None, 0)
    if request.prior is not None:
        prior, invalid_prior = finite_ct(request.prior, "the prior")
    request = dataclasses.replace(request, volume=volume, prior=prior)
    check_chest_ct(request.volume)
    if request.prior is not None:
        check_chest_ct(request.prior, "the prior")
    timings: dict[str, float] = {}
    with _timed(timings, "model_load"):
        classifier = NoduleClassifier.load(request.bundle_dir, select_device(request.device))
    current = detect_nodules(
        request.volume,
        classifier,
        request.solid_threshold_hu,
        request.min_probability,
        progress,
        cancel,
    )
    timings.update(current.timings_s)
    result = LungResult(
        series_uid=request.volume.provenance.series_uid,
        nodules=current.nodules,
        lung_rads=lung_rads_exam([]),
        fleischner=None,
        risk=request.risk,
        algorithm=AlgorithmInfo(
            device=describe_device(classifier.device),
            model=f"{classifier.bundle.name} {classifier.bundle.version}".strip(),
        ),
        timings_s=timings,
        warnings=list(request.volume.warnings),
        lungs=current.lungs,
    )
    for count, what in ((invalid, "the scan"), (invalid_prior, "the prior")):
        if count:
            result.warnings.append(
                f"{count} voxel(s) of {what} with NaN or infinite values read as air"
            )
    statuses = ["baseline"] * len(current.nodules)
    if request.prior is not None:
        progress(0, 1, "analysing the prior scan")
        statuses = _compare_with_prior(request, classifier, result, cancel)
    with _timed(timings, "rules"):
        _apply_rules(result, statuses)
    return result


def _compare_with_prior(
    request: LungRequest,
    classifier: NoduleClassifier,
    result: LungResult,
    cancel: CancelToken | None,
) -> list[str]:
    """Detect on the prior, register, match; fill each nodule's ``prior``; return statuses."""
    assert request.prior is not None
    with _timed(result.timings_s, "prior_detection"):
        prior = detect_nodules(
            request.prior, classifier, request.solid_threshold_hu, request.min_probability
        )
    check(cancel)
    with _timed(result.timings_s, "registration"):
        registration = register_prior(request.volume, request.prior)
    days = interval_days(
        str(request.volume.attributes.get("StudyDate", "")),
        str(request.prior.attributes.get("StudyDate", "")),
    )
    result.prior_series_uid = request.prior.provenance.series_uid
    result.prior_interval_days = days
    result.registration = {
        "method": "rigid (Euler 3D), Mattes mutual information, SimpleITK",
        "translation_mm": [round(v, 2) for v in registration.translation_mm()],
        "rotation_rad": [round(v, 5) for v in registration.parameters[:3]],
    }
    if days is None:
        result.warnings.append("study dates missing: no interval, no volume doubling time")
    now = [n.measurements for n in result.nodules]
    before = [n.measurements for n in prior.nodules]
    mapped = registration.prior_to_current(np.array([m.center_lps_mm for m in before]))
    matches = match_nodules(
        np.array([m.center_lps_mm for m in now]),
        [m.mean_diameter_mm for m in now],
        mapped,
        [m.mean_diameter_mm for m in before],
    )
    statuses = []
    by_current = {m.current_index: m for m in matches}
    for index, nodule in enumerate(result.nodules):
        match = by_current.get(index)
        if match is None:
            nodule.prior = PriorComparison(status="new", interval_days=days)
            statuses.append("new")
            continue
        old = prior.nodules[match.prior_index]
        nodule.prior = compare_with_prior_nodule(
            nodule.measurements,
            prior_id=old.id,
            prior_volume_mm3=old.measurements.volume_mm3,
            prior_mean_diameter_mm=old.measurements.mean_diameter_mm,
            days=days,
            distance_mm=match.distance_mm,
        )
        statuses.append(nodule.prior.status)
    matched_prior = {m.prior_index for m in matches}
    result.resolved = [
        {
            "prior_id": old.id,
            "center_lps_mm": [round(float(v), 2) for v in point],
            "volume_mm3": round(old.measurements.volume_mm3, 1),
            "mean_diameter_mm": old.measurements.mean_diameter_mm,
            "type": old.measurements.type,
        }
        for index, (old, point) in enumerate(zip(prior.nodules, mapped, strict=True))
        if index not in matched_prior
    ]
    return statuses


def _apply_rules(result: LungResult, statuses: list[str]) -> None:
    """Lung-RADS and Fleischner for every nodule and for the exam."""
    result.lung_rads, result.fleischner = apply_rules(result.nodules, statuses, result.risk)


def rule_input(nodule: Nodule, status: str) -> RuleNodule:
    """What the guideline tables look at for one nodule."""
    m = nodule.measurements
    return RuleNodule(
        type=m.type,
        mean_diameter_mm=m.mean_diameter_mm,
        solid_core_mm=m.solid_core_mm,
        status=status,  # type: ignore[arg-type]
    )


def apply_rules(
    nodules: Sequence[Nodule], statuses: Sequence[str], risk: Risk
) -> tuple[LungRads, Fleischner | None]:
    """Set each nodule's Lung-RADS and Fleischner (counting its peers); return the exam's."""
    inputs = [rule_input(n, status) for n, status in zip(nodules, statuses, strict=True)]
    solid = sum(i.type == "solid" for i in inputs)
    for nodule, one in zip(nodules, inputs, strict=True):
        nodule.lung_rads = lung_rads(one)
        peers = solid if one.type == "solid" else len(inputs) - solid
        nodule.fleischner = fleischner(one, risk, multiple=peers > 1)
    return lung_rads_exam(inputs), fleischner_exam(inputs, risk)


def compare_with_prior_nodule(
    current: NoduleMeasurements,
    prior_id: int | None,
    prior_volume_mm3: float,
    prior_mean_diameter_mm: float,
    days: float | None,
    distance_mm: float | None = None,
) -> PriorComparison:
    """A nodule against its match on the prior: growth status, volume change, doubling time."""
    v1, v2 = prior_volume_mm3, current.volume_mm3
    return PriorComparison(
        status=growth_status(current.mean_diameter_mm, prior_mean_diameter_mm, days),
        prior_id=prior_id,
        prior_volume_mm3=v1,
        prior_mean_diameter_mm=prior_mean_diameter_mm,
        volume_change_percent=volume_change_percent(v1, v2),
        volume_doubling_time_days=volume_doubling_time(v1, v2, days),
        interval_days=days,
        distance_mm=distance_mm,
    )


def measure_and_locate(
    volume: Volume, lungs: LungMask, mask: NoduleMask, solid_threshold_hu: float
) -> tuple[NoduleMeasurements, Location]:
    """A segmented nodule's measurements and place (the engine's and a reader's edits alike)."""
    return measure_nodule(volume, mask, solid_threshold_hu), locate(volume, lungs, mask)
