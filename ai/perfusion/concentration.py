"""Signal to tracer concentration, and the uniform time grid deconvolution needs.

* CT: enhancement = HU minus the mean of the frames before the bolus arrives.
* MR DSC: ΔR2* = -ln(S / S0) / TE, S0 the mean baseline signal, TE from the header.

The baseline is found from the data (``bolus_arrival_frame``), never assumed, and
frame times are used as recorded: a series with irregular frame intervals is
resampled onto a uniform grid at its median interval before deconvolution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Relative spread of frame intervals above which the series counts as irregular.
IRREGULAR_INTERVAL_TOLERANCE = 0.05
#: Rise over baseline, as a fraction of the peak rise, that marks bolus arrival.
ARRIVAL_RISE_FRACTION = 0.1


@dataclass(frozen=True)
class TimeGrid:
    """Uniform sample times (s) the curves are deconvolved on."""

    times_s: np.ndarray
    interval_s: float
    #: True when the acquisition's frame times were irregular and curves are interpolated.
    resampled: bool

    @property
    def n_samples(self) -> int:
        return len(self.times_s)


def uniform_time_grid(frame_times_s: np.ndarray) -> TimeGrid:
    """The acquisition's own times when regular, else a grid at the median interval."""
    times = np.asarray(frame_times_s, dtype=float)
    if times.ndim != 1 or len(times) < 2:
        raise ValueError("a perfusion series needs at least two frame times")
    intervals = np.diff(times)
    if np.any(intervals <= 0):
        raise ValueError("frame times must increase from frame to frame")
    median = float(np.median(intervals))
    if np.all(np.abs(intervals - median) <= IRREGULAR_INTERVAL_TOLERANCE * median):
        return TimeGrid(times - times[0], float(np.mean(intervals)), resampled=False)
    count = int(np.floor((times[-1] - times[0]) / median + 1e-6)) + 1
    return TimeGrid(np.arange(count) * median, median, resampled=True)


def on_time_grid(curves: np.ndarray, frame_times_s: np.ndarray, grid: TimeGrid) -> np.ndarray:
    """Curves ``(T, ...)`` at the grid's times (linear interpolation when resampled), float32."""
    curves = np.asarray(curves, dtype=np.float32)
    if not grid.resampled:
        return curves
    times = np.asarray(frame_times_s, dtype=float) - float(frame_times_s[0])
    upper = np.clip(np.searchsorted(times, grid.times_s, side="right"), 1, len(times) - 1)
    lower = upper - 1
    weight = ((grid.times_s - times[lower]) / (times[upper] - times[lower])).clip(0, 1)
    weight = weight.astype(np.float32).reshape(-1, *([1] * (curves.ndim - 1)))
    return curves[lower] * (1 - weight) + curves[upper] * weight


def bolus_arrival_frame(vessel_curve: np.ndarray) -> int:
    """First frame at which a vessel-dominated enhancement curve has clearly risen.

    ``vessel_curve`` rises with contrast (CT HU, or MR signal drop as a positive
    number). Arrival is the first frame before the peak above baseline + 10 % of
    the peak rise, the baseline being the lowest early level (robust to noise).
    """
    curve = np.asarray(vessel_curve, dtype=float)
    peak = int(np.argmax(curve))
    if peak == 0:
        return 0
    base = float(np.median(curve[: max(1, (peak + 1) // 3)]))
    threshold = base + ARRIVAL_RISE_FRACTION * (curve[peak] - base)
    above = np.nonzero(curve[: peak + 1] > threshold)[0]
    return int(above[0]) if len(above) else peak


def baseline_slice(arrival_frame: int) -> slice:
    """Frames averaged for the baseline: those before arrival, leaving out the last one.

    The frame just before the detected arrival may already carry a little
    contrast, so it is skipped when at least two frames remain.
    """
    stop = arrival_frame - 1 if arrival_frame >= 3 else arrival_frame
    return slice(0, max(1, stop))


def ct_concentration(hu: np.ndarray, baseline: slice) -> np.ndarray:
    """Enhancement (HU) of curves ``(T, ...)`` over their own baseline, float32."""
    hu = np.asarray(hu, dtype=np.float32)
    return hu - hu[baseline].mean(axis=0, keepdims=True)


def mr_concentration(signal: np.ndarray, baseline: slice, echo_time_s: float) -> np.ndarray:
    """ΔR2* (1/s) of DSC signal curves ``(T, ...)``: -ln(S / S0) / TE, float32.

    Signal is floored at 0.1 % of S0 so that a fully dephased voxel gives a
    large finite value instead of infinity.
    """
    signal = np.asarray(signal, dtype=np.float32)
    s0 = signal[baseline].mean(axis=0, keepdims=True)
    s0 = np.maximum(s0, np.float32(1e-6))
    ratio = np.maximum(signal / s0, np.float32(1e-3))
    return -np.log(ratio) / np.float32(echo_time_s)
