"""Infarct core and hypoperfused tissue from the maps, and their volumes.

* CT core: relative CBF below ``core_relative_cbf`` (30 %), relative to the
  median CBF of tissue with Tmax below ``reference_tmax_s`` (4 s). The maps are
  only defined on tissue, so CSF and vessels never enter the reference. By
  default the core must also be hypoperfused (Tmax > 6 s): low flow with normal
  timing is noise or chronic tissue, not an acute core.
* MR core: ADC below ``adc_core`` (620 x 10^-6 mm^2/s) in brain tissue.
* Hypoperfusion: Tmax > ``hypoperfusion_tmax_s`` (6 s); also Tmax > 10 s.
* Connected clusters smaller than ``min_cluster_ml`` are removed from each mask.

Volumes are reported to 0.1 ml, and everything derived (mismatch, ratio, HIR)
and every triage decision uses those reported values, so what a reader sees
is exactly what was decided on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ai.perfusion.maps import PerfusionMaps


@dataclass(frozen=True)
class LesionSettings:
    core_relative_cbf: float = 0.30
    reference_tmax_s: float = 4.0
    hypoperfusion_tmax_s: float = 6.0
    severe_tmax_s: float = 10.0
    #: ADC core threshold, 10^-6 mm^2/s.
    adc_core: float = 620.0
    core_within_hypoperfusion: bool = True
    min_cluster_ml: float = 0.2

    def to_json(self) -> dict[str, object]:
        return {
            "core_relative_cbf": self.core_relative_cbf,
            "core_reference": f"median CBF of tissue with Tmax < {self.reference_tmax_s:g} s",
            "reference_tmax_s": self.reference_tmax_s,
            "hypoperfusion_tmax_s": self.hypoperfusion_tmax_s,
            "severe_tmax_s": self.severe_tmax_s,
            "adc_core_1e-6_mm2_per_s": self.adc_core,
            "core_within_hypoperfusion": self.core_within_hypoperfusion,
            "min_cluster_ml": self.min_cluster_ml,
        }


@dataclass
class LesionMasks:
    """Boolean masks on the input grid; ``core`` is None when it cannot be measured."""

    core: np.ndarray | None
    hypoperfusion: np.ndarray
    tmax_gt10: np.ndarray
    #: CBF (ml/100 g/min) the core is relative to (CT); None for an ADC core.
    reference_cbf: float | None
    #: "relative CBF", "ADC", or None.
    core_source: str | None


def remove_small_clusters(mask: np.ndarray, voxel_ml: float, min_ml: float) -> np.ndarray:
    """``mask`` without its 3D-connected clusters smaller than ``min_ml``."""
    labels, count = ndimage.label(mask)
    if count == 0 or min_ml <= 0:
        return mask
    sizes = np.bincount(labels.ravel()) * voxel_ml
    keep = sizes >= min_ml
    keep[0] = False
    return keep[labels]


def hypoperfusion_masks(
    maps: PerfusionMaps, voxel_ml: float, settings: LesionSettings
) -> tuple[np.ndarray, np.ndarray]:
    """Tmax above the hypoperfusion and the severe thresholds, in tissue, cleaned."""
    masks = []
    for threshold in (settings.hypoperfusion_tmax_s, settings.severe_tmax_s):
        mask = maps.tissue & (maps.tmax > threshold)
        masks.append(remove_small_clusters(mask, voxel_ml, settings.min_cluster_ml))
    return masks[0], masks[1]


def ct_lesions(maps: PerfusionMaps, voxel_ml: float, settings: LesionSettings) -> LesionMasks:
    """Core from relative CBF and hypoperfusion from Tmax."""
    hypoperfusion, severe = hypoperfusion_masks(maps, voxel_ml, settings)
    normal = maps.tissue & (maps.tmax < settings.reference_tmax_s)
    if not normal.any():
        return LesionMasks(None, hypoperfusion, severe, None, None)
    reference = float(np.median(maps.cbf[normal]))
    core = maps.tissue & (maps.cbf < settings.core_relative_cbf * reference)
    if settings.core_within_hypoperfusion:
        core &= hypoperfusion
    core = remove_small_clusters(core, voxel_ml, settings.min_cluster_ml)
    return LesionMasks(core, hypoperfusion, severe, reference, "relative CBF")


def adc_lesions(
    maps: PerfusionMaps, adc: np.ndarray, voxel_ml: float, settings: LesionSettings
) -> LesionMasks:
    """Core from ADC (10^-6 mm^2/s, on the maps' grid), hypoperfusion from Tmax."""
    hypoperfusion, severe = hypoperfusion_masks(maps, voxel_ml, settings)
    core = maps.tissue & (adc > 0) & (adc < settings.adc_core)
    core = remove_small_clusters(core, voxel_ml, settings.min_cluster_ml)
    return LesionMasks(core, hypoperfusion, severe, None, "ADC")


def _ml(mask: np.ndarray | None, voxel_ml: float) -> float | None:
    return None if mask is None else round(float(mask.sum()) * voxel_ml, 1)


@dataclass(frozen=True)
class LesionVolumes:
    """Reported volumes (ml, to 0.1 ml) and what follows from them."""

    core_ml: float | None
    hypoperfusion_ml: float
    tmax_gt10_ml: float

    @classmethod
    def of(cls, masks: LesionMasks, voxel_ml: float) -> LesionVolumes:
        return cls(
            core_ml=_ml(masks.core, voxel_ml),
            hypoperfusion_ml=_ml(masks.hypoperfusion, voxel_ml) or 0.0,
            tmax_gt10_ml=_ml(masks.tmax_gt10, voxel_ml) or 0.0,
        )

    @property
    def mismatch_ml(self) -> float | None:
        """Tmax > 6 s volume minus core volume."""
        if self.core_ml is None:
            return None
        return round(self.hypoperfusion_ml - self.core_ml, 1)

    @property
    def mismatch_ratio(self) -> float | None:
        """Tmax > 6 s volume / core volume, to 0.01; infinite when there is no core."""
        if self.core_ml is None:
            return None
        if self.core_ml == 0:
            return math.inf if self.hypoperfusion_ml > 0 else None
        return round(self.hypoperfusion_ml / self.core_ml, 2)

    @property
    def hir(self) -> float | None:
        """Hypoperfusion intensity ratio: Tmax > 10 s volume / Tmax > 6 s volume, to 0.01."""
        if self.hypoperfusion_ml == 0:
            return None
        return round(self.tmax_gt10_ml / self.hypoperfusion_ml, 2)
