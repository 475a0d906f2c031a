"""Stroke perfusion analysis: CT perfusion and MR DSC to CBF/CBV/MTT/Tmax/TTP maps,
infarct core and hypoperfusion volumes, QC flags and DEFUSE 3 / DAWN triage.

Entry point: ``run_perfusion(PerfusionRequest(volume, ...), progress, cancel)``.
torch is imported only when deconvolution runs.
"""

from ai.perfusion.pipeline import (
    PerfusionInputError,
    PerfusionRequest,
    PerfusionSettings,
    run_perfusion,
)
from ai.perfusion.result import PerfusionResult
from ai.perfusion.triage import ClinicalInputs

__all__ = [
    "ClinicalInputs",
    "PerfusionInputError",
    "PerfusionRequest",
    "PerfusionResult",
    "PerfusionSettings",
    "run_perfusion",
]
