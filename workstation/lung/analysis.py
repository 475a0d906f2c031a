"""One lung analysis: the reader's settings, the prior to compare with, and the engine run.

``halong lung`` and the Lung nodules panel both call :func:`analyse`, so a setting that
exists in one exists in the other. The engine is :func:`ai.lung.analyse_chest_ct`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from workstation.dicom.series_input import (
    LoadedSeries,
    SeriesRequest,
    load_series,
    request_for_series,
    series_label,
)
from workstation.model.progress import CancelToken, Progress, check, no_progress
from workstation.model.volume import Volume

if TYPE_CHECKING:
    from ai.lung import LungResult


@dataclass(frozen=True)
class LungSettings:
    """What the reader chose before the run (the ``halong lung`` options)."""

    risk: str = "low"
    solid_threshold_hu: float = -300.0
    prior: SeriesRequest | None = None
    bundle_dir: Path | None = None
    #: Keep candidates scoring at least this; None: the bundle's operating threshold.
    min_probability: float | None = None
    #: cpu, cuda or cuda:N; None picks the best available.
    device: str | None = None


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
    """What the lung analysis runs on: one 3D CT (the engine checks the rest)."""
    return not volume.is_4d and volume.modality in ("CT", "OT")


def prior_choices(database_path: Path, volume: Volume) -> list[PriorChoice]:
    """CT series of the same patient in other studies, newest first (the prior to compare)."""
    from workstation.dicom.database import Database

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


def analyse(
    loaded: LoadedSeries,
    settings: LungSettings,
    database_path: Path,
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
) -> LungResult:
    """Run the engine on the loaded CT (and the prior, loaded here): the background job.

    Refuses a load holding several series (which one is the chest CT?). The time spent
    loading the prior is added to the result's timings.
    """
    from ai.lung import LungRequest, analyse_chest_ct

    volume = loaded.only_volume()
    prior, started = None, time.perf_counter()
    if settings.prior is not None:
        progress(0, 1, "loading the prior scan")
        prior = load_series(settings.prior, database_path, progress, cancel).only_volume()
        check(cancel)
    loading_prior = time.perf_counter() - started
    request = LungRequest(
        volume=volume,
        prior=prior,
        bundle_dir=settings.bundle_dir,
        risk=settings.risk,  # type: ignore[arg-type]
        solid_threshold_hu=settings.solid_threshold_hu,
        min_probability=settings.min_probability,
        device=settings.device,
    )
    result = analyse_chest_ct(request, progress, cancel)
    if prior is not None:
        result.timings_s = {"load_prior": loading_prior, **result.timings_s}
    return result
