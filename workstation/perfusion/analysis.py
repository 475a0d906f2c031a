"""One perfusion analysis, as ``halong perfusion`` and the Perfusion panel both run it.

The engine is :func:`ai.perfusion.run_perfusion`; :func:`retriage` decides DEFUSE 3 and
DAWN again with new clinical values without running the analysis again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from workstation.model.progress import CancelToken, Progress, no_progress
from workstation.model.volume import Volume

if TYPE_CHECKING:
    from ai.perfusion import ClinicalInputs, PerfusionResult


@dataclass(frozen=True)
class PerfusionOptions:
    """Everything a user chooses for a run besides the series (CLI flags, dialog fields)."""

    clinical: ClinicalInputs = field(default_factory=lambda: _clinical())
    #: ADC map (3D, same patient) for an MR core; None for CT or without one.
    adc: Volume | None = None
    #: User-chosen arterial / venous voxel (LPS mm); None to find them automatically.
    aif_lps_mm: Sequence[float] | None = None
    vof_lps_mm: Sequence[float] | None = None


def _clinical() -> ClinicalInputs:
    from ai.perfusion import ClinicalInputs

    return ClinicalInputs()


def analyse(
    volume: Volume,
    options: PerfusionOptions,
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
) -> PerfusionResult:
    """Run the engine on a 4D volume (the background job of the panel)."""
    from ai.perfusion import PerfusionRequest, run_perfusion

    request = PerfusionRequest(
        volume=volume,
        adc=options.adc,
        clinical=options.clinical,
        aif_lps_mm=options.aif_lps_mm,
        vof_lps_mm=options.vof_lps_mm,
    )
    return run_perfusion(request, progress, cancel)


def retriage(result: PerfusionResult, clinical: ClinicalInputs) -> None:
    """Decide DEFUSE 3 and DAWN again with new clinical values (the volumes stay)."""
    from ai.perfusion import PerfusionSettings
    from ai.perfusion.triage import ImagingValues, dawn, defuse3

    volumes = result.volumes
    imaging = ImagingValues(
        volumes.core_ml, volumes.hypoperfusion_ml, volumes.mismatch_ml, volumes.mismatch_ratio
    )
    settings = PerfusionSettings()
    result.defuse3 = defuse3(imaging, clinical, settings.defuse3)
    result.dawn = dawn(imaging, clinical, settings.dawn)
