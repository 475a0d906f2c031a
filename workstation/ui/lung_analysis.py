"""Lung nodules for the viewer, without Qt: what the Lung nodules panel runs and shows.

The engine is :func:`ai.lung.analyse_chest_ct`, called as ``halong lung`` calls it,
and the review (accept, reject, edit) is :class:`ai.lung.review.NoduleReview`. This
module adds what a viewer needs around them: the prior series a reader can choose,
the label volume of the overlay, the growth chart's points, and saving the reviewed
result with the CLI's own writers, so ``halong report`` and the report panel read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from workstation.model.progress import CancelToken, Progress, check, no_progress
from workstation.model.volume import Volume

if TYPE_CHECKING:
    from ai.lung import LungResult
    from ai.lung.review import NoduleReview
    from workstation.ui.series_loading import LoadedSeries, SeriesRequest

#: What the size column and the growth chart call a nodule.
NODULE_NAME = "Nodule {id}"


@dataclass(frozen=True)
class LungSettings:
    """What the reader chose before the run (the ``halong lung`` options)."""

    risk: str = "low"
    solid_threshold_hu: float = -300.0
    prior: SeriesRequest | None = None
    bundle_dir: Path | None = None
    #: Keep candidates scoring at least this; None: the bundle's operating threshold.
    min_probability: float | None = None


@dataclass(frozen=True)
class PriorChoice:
    """An earlier CT of the same patient the reader may compare with."""

    request: SeriesRequest
    study_date: str

    @property
    def text(self) -> str:
        date = self.study_date
        shown = f"{date[:4]}-{date[4:6]}-{date[6:]}" if len(date) == 8 else (date or "no date")
        return f"{shown} — {self.request.label}"


def is_chest_ct(volume: Volume) -> bool:
    """What the Lung nodules action runs on: one 3D CT (the engine checks the rest)."""
    return not volume.is_4d and volume.modality in ("CT", "OT")


def prior_choices(database_path: Path, volume: Volume) -> list[PriorChoice]:
    """CT series of the same patient in other studies, newest first (the prior to compare)."""
    from workstation.dicom.database import Database
    from workstation.ui.series_loading import request_for_series, series_label

    patient_id = str(volume.attributes.get("PatientID", "") or "")
    study_uid = volume.provenance.study_uid
    if not patient_id or not database_path.exists():
        return []
    with Database.open(database_path) as db:
        studies = [
            s for s in db.studies() if s.patient_id == patient_id and s.study_uid != study_uid
        ]
        choices = [
            PriorChoice(
                request_for_series(series.series_uid, series_label(study, series)),
                study.study_date,
            )
            for study in studies
            for series in db.series(study.study_uid)
            if series.modality == "CT"
        ]
    return sorted(choices, key=lambda c: c.study_date, reverse=True)


def run_lung(
    volume: Volume,
    settings: LungSettings,
    database_path: Path,
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
) -> LungResult:
    """The analysis of the open CT (the Lung nodules action's background job)."""
    from ai.lung import LungRequest, analyse_chest_ct
    from workstation.ui.series_loading import load_series

    prior = None
    if settings.prior is not None:
        progress(0, 1, "loading the prior scan")
        prior = load_series(settings.prior, database_path, progress, cancel).volume
        check(cancel)
    request = LungRequest(
        volume=volume,
        prior=prior,
        bundle_dir=settings.bundle_dir,
        risk=settings.risk,  # type: ignore[arg-type]
        solid_threshold_hu=settings.solid_threshold_hu,
        min_probability=settings.min_probability,
    )
    return analyse_chest_ct(request, progress, cancel)


def nodule_labels(review: NoduleReview) -> np.ndarray:
    """Each nodule's voxels hold its number (rejected ones too: the colours hide them)."""
    labels = np.zeros(review.volume.shape_zyx, np.int32)
    for item in review.items:
        mask = item.nodule.mask
        labels[mask.box][mask.mask] = item.id
    return labels


def growth_points(review: NoduleReview) -> dict[str, tuple[list[float], list[float]]]:
    """Nodule name -> (days from the prior, volume mm³) for the listed nodules seen before."""
    from ai.lung.review import Decision

    points = {}
    for item in review.items:
        prior = item.nodule.prior
        if item.decision is Decision.REJECTED or prior is None:
            continue
        if prior.prior_volume_mm3 is None:
            continue
        days = prior.interval_days or 0.0
        points[NODULE_NAME.format(id=item.id)] = (
            [0.0, float(days)],
            [float(prior.prior_volume_mm3), float(item.nodule.measurements.volume_mm3)],
        )
    return points


def save_review(
    review: NoduleReview,
    loaded: LoadedSeries,
    folder: Path,
    database_path: Path,
    reader: str,
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
) -> dict[str, Path]:
    """The accepted nodules as ``halong lung`` writes them (lung.json, SEG, SR) in ``folder``.

    The SEG and SR reference the series' DICOM images; a NIfTI volume has none, so
    only lung.json is written for it.
    """
    from workstation.lung_outputs import LUNG_JSON, LoadedCt, write_lung_json, write_lung_outputs
    from workstation.ui.series_loading import source_files

    result = review.reviewed_result(reader)
    folder.mkdir(parents=True, exist_ok=True)
    if loaded.request.is_nifti:
        return {"json": write_lung_json(result, folder / LUNG_JSON)}
    files = source_files(loaded.request, database_path, progress, cancel)
    return write_lung_outputs(result, LoadedCt(loaded.volume, files), folder)
