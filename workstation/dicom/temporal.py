"""Split a stack whose positions repeat into time points, and time them.

Scanners write time-resolved series (CT perfusion, DSC-MR) as one series whose
slice positions repeat, telling the repeats apart by TemporalPositionIdentifier,
TriggerTime, AcquisitionNumber, AcquisitionTime or ContentTime; none of them is
reliable across vendors, so each is tried in turn. Frame times are in seconds
from the first frame.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from workstation.dicom.slices import SliceRef

#: Keys that identify a time point, most specific first.
TIME_KEYS = (
    "TemporalPositionIdentifier",
    "TriggerTime",
    "AcquisitionNumber",
    "AcquisitionTime",
    "ContentTime",
)
_CLOCK_KEYS = ("AcquisitionTime", "ContentTime")


def dicom_time_seconds(value: object) -> float | None:
    """Seconds since midnight of a DICOM TM value like '101530.25' or '10:15:30'."""
    if value in (None, ""):
        return None
    text = str(value).strip().replace(":", "")
    try:
        hours = int(text[0:2])
        minutes = int(text[2:4]) if len(text) >= 4 else 0
        seconds = float(text[4:]) if len(text) > 4 else 0.0
    except ValueError:
        return None
    return hours * 3600 + minutes * 60 + seconds


@dataclass
class TimeSplit:
    """Slices grouped per frame (each sorted later by position) and their times."""

    frames: list[list[SliceRef]]
    frame_times: np.ndarray
    key: str
    note: str = ""


def _clock(slice_ref: SliceRef) -> float | None:
    for key in _CLOCK_KEYS:
        seconds = dicom_time_seconds(slice_ref.temporal.get(key))
        if seconds is not None:
            return seconds
    return None


def _unwrap_midnight(times: np.ndarray) -> np.ndarray:
    """Make clock times monotonic across midnight (a study at 23:59 goes on)."""
    times = times.copy()
    for index in range(1, len(times)):
        while times[index] < times[index - 1] - 43200:
            times[index:] += 86400
    return times


def _frame_times(frames: list[list[SliceRef]], key: str) -> tuple[np.ndarray, str]:
    if key == "TriggerTime":
        values = [np.median([float(s.temporal[key]) for s in frame]) / 1000.0 for frame in frames]
        times = np.asarray(values)
        return times - times[0], ""
    clocks = [[_clock(s) for s in frame] for frame in frames]
    if all(c is not None for frame in clocks for c in frame):
        times = _unwrap_midnight(np.asarray([float(np.median(frame)) for frame in clocks]))
        return times - times[0], ""
    return np.arange(len(frames), dtype=float), "frame times unknown: assumed 1 s apart"


def _split_by_key(
    slices: list[SliceRef], key: str, positions_per_frame: int
) -> list[list[SliceRef]] | None:
    groups: dict[object, list[SliceRef]] = defaultdict(list)
    for slice_ref in slices:
        value = slice_ref.temporal.get(key)
        if value in (None, ""):
            return None
        groups[value].append(slice_ref)
    if len(groups) < 2 or any(len(g) != positions_per_frame for g in groups.values()):
        return None
    order = sorted(groups, key=lambda v: _sortable(key, v))
    return [groups[value] for value in order]


def _sortable(key: str, value: object) -> float:
    if key in _CLOCK_KEYS:
        return dicom_time_seconds(value) or 0.0
    return float(value)  # type: ignore[arg-type]


def _split_by_occurrence(
    slices: list[SliceRef], position_ids: list[int], positions_per_frame: int
) -> list[list[SliceRef]] | None:
    """The n-th slice at each position, in time order, belongs to frame n."""
    by_position: dict[int, list[SliceRef]] = defaultdict(list)
    for slice_ref, pid in zip(slices, position_ids, strict=True):
        by_position[pid].append(slice_ref)
    counts = {len(group) for group in by_position.values()}
    if len(counts) != 1 or len(by_position) != positions_per_frame:
        return None
    if any(_clock(s) is None for s in slices):
        return None
    n_frames = counts.pop()
    for group in by_position.values():
        group.sort(key=lambda s: (_clock(s), s.header.instance_number or 0))
    return [[by_position[pid][t] for pid in sorted(by_position)] for t in range(n_frames)]


def split_time_points(
    slices: list[SliceRef], position_ids: list[int], positions_per_frame: int
) -> TimeSplit | None:
    """Group repeated-position slices into frames, or None if nothing tells them apart."""
    position_of = {id(s): pid for s, pid in zip(slices, position_ids, strict=True)}
    every_position = set(range(positions_per_frame))
    for key in TIME_KEYS:
        frames = _split_by_key(slices, key, positions_per_frame)
        # A valid split puts every position exactly once in each frame.
        if frames is None or any(
            {position_of[id(s)] for s in frame} != every_position for frame in frames
        ):
            continue
        times, note = _frame_times(frames, key)
        return TimeSplit(frames=frames, frame_times=times, key=key, note=note)
    frames = _split_by_occurrence(slices, position_ids, positions_per_frame)
    if frames is None:
        return None
    times, note = _frame_times(frames, "AcquisitionTime")
    return TimeSplit(frames=frames, frame_times=times, key="slice time order", note=note)
