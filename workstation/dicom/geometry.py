"""Slice-stack geometry: grouping, ordering along the normal, spacing and tilt.

Spacing comes from the slice positions, never from SliceThickness (which is the
reconstructed thickness, and overlaps or gaps are common). Positions are
projected on the slice normal, so InstanceNumber and file names never decide
the order.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from workstation.dicom.slices import SliceRef

#: Two slices closer than this along the normal share a position (mm).
POSITION_TOLERANCE_MM = 0.01
#: Relative deviation of a slice gap from the median gap that counts as non-uniform.
SPACING_TOLERANCE = 0.02
#: Gantry tilt below this is rounding noise, not tilt (degrees).
TILT_TOLERANCE_DEG = 0.05


def stack_key(slice_ref: SliceRef) -> tuple:
    """Slices with the same key can form one volume (orientation, size, pixel spacing)."""
    return (
        tuple(np.round(slice_ref.row_direction, 3)),
        tuple(np.round(slice_ref.column_direction, 3)),
        slice_ref.shape,
        tuple(round(s, 4) for s in slice_ref.pixel_spacing_xy),
    )


def group_stacks(slices: list[SliceRef]) -> list[list[SliceRef]]:
    """Split slices into stacks of one orientation and size, largest stack first."""
    groups: dict[tuple, list[SliceRef]] = defaultdict(list)
    for slice_ref in slices:
        groups[stack_key(slice_ref)].append(slice_ref)
    return sorted(groups.values(), key=len, reverse=True)


def describe_stack(stack: list[SliceRef]) -> str:
    """A short label for a stack, e.g. 'axial 512x512' (for notes to the user)."""
    normal = stack[0].normal
    axis = int(np.argmax(np.abs(normal)))
    plane = ("sagittal", "coronal", "axial")[axis]
    if abs(normal[axis]) < 0.9:
        plane = f"oblique ({plane}-like)"
    rows, columns = stack[0].shape
    return f"{plane} {columns}x{rows}"


@dataclass
class PositionIndex:
    """Distinct positions along the normal (ascending) and each slice's position id."""

    distances: np.ndarray
    position_ids: list[int]


def index_positions(stack: list[SliceRef], normal: np.ndarray) -> PositionIndex:
    """Cluster slices by their distance along the normal."""
    distance = np.array([float(s.position @ normal) for s in stack])
    order = np.argsort(distance, kind="stable")
    ids = np.empty(len(stack), dtype=int)
    distinct: list[float] = []
    for index in order:
        if not distinct or distance[index] - distinct[-1] > POSITION_TOLERANCE_MM:
            distinct.append(float(distance[index]))
        ids[index] = len(distinct) - 1
    return PositionIndex(distances=np.asarray(distinct), position_ids=ids.tolist())


@dataclass
class SpacingCheck:
    """The uniform slice step, and what is wrong with the stack if anything."""

    step: float
    uniform: bool
    missing_slices: int
    problem: str


def check_spacing(distances: np.ndarray) -> SpacingCheck:
    """Decide the slice step and detect gaps (missing slices) or irregular spacing."""
    if len(distances) < 2:
        return SpacingCheck(step=0.0, uniform=True, missing_slices=0, problem="")
    gaps = np.diff(distances)
    step = float(np.median(gaps))
    # A missing slice doubles the gap but leaves the median at the true step.
    deviation = np.abs(gaps - step) / step
    if np.all(deviation <= SPACING_TOLERANCE):
        return SpacingCheck(step=step, uniform=True, missing_slices=0, problem="")
    multiples = gaps / step
    near_integer = np.abs(multiples - np.round(multiples)) <= SPACING_TOLERANCE
    if np.all(near_integer):
        missing = int(np.sum(np.round(multiples) - 1))
        return SpacingCheck(
            step=step,
            uniform=False,
            missing_slices=missing,
            problem=f"{missing} missing slice(s) (gap of {gaps.max():.2f} mm, step {step:.2f} mm)",
        )
    return SpacingCheck(
        step=step,
        uniform=False,
        missing_slices=0,
        problem=(
            f"non-uniform slice spacing ({gaps.min():.2f} to {gaps.max():.2f} mm, "
            f"median {step:.2f} mm)"
        ),
    )


def tilt_offsets(
    positions: np.ndarray, row: np.ndarray, column: np.ndarray, normal: np.ndarray
) -> tuple[float, np.ndarray]:
    """Gantry tilt angle (degrees) and each slice's in-plane offset (mm, along row, column).

    With tilt, consecutive slice origins move along the table, not along the slice
    normal; the in-plane part of that movement is the shear to remove.
    """
    if len(positions) < 2:
        return 0.0, np.zeros((len(positions), 2))
    travel = positions[-1] - positions[0]
    along_normal = float(travel @ normal)
    cosine = abs(along_normal) / max(np.linalg.norm(travel), 1e-9)
    angle = float(np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0))))
    relative = positions - positions[0]
    offsets = np.stack([relative @ row, relative @ column], axis=1)
    return angle, offsets
