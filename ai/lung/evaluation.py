"""Detections against phantom truth: hits, misses, false positives, FROC.

Shared by the training script (held-out scans), the benchmark and the acceptance
tests, so all three count the same way. A detection hits a true nodule when its
centre lies within the nodule's bounding radius (at least ``MIN_HIT_RADIUS_MM``); along
z half a slice more is allowed, since a centre can only be placed on a slice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

MIN_HIT_RADIUS_MM = 3.0
#: FROC operating points: false positives per scan.
FROC_RATES = (0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)


def hit_matrix(
    detections_lps: np.ndarray,
    truth_lps: np.ndarray,
    truth_radius_mm: np.ndarray,
    slice_mm: float,
    scale: float = 1.0,
) -> np.ndarray:
    """(detections, truths) booleans: which detection centres lie in which nodules."""
    detections_lps = np.asarray(detections_lps, float).reshape(-1, 3)
    truth_lps = np.asarray(truth_lps, float).reshape(-1, 3)
    offset = detections_lps[:, None, :] - truth_lps[None, :, :]
    offset[..., 2] = np.maximum(np.abs(offset[..., 2]) - slice_mm / 2.0, 0.0)
    distance = np.linalg.norm(offset, axis=2)
    radius = np.maximum(scale * np.asarray(truth_radius_mm, float), MIN_HIT_RADIUS_MM)
    return distance <= radius[None, :]


@dataclass
class ScanResult:
    """One scan's scored detections and whether each true nodule counts."""

    scores: np.ndarray  # per detection
    hits: np.ndarray  # (detections, truths) from :func:`hit_matrix`
    counted: np.ndarray  # per truth: part of the sensitivity (e.g. ≥ 4 mm)

    def at_threshold(self, threshold: float) -> tuple[int, int, int]:
        """(true nodules found, counted true nodules, false positives) at a score threshold."""
        kept = self.scores >= threshold
        found = self.hits[kept].any(axis=0)
        false_positives = int(np.count_nonzero(kept & ~self.hits.any(axis=1)))
        return int(np.count_nonzero(found & self.counted)), int(self.counted.sum()), false_positives


@dataclass
class Froc:
    """Sensitivity at each false-positive rate, pooled over scans."""

    rates: tuple[float, ...]
    sensitivities: list[float] = field(default_factory=list)
    thresholds: list[float] = field(default_factory=list)

    def to_json(self) -> list[dict[str, float]]:
        return [
            {"fp_per_scan": r, "sensitivity": s, "threshold": t}
            for r, s, t in zip(self.rates, self.sensitivities, self.thresholds, strict=True)
        ]


def operating_point(scans: Sequence[ScanResult], threshold: float) -> tuple[float, float]:
    """(sensitivity, false positives per scan) of all scans at one threshold."""
    found = total = false_positives = 0
    for scan in scans:
        f, t, fp = scan.at_threshold(threshold)
        found, total, false_positives = found + f, total + t, false_positives + fp
    return (found / total if total else 1.0), false_positives / max(len(scans), 1)


def froc(scans: Sequence[ScanResult], rates: Sequence[float] = FROC_RATES) -> Froc:
    """For each rate, the best sensitivity with at most that many false positives per scan."""
    candidates = np.unique(np.concatenate([s.scores for s in scans] + [np.array([np.inf])]))
    points = [(t, *operating_point(scans, t)) for t in candidates[::-1]]
    result = Froc(tuple(rates))
    for rate in rates:
        allowed = [(sens, t) for t, sens, fp in points if fp <= rate]
        sens, threshold = max(allowed) if allowed else (0.0, np.inf)  # ties: the stricter one
        result.sensitivities.append(float(sens))
        result.thresholds.append(float(threshold))
    return result


@dataclass
class PhantomScore:
    """One phantom scan against its truth: detection, false alarms, volumes, types."""

    scan: ScanResult  # every scored candidate, for the FROC
    slice_mm: float
    found: list[bool]  # per counted true nodule: hit by a reported nodule
    false_positives: int  # reported nodules that hit no true nodule (or hit one twice)
    #: (true diameter mm, juxtapleural, relative volume error) of each hit nodule
    volume_errors: list[tuple[float, bool, float]] = field(default_factory=list)
    #: For hit juxtapleural nodules, (true diameter mm, relative error against the part of
    #: the nodule inside the pleura), when the caller knew that part.
    inside_pleura_errors: list[tuple[float, float]] = field(default_factory=list)
    type_correct: list[bool] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)


def score_phantom(
    truths: Sequence[Any],
    slice_mm: float,
    candidate_lps: np.ndarray,
    candidate_scores: np.ndarray,
    reported: Sequence[Any],
    counted_mm: float = 4.0,
    inside_pleura_share: Sequence[float] | None = None,
) -> PhantomScore:
    """Score a scan's candidates and reported nodules against phantom truth.

    ``truths`` are ``ai.phantoms.NoduleTruth``; ``reported`` are ``ai.lung.result.Nodule``.
    ``inside_pleura_share`` (per truth) is the share of each nodule inside the lung
    cavity: a juxtapleural nodule's cap in the chest wall has the wall's density, so no
    reader or algorithm can see it; its error against the visible part is kept apart.
    """
    centres = np.array([t.center_lps_mm for t in truths], float).reshape(-1, 3)
    radii = np.array([t.bounding_radius_mm for t in truths], float)
    counted = np.array([t.diameter_mm >= counted_mm for t in truths], bool)
    scan = ScanResult(
        np.asarray(candidate_scores, float),
        hit_matrix(candidate_lps, centres, radii, slice_mm),
        counted,
    )
    points = np.array([n.measurements.center_lps_mm for n in reported], float).reshape(-1, 3)
    hits = hit_matrix(points, centres, radii, slice_mm)
    score = PhantomScore(scan, slice_mm, [], 0)
    claimed: set[int] = set()
    for index, row in enumerate(hits):
        truth_index = next((int(t) for t in np.flatnonzero(row) if int(t) not in claimed), None)
        if truth_index is None:
            score.false_positives += 1
            continue
        claimed.add(truth_index)
        truth, nodule = truths[truth_index], reported[index].measurements
        error = nodule.volume_mm3 / truth.volume_mm3 - 1.0
        score.volume_errors.append((truth.diameter_mm, truth.juxtapleural, error))
        if truth.juxtapleural and inside_pleura_share is not None:
            visible = truth.volume_mm3 * inside_pleura_share[truth_index]
            score.inside_pleura_errors.append((truth.diameter_mm, nodule.volume_mm3 / visible - 1))
        score.type_correct.append(nodule.type == truth.type)
    for index, truth in enumerate(truths):
        if counted[index]:
            score.found.append(index in claimed)
            if index not in claimed:
                score.misses.append(
                    f"{truth.type} {truth.shape} {truth.diameter_mm:.1f} mm"
                    f"{' juxtapleural' if truth.juxtapleural else ''}"
                )
    return score


#: The acceptance's volume rule covers nodules this big on slices this thin.
VOLUME_MIN_MM = 6.0
VOLUME_MAX_SLICE_MM = 1.25


@dataclass(frozen=True)
class PhantomCase:
    """One synthetic scan of an evaluation set."""

    seed: int
    shape: tuple[int, int, int]
    spacing: tuple[float, float, float]


@dataclass
class Acceptance:
    """The issue's acceptance figures over a set of phantom scans."""

    scans: int
    nodules: int
    sensitivity: float
    fp_per_scan: float
    volume_nodules: int
    volume_error_mean: float  # mean |relative error|, nodules >= 6 mm on slices <= 1.25 mm
    volume_error_max: float
    volume_within_10_percent: float
    #: The same over nodules clear of the pleura (juxtapleural ones lose the part of them
    #: that bulges into the chest wall, which the truth counts and no reader can see).
    volume_error_max_free: float
    #: Juxtapleural nodules against the part of them inside the pleura (mean, max |error|).
    volume_error_mean_juxtapleural_inside: float
    volume_error_max_juxtapleural_inside: float
    type_accuracy: float
    froc: Froc
    misses: list[str]

    def to_json(self) -> dict[str, Any]:
        values = {k: v for k, v in self.__dict__.items() if k != "froc"}
        return {**values, "froc": self.froc.to_json()}


def acceptance(scores: Sequence[PhantomScore]) -> Acceptance:
    """Pool phantom scores into the acceptance figures."""
    found = [f for s in scores for f in s.found]
    eligible = [
        (abs(error), juxtapleural)
        for s in scores
        if s.slice_mm <= VOLUME_MAX_SLICE_MM
        for diameter, juxtapleural, error in s.volume_errors
        if diameter >= VOLUME_MIN_MM
    ]
    errors = [error for error, _ in eligible]
    free = [error for error, juxtapleural in eligible if not juxtapleural]
    inside = [
        abs(error)
        for s in scores
        if s.slice_mm <= VOLUME_MAX_SLICE_MM
        for diameter, error in s.inside_pleura_errors
        if diameter >= VOLUME_MIN_MM
    ]
    types = [t for s in scores for t in s.type_correct]
    return Acceptance(
        scans=len(scores),
        nodules=len(found),
        sensitivity=float(np.mean(found)) if found else 1.0,
        fp_per_scan=float(np.mean([s.false_positives for s in scores])) if scores else 0.0,
        volume_nodules=len(errors),
        volume_error_mean=float(np.mean(errors)) if errors else 0.0,
        volume_error_max=float(np.max(errors)) if errors else 0.0,
        volume_within_10_percent=float(np.mean(np.array(errors) <= 0.10)) if errors else 1.0,
        volume_error_max_free=float(np.max(free)) if free else 0.0,
        volume_error_mean_juxtapleural_inside=float(np.mean(inside)) if inside else 0.0,
        volume_error_max_juxtapleural_inside=float(np.max(inside)) if inside else 0.0,
        type_accuracy=float(np.mean(types)) if types else 1.0,
        froc=froc([s.scan for s in scores]),
        misses=[m for s in scores for m in s.misses],
    )


def run_phantom(case: PhantomCase, classifier: Any) -> PhantomScore:
    """Make one phantom, run the detector on it, and score it (``classifier``: NoduleClassifier)."""
    from ai.lung.pipeline import detect_nodules
    from ai.phantoms import make_chest_ct

    phantom = make_chest_ct(case.seed, case.shape, case.spacing)
    volume = phantom.volume
    detection = detect_nodules(volume, classifier)
    centres = np.array([c.center_zyx for c in detection.candidates], float).reshape(-1, 3)
    return score_phantom(
        phantom.nodules,
        volume.spacing[2],
        volume.index_to_world(centres[:, ::-1]),
        detection.scores,
        detection.nodules,
        inside_pleura_share=inside_pleura_shares(phantom),
    )


def inside_pleura_shares(phantom: Any) -> list[float]:
    """Per truth nodule, the share of its voxels inside the lung cavity (``ChestPhantom``)."""
    labels = phantom.nodule_labels
    inside = np.bincount(labels[phantom.lung_labels > 0].ravel(), minlength=labels.max() + 1)
    total = np.bincount(labels.ravel(), minlength=labels.max() + 1)
    return [float(inside[t.id] / max(total[t.id], 1)) for t in phantom.nodules]
