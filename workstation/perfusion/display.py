"""What a viewer shows of a perfusion result, without Qt: the overlay arrays (maps clear
outside tissue, core and Tmax > 6 s as two labels), the vascular curves, and the
time-density curve of one voxel on the same scale as the arterial curve.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from workstation.model.volume import Volume

if TYPE_CHECKING:
    from ai.perfusion import PerfusionResult

#: The maps in the order the selector offers them: name -> (label, unit shown).
MAPS = {
    "cbf": ("CBF", "ml/100 g/min"),
    "cbv": ("CBV", "ml/100 g"),
    "mtt": ("MTT", "s"),
    "tmax": ("Tmax", "s"),
    "ttp": ("TTP", "s"),
}
#: Label values of the lesion overlay: Tmax > 6 s (hypoperfusion) and the core inside it.
HYPOPERFUSION_LABEL = 1
CORE_LABEL = 2


@dataclass(frozen=True)
class Curve:
    """A time-density curve as plotted: seconds from the first frame, and its unit."""

    times_s: np.ndarray
    values: np.ndarray
    unit: str


def map_window(name: str) -> tuple[float, float]:
    """The display range of a map: the one its DICOM Parametric Map and summary use."""
    from workstation.dicom.parametric_map import PERFUSION_QUANTITIES

    return PERFUSION_QUANTITIES[name].window


def map_values(result: PerfusionResult, name: str) -> np.ndarray:
    """A map as float32 with NaN (drawn clear) outside the tissue the maps cover."""
    values = np.asarray(result.maps.as_dict()[name], np.float32)
    return np.where(result.maps.tissue, values, np.float32(np.nan))


def lesion_labels(result: PerfusionResult) -> np.ndarray:
    """Tmax > 6 s as :data:`HYPOPERFUSION_LABEL`, the core over it as :data:`CORE_LABEL`."""
    lesions = result.lesions
    labels = np.where(lesions.hypoperfusion, HYPOPERFUSION_LABEL, 0).astype(np.int32)
    if lesions.core is not None:
        labels[lesions.core] = CORE_LABEL
    return labels


def lesion_centre(result: PerfusionResult, volume: Volume) -> tuple[float, float, float] | None:
    """LPS centre of the core (else of Tmax > 6 s), to show the lesion first; None if none."""
    lesions = result.lesions
    for mask in (lesions.core, lesions.hypoperfusion):
        if mask is not None and mask.any():
            z, y, x = (float(np.mean(axis)) for axis in np.nonzero(mask))
            centre = volume.index_to_world(np.array([round(x), round(y), round(z)]))
            return float(centre[0]), float(centre[1]), float(centre[2])
    return None


def vascular_curves(result: PerfusionResult) -> dict[str, Curve]:
    """The arterial (and venous, when found) curves the maps were computed with."""
    curves = {"AIF": Curve(result.aif.times_s, result.aif.values, result.aif.unit)}
    if result.vof is not None:
        curves["VOF"] = Curve(result.vof.times_s, result.vof.values, result.vof.unit)
    return curves


def voxel_curve(volume: Volume, result: PerfusionResult, lps: Sequence[float]) -> Curve | None:
    """The enhancement curve of the voxel at ``lps``, in the AIF's unit; None outside.

    Converted like the engine converts every curve: CT HU over the baseline frames
    the analysis found, MR ΔR2* from the signal drop (with the header's echo time).
    """
    from ai.perfusion.concentration import ct_concentration, mr_concentration
    from ai.perfusion.mr import echo_time_s

    i, j, k = np.rint(volume.world_to_index(np.asarray(lps, float))).astype(int)
    z, y, x = volume.shape_zyx
    if not (0 <= i < x and 0 <= j < y and 0 <= k < z):
        return None
    signal = np.asarray(volume.voxels[:, k, j, i], np.float32)
    baseline = slice(0, max(1, int(result.input.get("baseline_frames", 1))))
    if result.modality == "CT":
        values = ct_concentration(signal, baseline)
    else:
        values = mr_concentration(signal, baseline, echo_time_s(volume) or 1.0)
    times = np.asarray(volume.frame_times, float) - float(volume.frame_times[0])
    return Curve(times, values, result.aif.unit)
