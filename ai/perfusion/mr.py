"""MR specifics: the DSC echo time, and the ADC map that gives an MR study its core.

ADC series come in three unit conventions: mm^2/s (about 0.0008 in brain),
10^-3 mm^2/s (about 0.8) and 10^-6 mm^2/s (about 800, what most scanners
store). The unit is recognised from the median of the non-zero voxels and the
map converted to 10^-6 mm^2/s, the unit of the 620 core threshold. The ADC
series is resampled onto the perfusion grid through the patient (LPS)
coordinates of both, so it may have its own slices and field of view.
"""

from __future__ import annotations

import numpy as np

from workstation.model.conversions import to_sitk
from workstation.model.volume import Volume

#: (upper bound of the median non-zero value, scale to 10^-6 mm^2/s, unit name)
_ADC_UNITS = (
    (0.05, 1e6, "mm2/s"),
    (50.0, 1e3, "10^-3 mm2/s"),
    (float("inf"), 1.0, "10^-6 mm2/s"),
)


def echo_time_s(volume: Volume) -> float | None:
    """The DSC echo time in seconds, from the header's EchoTime (ms)."""
    value = volume.attributes.get("EchoTime")
    try:
        echo_ms = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return echo_ms / 1000.0 if echo_ms > 0 else None


def adc_micro_units(volume: Volume) -> tuple[np.ndarray, str]:
    """The ADC voxels in 10^-6 mm^2/s, float32, and the unit they were recognised in."""
    values = np.asarray(volume.voxels, dtype=np.float32)
    if values.ndim != 3:
        raise ValueError(f"an ADC map is a 3D image, got shape {values.shape}")
    positive = values[values > 0]
    if positive.size == 0:
        raise ValueError("the ADC map is empty (no positive values)")
    median = float(np.median(positive))
    for bound, scale, unit in _ADC_UNITS:
        if median < bound:
            return values * np.float32(scale), unit
    raise AssertionError("unreachable")


def adc_on_grid(adc: Volume, grid: Volume) -> tuple[np.ndarray, str]:
    """ADC (10^-6 mm^2/s) resampled linearly onto ``grid``'s voxels; 0 outside the ADC series."""
    import SimpleITK as sitk

    values, unit = adc_micro_units(adc)
    moving = to_sitk(adc.with_voxels(values))
    reference = to_sitk(grid, frame=0) if grid.is_4d else to_sitk(grid)
    resampled = sitk.Resample(moving, reference, sitk.Transform(), sitk.sitkLinear, 0.0)
    return sitk.GetArrayFromImage(resampled).astype(np.float32), unit
