"""One perfusion analysis, as ``halong perfusion`` and the Perfusion panel both run it.

The engine is :func:`ai.perfusion.run_perfusion`; every option exists in both skins
(clinical values, an ADC map, a chosen arterial and venous voxel). :func:`retriage`
decides DEFUSE 3 and DAWN again with new clinical values without running the analysis.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
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

if TYPE_CHECKING:
    from ai.perfusion import ClinicalInputs, PerfusionResult


@dataclass(frozen=True)
class PerfusionOptions:
    """Everything a user chooses for a run besides the series (CLI flags, dialog fields)."""

    clinical: ClinicalInputs = field(default_factory=lambda: _clinical())
    #: An ADC map (3D, same study) for an MR core; None for CT or without one.
    adc: SeriesRequest | None = None
    #: User-chosen arterial / venous voxel (LPS mm); None to find them automatically.
    aif_lps_mm: Sequence[float] | None = None
    vof_lps_mm: Sequence[float] | None = None


def _clinical() -> ClinicalInputs:
    from ai.perfusion import ClinicalInputs

    return ClinicalInputs()


def adc_choices(database_path: Path, study_uid: str, analysed: str) -> list[SeriesRequest]:
    """The 3D MR series of the study an ADC map may be (the analysed series excluded)."""
    from workstation.dicom.database import Database

    if not study_uid or not database_path.exists():
        return []
    with Database.open(database_path) as db:
        studies = {s.study_uid: s for s in db.studies()}
        return [
            request_for_series(series.series_uid, series_label(studies.get(study_uid), series))
            for series in db.series(study_uid)
            if series.modality == "MR" and series.series_uid != analysed
        ]


def analyse(
    loaded: LoadedSeries,
    options: PerfusionOptions,
    database_path: Path,
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
) -> PerfusionResult:
    """Run the engine on the 4D volume of ``loaded`` (loading the ADC map first, if any)."""
    from ai.perfusion import PerfusionRequest, run_perfusion
    from workstation.perfusion.inputs import choose_adc_map

    adc = None
    if options.adc is not None:
        progress(0, 1, "loading the ADC map")
        adc = choose_adc_map(load_series(options.adc, database_path, progress, cancel))
        check(cancel)
    request = PerfusionRequest(
        volume=loaded.volume,
        adc=adc,
        clinical=options.clinical,
        aif_lps_mm=options.aif_lps_mm,
        vof_lps_mm=options.vof_lps_mm,
    )
    return run_perfusion(request, progress, cancel)


def decide_triage(
    core_ml: float | None,
    hypoperfusion_ml: float | None,
    mismatch_ml: float | None,
    mismatch_ratio: float | None,
    clinical: ClinicalInputs,
):
    """DEFUSE 3 and DAWN for these volumes and clinical values (the engine's rules)."""
    from ai.perfusion import PerfusionSettings
    from ai.perfusion.triage import ImagingValues, dawn, defuse3

    imaging = ImagingValues(core_ml, hypoperfusion_ml, mismatch_ml, mismatch_ratio)
    settings = PerfusionSettings()
    return defuse3(imaging, clinical, settings.defuse3), dawn(imaging, clinical, settings.dawn)


def retriage(result: PerfusionResult, clinical: ClinicalInputs) -> None:
    """Decide DEFUSE 3 and DAWN again with new clinical values (the volumes stay)."""
    volumes = result.volumes
    result.defuse3, result.dawn = decide_triage(
        volumes.core_ml,
        volumes.hypoperfusion_ml,
        volumes.mismatch_ml,
        volumes.mismatch_ratio,
        clinical,
    )
