"""Files or folders -> volumes: read headers, group by series, assemble.

This is the entry point the CLI, the viewer and the algorithms share. It also
recognises the other time-resolved layout scanners write: one series per time
point, all on the same grid, which it stacks into one 4D volume.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from workstation.dicom.assembly import AssemblyResult, Exclusion, SpacingPolicy, assemble_series
from workstation.dicom.headers import InstanceHeader, UnusableFile, read_instance
from workstation.model.progress import CancelToken, Progress, check, no_progress
from workstation.model.volume import Provenance, Volume

#: Fewer single-frame series than this on one grid are not treated as a time series.
MIN_TIME_POINTS = 3


@dataclass
class LoadResult:
    """Volumes found, files skipped with reasons, and notes for the user."""

    volumes: list[Volume] = field(default_factory=list)
    skipped: list[Exclusion] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: SOP Instance UID -> file, for every usable file read (derived objects cite them).
    files: dict[str, str] = field(default_factory=dict)


def iter_files(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Path]:
    """Every file under the given files and folders, in a stable order."""
    for path in map(Path, paths):
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    yield Path(root) / name
        else:
            yield path


def read_headers(
    files: list[Path],
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
) -> tuple[list[InstanceHeader], list[Exclusion]]:
    """Headers of the usable files, and the reason for each unusable one."""
    headers, skipped = [], []
    for count, path in enumerate(files, start=1):
        check(cancel)
        try:
            headers.append(read_instance(path))
        except UnusableFile as error:
            skipped.append(Exclusion(error.path, error.reason))
        if count % 32 == 0 or count == len(files):
            progress(count, len(files), "reading headers")
    return headers, skipped


def _same_grid_key(volume: Volume) -> tuple:
    return (
        volume.voxels.shape,
        tuple(np.round(volume.spacing, 3)),
        tuple(np.round(volume.origin, 2)),
        tuple(np.round(volume.direction.ravel(), 3)),
        volume.provenance.frame_of_reference_uid,
        volume.attributes.get("SeriesDescription", ""),
    )


def stack_time_point_series(volumes: list[Volume]) -> Volume:
    """One 4D volume from single-time-point 3D volumes on the same grid, in time order."""
    ordered = sorted(volumes, key=lambda v: float(v.attributes["AcquisitionSeconds"]))
    clock = np.array([float(v.attributes["AcquisitionSeconds"]) for v in ordered])
    clock[clock < clock[0] - 43200] += 86400  # a study running past midnight
    first = ordered[0]
    return Volume(
        voxels=np.stack([v.voxels for v in ordered]),
        spacing=first.spacing,
        origin=first.origin,
        direction=first.direction,
        modality=first.modality,
        frame_times=clock - clock[0],
        provenance=Provenance(
            series_uid=first.provenance.series_uid,
            study_uid=first.provenance.study_uid,
            frame_of_reference_uid=first.provenance.frame_of_reference_uid,
            sop_instance_uids=first.provenance.sop_instance_uids,
            source=first.provenance.source,
        ),
        warnings=[f"{len(ordered)} single-time-point series stacked into one 4D volume"],
        attributes=dict(first.attributes),
    )


def combine_time_point_series(volumes: list[Volume]) -> tuple[list[Volume], list[str]]:
    """Stack groups of same-grid 3D series with distinct acquisition times into 4D."""
    groups: dict[tuple, list[Volume]] = defaultdict(list)
    others: list[Volume] = []
    for volume in volumes:
        if volume.is_4d or "AcquisitionSeconds" not in volume.attributes:
            others.append(volume)
        else:
            groups[_same_grid_key(volume)].append(volume)
    combined, notes = [], []
    for group in groups.values():
        times = {round(float(v.attributes["AcquisitionSeconds"]), 3) for v in group}
        if len(group) >= MIN_TIME_POINTS and len(times) == len(group):
            combined.append(stack_time_point_series(group))
            notes.append(f"{len(group)} series recognised as time points of one 4D series")
        else:
            others.extend(group)
    return combined + others, notes


def load_headers(
    headers: list[InstanceHeader],
    *,
    policy: SpacingPolicy = "resample",
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
    max_volume_bytes: int | None = None,
) -> LoadResult:
    """Assemble already-read headers, series by series (see :func:`assemble_series`)."""
    by_series: dict[str, list[InstanceHeader]] = defaultdict(list)
    for header in headers:
        by_series[header.series_uid].append(header)
    result = LoadResult()
    for series_headers in by_series.values():
        assembled: AssemblyResult = assemble_series(
            series_headers,
            policy=policy,
            progress=progress,
            cancel=cancel,
            max_volume_bytes=max_volume_bytes,
        )
        result.volumes.extend(assembled.volumes)
        result.skipped.extend(assembled.excluded)
        result.notes.extend(assembled.notes)
    result.volumes, notes = combine_time_point_series(result.volumes)
    result.notes.extend(notes)
    return result


def preview_volume(headers: Sequence[InstanceHeader]) -> Volume | None:
    """The middle image of the largest series as a one-slice volume: a first look while
    the whole series is read. None when there is no single-frame image to show."""
    by_series: dict[str, list[InstanceHeader]] = defaultdict(list)
    for header in headers:
        if (
            header.number_of_frames == 1
            and header.image_position is not None
            and header.image_orientation is not None
            and len(header.image_orientation) == 6
        ):
            by_series[header.series_uid].append(header)
    if not by_series:
        return None
    largest = max(by_series.values(), key=len)
    row, column = (np.asarray(v, float) for v in np.reshape(largest[0].image_orientation, (2, 3)))
    normal = np.cross(row, column)
    largest.sort(key=lambda h: float(np.dot(h.image_position, normal)))
    try:
        assembled = assemble_series([largest[len(largest) // 2]])
    except Exception:  # a preview must never stop the real load, which reports properly
        return None
    return assembled.volumes[0] if assembled.volumes else None


def load_paths(
    paths: Iterable[str | os.PathLike[str]],
    *,
    policy: SpacingPolicy = "resample",
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
    preview: Callable[[Volume], None] | None = None,
    max_volume_bytes: int | None = None,
) -> LoadResult:
    """Load every series found under ``paths`` (files and folders).

    ``preview``, when given, receives :func:`preview_volume` as soon as the headers are
    read, before the pixels of the whole series are. A volume over ``max_volume_bytes``
    (default: the memory budget) is refused with a note, never allocated.
    """
    files = list(iter_files(paths))
    headers, skipped = read_headers(files, progress, cancel)
    if preview is not None:
        first = preview_volume(headers)
        if first is not None:
            preview(first)
    result = load_headers(
        headers, policy=policy, progress=progress, cancel=cancel, max_volume_bytes=max_volume_bytes
    )
    result.skipped[:0] = skipped
    result.files = {header.sop_instance_uid: str(header.path) for header in headers}
    return result
