"""Series -> Volume: the core every viewer and algorithm relies on.

Given the headers of one series, decide which slices form which volume (mixed
orientations or sizes split into sub-volumes; localizers excluded), order them
along the slice normal, split repeated positions into time points, take the
spacing from the positions, repair what can be repaired (gantry tilt, missing
slices, irregular spacing) and say so in ``Volume.warnings``, then read the
pixels straight into the volume: a volume over the memory budget is refused before
it is allocated, and a slice whose pixels cannot be read is left out with its
reason, the gap repaired as a missing slice would be.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from scipy import ndimage

from workstation.dicom.geometry import (
    TILT_TOLERANCE_DEG,
    SpacingCheck,
    check_spacing,
    describe_stack,
    group_stacks,
    index_positions,
    tilt_offsets,
)
from workstation.dicom.headers import InstanceHeader
from workstation.dicom.memory_budget import OverBudget, check_budget, volume_budget
from workstation.dicom.pixels import PixelReadError, SliceReader, choose_output_dtype, read_into
from workstation.dicom.slices import SliceGeometryError, SliceRef, slices_of
from workstation.dicom.temporal import dicom_time_seconds, split_time_points
from workstation.model.progress import CancelToken, Progress, check, no_progress
from workstation.model.volume import Provenance, Volume

SpacingPolicy = Literal["resample", "refuse"]


class AssemblyError(ValueError):
    """A series that cannot become a volume, with the reason for the user."""


@dataclass
class Exclusion:
    """A file (or frame) left out of every volume, and why."""

    path: str
    reason: str


@dataclass
class AssemblyResult:
    """The volumes a series gives, plus what was left out and why."""

    volumes: list[Volume] = field(default_factory=list)
    excluded: list[Exclusion] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class _StackPlan:
    """Slices of one volume ordered [frame][position], with geometry decided."""

    frames: list[list[SliceRef]]
    frame_times: np.ndarray | None
    distances: np.ndarray
    warnings: list[str]


def _is_localizer(header: InstanceHeader) -> bool:
    return any(value.upper() == "LOCALIZER" for value in header.image_type)


def _usable_slices(headers: Sequence[InstanceHeader], result: AssemblyResult) -> list[SliceRef]:
    slices: list[SliceRef] = []
    for header in headers:
        if _is_localizer(header):
            result.excluded.append(Exclusion(header.path, "localizer (scout) image"))
            continue
        try:
            slices.extend(slices_of(header))
        except SliceGeometryError as error:
            result.excluded.append(Exclusion(header.path, str(error)))
    return slices


def _drop_duplicates(
    stack: list[SliceRef], position_ids: list[int], result: AssemblyResult
) -> list[SliceRef]:
    """Keep one slice per position (lowest InstanceNumber) when no time tells them apart."""
    kept: dict[int, SliceRef] = {}
    order = sorted(
        zip(stack, position_ids, strict=True),
        key=lambda pair: (pair[0].header.instance_number or 0, pair[0].header.sop_instance_uid),
    )
    for slice_ref, pid in order:
        if pid in kept:
            result.excluded.append(
                Exclusion(slice_ref.header.path, "duplicate slice position (kept another)")
            )
        else:
            kept[pid] = slice_ref
    return [kept[pid] for pid in sorted(kept)]


def _plan_stack(stack: list[SliceRef], result: AssemblyResult) -> _StackPlan:
    normal = stack[0].normal
    index = index_positions(stack, normal)
    n_positions = len(index.distances)
    warnings: list[str] = []
    frame_times = None
    if n_positions == len(stack):
        by_position = sorted(zip(index.position_ids, stack, strict=True), key=lambda p: p[0])
        frames = [[slice_ref for _, slice_ref in by_position]]
    else:
        split = split_time_points(stack, index.position_ids, n_positions)
        if split is not None:
            frames = [
                sorted(frame, key=lambda s: float(s.position @ normal)) for frame in split.frames
            ]
            frame_times = split.frame_times
            if split.note:
                warnings.append(split.note)
        else:
            frames = [_drop_duplicates(stack, index.position_ids, result)]
            dropped = len(stack) - n_positions
            warnings.append(f"{dropped} slice(s) at duplicate positions ignored")
    return _StackPlan(frames, frame_times, index.distances, warnings)


def _read_pixels(
    frames: list[list[SliceRef]], budget: int, progress: Progress, cancel: CancelToken | None
) -> tuple[np.ndarray, dict[int, PixelReadError]]:
    """The voxels ``[t, z, y, x]``, and why each position ``z`` that failed could not be read.

    The voxels of a failed position are left unset: the caller drops the position.
    """
    first = frames[0][0]
    shape = (len(frames), len(frames[0]), *first.shape)
    all_slices = [s for frame in frames for s in frame]
    dtype = choose_output_dtype(all_slices)
    voxels = " × ".join(map(str, shape if len(frames) > 1 else shape[1:]))
    check_budget(math.prod(shape) * dtype.itemsize, budget, f"a volume of {voxels} voxels")
    out = np.empty(shape, dtype=dtype)
    reader = SliceReader(budget)
    failed: dict[int, PixelReadError] = {}
    total = len(all_slices)
    done = 0
    for t, frame in enumerate(frames):
        for z, slice_ref in enumerate(frame):
            check(cancel)
            if z not in failed:
                try:
                    try:
                        read_into(reader, slice_ref, out[t, z])
                    except OverflowError:
                        out = out.astype(np.float32)
                        read_into(reader, slice_ref, out[t, z])
                except PixelReadError as error:
                    failed[z] = error
            done += 1
            if done % 16 == 0 or done == total:
                progress(done, total, "reading pixels")
    return out, failed


def _without_unreadable(
    plan: _StackPlan,
    voxels: np.ndarray,
    failed: dict[int, PixelReadError],
    result: AssemblyResult,
) -> tuple[_StackPlan, np.ndarray]:
    """The plan and voxels less the positions that failed; their files are excluded."""
    reasons = {error.path: error.reason for error in failed.values()}
    for z in failed:  # other time points at a lost position go with it
        for frame in plan.frames:
            path = frame[z].header.path
            reasons.setdefault(path, "its slice position was lost: another time point failed")
    result.excluded.extend(Exclusion(path, reason) for path, reason in reasons.items())
    keep = [z for z in range(len(plan.frames[0])) if z not in failed]
    if not keep:
        raise AssemblyError(f"the pixel data of none of its {len(failed)} slice(s) could be read")
    warning = f"{len(failed)} slice position(s) left out: their pixel data could not be read"
    frames = [[frame[z] for z in keep] for frame in plan.frames]
    trimmed = _StackPlan(frames, plan.frame_times, plan.distances[keep], [*plan.warnings, warning])
    return trimmed, voxels[:, keep]


def _correct_tilt(voxels: np.ndarray, plan: _StackPlan, spacing_xy: tuple[float, float]) -> str:
    """Shear each slice in-plane so the stack stands on the slice normal."""
    first = plan.frames[0][0]
    positions = np.array([s.position for s in plan.frames[0]])
    angle, offsets = tilt_offsets(
        positions, first.row_direction, first.column_direction, first.normal
    )
    if angle <= TILT_TOLERANCE_DEG:
        return ""
    background = float(voxels.min())
    for z in range(voxels.shape[1]):
        shift_rows = offsets[z, 1] / spacing_xy[1]
        shift_columns = offsets[z, 0] / spacing_xy[0]
        if abs(shift_rows) < 1e-3 and abs(shift_columns) < 1e-3:
            continue
        for t in range(voxels.shape[0]):
            voxels[t, z] = ndimage.shift(
                voxels[t, z].astype(np.float32),
                (shift_rows, shift_columns),
                order=1,
                cval=background,
            )
    return f"gantry tilt of {angle:.1f}° corrected by shearing the slices"


def _resample_uniform(
    voxels: np.ndarray, distances: np.ndarray, step: float
) -> tuple[np.ndarray, np.ndarray]:
    """Linear interpolation along z onto a grid of constant ``step``."""
    count = round((distances[-1] - distances[0]) / step) + 1
    targets = distances[0] + step * np.arange(count)
    upper = np.clip(np.searchsorted(distances, targets, side="right"), 1, len(distances) - 1)
    lower = upper - 1
    weight = ((targets - distances[lower]) / (distances[upper] - distances[lower])).clip(0, 1)
    out = np.empty((voxels.shape[0], count, *voxels.shape[2:]), dtype=voxels.dtype)
    for z in range(count):
        blend = voxels[:, lower[z]] * (1 - weight[z]) + voxels[:, upper[z]] * weight[z]
        out[:, z] = np.rint(blend) if np.issubdtype(out.dtype, np.integer) else blend
    return out, targets


def _nearest_uids(plan: _StackPlan, targets: np.ndarray) -> list[str]:
    nearest = np.abs(plan.distances[None, :] - targets[:, None]).argmin(axis=1)
    return [plan.frames[0][i].header.sop_instance_uid for i in nearest]


def _attributes(header: InstanceHeader) -> dict[str, object]:
    attributes: dict[str, object] = {
        "SeriesDescription": header.series_description,
        "SeriesNumber": header.series_number,
        "BodyPartExamined": header.body_part,
        # who and which study: the reading context names them on every panel
        "PatientID": header.patient_id,
        "PatientName": header.patient_name,
        "PatientBirthDate": header.patient_birth_date,
        "PatientSex": header.patient_sex,
        "StudyDate": header.study_date,
        "StudyTime": header.study_time,
        "StudyDescription": header.study_description,
        "AccessionNumber": header.accession_number,
    }
    if header.echo_time is not None:
        attributes["EchoTime"] = header.echo_time
    clock = dicom_time_seconds(header.acquisition_time or header.content_time)
    if clock is not None:
        attributes["AcquisitionSeconds"] = clock
    return attributes


def _checked_spacing(plan: _StackPlan, policy: SpacingPolicy) -> SpacingCheck:
    spacing = check_spacing(plan.distances)
    if not spacing.uniform and policy == "refuse":
        raise AssemblyError(f"{spacing.problem}; refusing to resample")
    return spacing


def _build_volume(
    plan: _StackPlan,
    policy: SpacingPolicy,
    budget: int,
    progress: Progress,
    cancel: CancelToken | None,
    result: AssemblyResult,
) -> Volume:
    _checked_spacing(plan, policy)  # refused before a pixel is read
    voxels, failed = _read_pixels(plan.frames, budget, progress, cancel)
    if failed:
        plan, voxels = _without_unreadable(plan, voxels, failed, result)
    spacing = _checked_spacing(plan, policy)
    first = plan.frames[0][0]
    spacing_xy = first.pixel_spacing_xy
    warnings = list(plan.warnings)
    tilt_note = _correct_tilt(voxels, plan, spacing_xy)
    if tilt_note:
        warnings.append(tilt_note)
    uids = [s.header.sop_instance_uid for s in plan.frames[0]]
    if not spacing.uniform:
        voxels, targets = _resample_uniform(voxels, plan.distances, spacing.step)
        uids = _nearest_uids(plan, targets)
        warnings.append(f"{spacing.problem}: resampled to a uniform {spacing.step:.3g} mm step")
    step = spacing.step or first.header.slice_thickness or 1.0
    header = first.header
    return Volume(
        voxels=voxels if plan.frame_times is not None else voxels[0],
        spacing=(spacing_xy[0], spacing_xy[1], step),
        origin=tuple(first.position),
        direction=np.column_stack([first.row_direction, first.column_direction, first.normal]),
        modality=header.modality or "OT",
        frame_times=plan.frame_times,
        provenance=Provenance(
            series_uid=header.series_uid,
            study_uid=header.study_uid,
            frame_of_reference_uid=header.frame_of_reference_uid,
            sop_instance_uids=uids,
            source=header.path,
        ),
        warnings=warnings,
        attributes=_attributes(header),
    )


def assemble_series(
    headers: Sequence[InstanceHeader],
    *,
    policy: SpacingPolicy = "resample",
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
    max_volume_bytes: int | None = None,
) -> AssemblyResult:
    """Assemble the instances of one series into one or more volumes.

    The largest stack comes first. Files that fit no volume are listed in
    ``excluded`` with the reason; problems that stop a stack become ``notes``.
    A volume over ``max_volume_bytes`` (default: :func:`volume_budget`) is refused.
    """
    budget = max_volume_bytes or volume_budget()
    result = AssemblyResult()
    slices = _usable_slices(headers, result)
    if not slices:
        result.notes.append("no slice with image geometry")
        return result
    stacks = group_stacks(slices)
    if len(stacks) > 1:
        kinds = ", ".join(f"{describe_stack(s)} ({len(s)})" for s in stacks)
        result.notes.append(f"series split into {len(stacks)} volumes: {kinds}")
    for stack in stacks:
        try:
            plan = _plan_stack(stack, result)
            volume = _build_volume(plan, policy, budget, progress, cancel, result)
        except (AssemblyError, PixelReadError, OverBudget) as error:
            result.notes.append(f"{describe_stack(stack)}: {error}")
            continue
        if len(stacks) > 1:
            volume.warnings.append(f"one of {len(stacks)} volumes split from a mixed series")
        result.volumes.append(volume)
    return result
