"""The result of a perfusion analysis, and its ``perfusion.json`` form.

``perfusion.json`` keys (the CLI, the UI, reports and tests share them):

========================= ==================================================
``modality``              "CT" or "MR"
``core_ml``               infarct core volume (null for MR without ADC)
``hypoperfusion_ml``      Tmax > 6 s volume
``tmax_gt10_ml``          Tmax > 10 s volume
``mismatch_ml``           hypoperfusion - core (null without a core)
``mismatch_ratio``        hypoperfusion / core; the string "inf" when core = 0
``hir``                   Tmax > 10 s / Tmax > 6 s volume (null when no Tmax > 6 s)
``thresholds``            the thresholds used, and the reference CBF
``aif``, ``vof``          voxel positions (LPS mm), curve (times, values, unit)
``qc``                    the QC flags (raised or not, with values)
``triage``                ``defuse3`` and ``dawn``: status and reasons
``timings_s``             seconds per stage
``algorithm``             name and version, ``ai_generated: true``, device, constants
``ai_generated``          always true: nothing here was reviewed by a physician
``input``                 what was analysed (frames, interval, grid, source)
========================= ==================================================

Volumes are in ml to 0.1 ml; the triage used exactly these values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ai.perfusion.arterial_input import VascularCurve
from ai.perfusion.lesions import LesionMasks, LesionVolumes
from ai.perfusion.maps import PerfusionMaps
from ai.perfusion.qc import QcReport
from ai.perfusion.triage import TriageDecision
from workstation.model.volume import Volume

ALGORITHM_NAME = "halong-perfusion"
ALGORITHM_VERSION = "1.0.0"
JSON_KEYS = (
    "modality",
    "core_ml",
    "hypoperfusion_ml",
    "tmax_gt10_ml",
    "mismatch_ml",
    "mismatch_ratio",
    "hir",
    "thresholds",
    "aif",
    "vof",
    "qc",
    "triage",
    "timings_s",
    "algorithm",
    "ai_generated",
    "input",
)


@dataclass
class CurveResult:
    """A vascular curve as reported: where (LPS mm), when (s), how much (unit)."""

    kind: str
    automatic: bool
    positions_lps_mm: np.ndarray  # (k, 3)
    times_s: np.ndarray
    values: np.ndarray
    unit: str
    peak: float
    time_to_peak_s: float
    area: float
    partial_volume_scale: float | None = None

    @classmethod
    def of(
        cls,
        curve: VascularCurve,
        volume: Volume,
        unit: str,
        partial_volume_scale: float | None = None,
    ) -> CurveResult:
        ijk = curve.indices_zyx[:, ::-1].astype(float)
        return cls(
            kind=curve.kind,
            automatic=curve.automatic,
            positions_lps_mm=volume.index_to_world(ijk),
            times_s=np.asarray(volume.frame_times) - float(volume.frame_times[0]),
            values=curve.curve,
            unit=unit,
            peak=curve.peak,
            time_to_peak_s=curve.time_to_peak_s,
            area=curve.area,
            partial_volume_scale=partial_volume_scale,
        )

    @property
    def position_lps_mm(self) -> tuple[float, float, float]:
        """Mean position of the voxels averaged."""
        x, y, z = self.positions_lps_mm.mean(axis=0)
        return float(x), float(y), float(z)

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "position_lps_mm": [round(v, 2) for v in self.position_lps_mm],
            "voxels_lps_mm": np.round(self.positions_lps_mm, 2).tolist(),
            "automatic": self.automatic,
            "curve": {
                "times_s": np.round(self.times_s, 3).tolist(),
                "values": np.round(self.values.astype(float), 3).tolist(),
                "unit": self.unit,
            },
            "peak": round(self.peak, 3),
            "time_to_peak_s": round(self.time_to_peak_s, 3),
            "area": round(self.area, 3),
        }
        if self.partial_volume_scale is not None:
            out["partial_volume_scale"] = round(self.partial_volume_scale, 4)
        return out


def _ratio(value: float | None) -> float | str | None:
    if value is not None and math.isinf(value):
        return "inf"
    return value


@dataclass
class PerfusionResult:
    """Everything one analysis produced; maps and masks stay in memory, the rest goes to JSON."""

    modality: str
    volumes: LesionVolumes
    lesions: LesionMasks
    maps: PerfusionMaps
    thresholds: dict[str, object]
    aif: CurveResult
    vof: CurveResult | None
    qc: QcReport
    defuse3: TriageDecision
    dawn: TriageDecision
    algorithm: dict[str, object]
    input: dict[str, object]
    timings_s: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        volumes = self.volumes
        return {
            "modality": self.modality,
            "core_ml": volumes.core_ml,
            "hypoperfusion_ml": volumes.hypoperfusion_ml,
            "tmax_gt10_ml": volumes.tmax_gt10_ml,
            "mismatch_ml": volumes.mismatch_ml,
            "mismatch_ratio": _ratio(volumes.mismatch_ratio),
            "hir": volumes.hir,
            "thresholds": self.thresholds,
            "aif": self.aif.to_json(),
            "vof": self.vof.to_json() if self.vof else None,
            "qc": self.qc.to_json(),
            "triage": {"defuse3": self.defuse3.to_json(), "dawn": self.dawn.to_json()},
            "timings_s": {k: round(v, 3) for k, v in self.timings_s.items()},
            "algorithm": self.algorithm,
            "ai_generated": True,
            "input": self.input,
        }
