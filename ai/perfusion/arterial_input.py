"""Arterial input (AIF) and venous output (VOF) curves: found automatically or given.

Candidates are the most enhancing intracranial voxels (vessels enhance by
hundreds of HU, tissue by a few). Among them:

* the AIF is the average of the ``voxels_averaged`` highest curves among those
  that peak earliest (within ``early_window_s``, or a frame, of the first) and
  are narrow (full width at half maximum at most ``max_width_ratio`` x the
  median of the early ones): large arteries, where partial volume dilutes the
  curve least. Choosing by height alone, not by height / width, keeps the
  noise of the width out of the AIF's area;
* the VOF is the average of the ``venous_voxels_averaged`` curves with the
  largest area among those peaking at least ``vof_min_delay_s`` after the AIF:
  the superior sagittal sinus, which drains the whole brain late. Averaging
  many keeps the maximum-of-noise bias of picking the largest areas small.

Tracer is conserved from artery to vein, so the VOF's area is the true AIF area:
an AIF partly diluted by partial volume is scaled up by area(VOF) / area(AIF)
(never down, and only when the VOF is complete, i.e. returns near baseline).
In MR, saturated artery voxels (signal gone to the noise floor, which flattens
the peak) are not used.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class ArterialSettings:
    """How vascular curves are chosen."""

    #: Fraction of intracranial voxels, the most enhancing, examined as candidates.
    candidate_fraction: float = 0.002
    min_candidates: int = 50
    max_candidates: int = 4000
    voxels_averaged: int = 6
    venous_voxels_averaged: int = 18
    #: AIF candidates peak within this time of the earliest candidate (s).
    early_window_s: float = 1.5
    #: ... and are at most this much wider (FWHM) than the median early candidate.
    max_width_ratio: float = 1.5
    #: The VOF peaks at least this long after the AIF (s).
    vof_min_delay_s: float = 2.0
    #: Largest partial-volume scale applied to the AIF; more means a poor VOF.
    max_partial_volume_scale: float = 4.0
    #: A VOF whose last value is above this fraction of its peak is incomplete.
    truncation_fraction: float = 0.3
    #: MR: voxels whose signal falls below this fraction of S0 are saturated.
    saturation_fraction: float = 0.05


@dataclass
class CurveFeatures:
    """Shape of concentration curves ``(T, K)``: one value per curve."""

    peak: np.ndarray
    time_to_peak_s: np.ndarray
    fwhm_s: np.ndarray
    area: np.ndarray

    @classmethod
    def of(cls, curves: np.ndarray, times_s: np.ndarray) -> CurveFeatures:
        curves = np.atleast_2d(np.asarray(curves, dtype=float).T).T
        peak = curves.max(axis=0)
        steps = np.gradient(np.asarray(times_s, dtype=float))
        above = curves >= 0.5 * peak[None, :]
        return cls(
            peak=peak,
            time_to_peak_s=np.asarray(times_s)[np.argmax(curves, axis=0)],
            fwhm_s=(above * steps[:, None]).sum(axis=0),
            area=(np.clip(curves, 0, None) * steps[:, None]).sum(axis=0),
        )


@dataclass
class VascularCurve:
    """An averaged vessel curve, where it came from, and its shape."""

    kind: str  # "aif" or "vof"
    #: (k, 3) voxel indices (z, y, x) averaged.
    indices_zyx: np.ndarray
    #: Concentration per acquisition frame (HU for CT, ΔR2* 1/s for MR), before any scaling.
    curve: np.ndarray
    automatic: bool
    peak: float
    time_to_peak_s: float
    fwhm_s: float
    area: float

    @classmethod
    def average(
        cls,
        kind: str,
        indices_zyx: np.ndarray,
        curves: np.ndarray,
        times_s: np.ndarray,
        automatic: bool,
    ) -> VascularCurve:
        curve = np.asarray(curves, dtype=np.float32).reshape(len(times_s), -1).mean(axis=1)
        features = CurveFeatures.of(curve[:, None], times_s)
        return cls(
            kind=kind,
            indices_zyx=np.asarray(indices_zyx, dtype=int).reshape(-1, 3),
            curve=curve,
            automatic=automatic,
            peak=float(features.peak[0]),
            time_to_peak_s=float(features.time_to_peak_s[0]),
            fwhm_s=float(features.fwhm_s[0]),
            area=float(features.area[0]),
        )

    def is_complete(self, truncation_fraction: float) -> bool:
        """Back near baseline at the last frame (the whole first pass was acquired)."""
        return self.peak > 0 and float(self.curve[-1]) <= truncation_fraction * self.peak


@dataclass
class VascularInput:
    """The AIF, the VOF (when found) and the partial-volume scale applied to the AIF."""

    aif: VascularCurve
    vof: VascularCurve | None
    partial_volume_scale: float = 1.0
    #: The VOF returns near baseline by the last frame (False when there is no VOF).
    vof_complete: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def arterial_input(self) -> np.ndarray:
        """The AIF curve deconvolution uses (scaled for partial volume)."""
        return self.aif.curve * np.float32(self.partial_volume_scale)


class NoArterialInput(ValueError):
    """No curve qualifies as an arterial input."""


def candidate_count(n_intracranial: int, settings: ArterialSettings) -> int:
    """How many of the most enhancing voxels to examine."""
    count = int(settings.candidate_fraction * n_intracranial)
    return int(np.clip(count, settings.min_candidates, settings.max_candidates))


def select_vascular_input(
    curves: np.ndarray,
    indices_zyx: np.ndarray,
    times_s: np.ndarray,
    settings: ArterialSettings,
    saturated: np.ndarray | None = None,
) -> VascularInput:
    """Choose the AIF and VOF among candidate concentration curves ``(T, K)``."""
    curves = np.asarray(curves, dtype=np.float32)
    features = CurveFeatures.of(curves, times_s)
    usable = features.peak > 0
    notes = []
    if saturated is not None and np.any(usable & ~saturated):
        dropped = int(np.sum(usable & saturated))
        if dropped:
            notes.append(f"{dropped} saturated artery voxels left out of the AIF search")
        usable &= ~saturated
    if not np.any(usable):
        raise NoArterialInput("no enhancing vessel found for the arterial input")
    first = float(features.time_to_peak_s[usable].min())
    window = max(settings.early_window_s, float(np.median(np.diff(times_s))))
    early = usable & (features.time_to_peak_s <= first + window)
    narrow = features.fwhm_s <= settings.max_width_ratio * np.median(features.fwhm_s[early])
    early &= narrow
    height = np.where(early, features.peak, -np.inf)
    chosen = np.argsort(height)[::-1][: min(settings.voxels_averaged, int(early.sum()))]
    aif = VascularCurve.average("aif", indices_zyx[chosen], curves[:, chosen], times_s, True)

    late = usable & (features.time_to_peak_s >= aif.time_to_peak_s + settings.vof_min_delay_s)
    vof = None
    if np.any(late):
        area = np.where(late, features.area, -np.inf)
        picked = np.argsort(area)[::-1][: min(settings.venous_voxels_averaged, int(late.sum()))]
        vof = VascularCurve.average("vof", indices_zyx[picked], curves[:, picked], times_s, True)
    else:
        notes.append("no venous outflow curve found: the AIF is not corrected for partial volume")
    return with_partial_volume_scale(aif, vof, settings, notes)


def with_partial_volume_scale(
    aif: VascularCurve,
    vof: VascularCurve | None,
    settings: ArterialSettings,
    notes: list[str] | None = None,
) -> VascularInput:
    """Pair an AIF and a VOF, scaling the AIF up to the VOF's area when that is sound."""
    notes = list(notes or [])
    scale = 1.0
    complete = vof is not None and vof.is_complete(settings.truncation_fraction)
    if vof is not None and aif.area > 0:
        ratio = vof.area / aif.area
        if not complete:
            notes.append("the venous curve is incomplete: no partial-volume correction")
        elif ratio > settings.max_partial_volume_scale:
            notes.append(
                f"VOF/AIF area ratio {ratio:.2f} is implausible: no partial-volume correction"
            )
        elif ratio > 1.0:
            scale = ratio
    return VascularInput(aif, vof, scale, complete, notes)
