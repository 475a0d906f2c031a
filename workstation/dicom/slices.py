"""Turn instance headers into 2D slice records with their own geometry.

A classic CT/MR file is one slice; an enhanced multi-frame object holds many,
each with its position (and possibly orientation, spacing, rescale, temporal
index) in the per-frame functional groups. Assembly works on slices only, so it
treats both layouts the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from pydicom.dataset import Dataset

from workstation.dicom.headers import InstanceHeader


class SliceGeometryError(ValueError):
    """A slice lacks the geometry needed to place it in a volume."""


@dataclass
class SliceRef:
    """One 2D image of a series: where it is, how to read it, when it was taken."""

    header: InstanceHeader
    frame: int | None
    position: np.ndarray
    row_direction: np.ndarray
    column_direction: np.ndarray
    #: (spacing between columns = along x, spacing between rows = along y), mm.
    pixel_spacing_xy: tuple[float, float]
    rescale_slope: float
    rescale_intercept: float
    #: Values that may tell time points apart, by name (see ``temporal.TIME_KEYS``).
    temporal: dict[str, object] = field(default_factory=dict)

    @property
    def normal(self) -> np.ndarray:
        return np.cross(self.row_direction, self.column_direction)

    @property
    def shape(self) -> tuple[int, int]:
        return self.header.rows, self.header.columns


def _unit_directions(orientation: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    row = np.asarray(orientation[:3], dtype=float)
    column = np.asarray(orientation[3:6], dtype=float)
    row_norm, column_norm = np.linalg.norm(row), np.linalg.norm(column)
    if row_norm < 1e-6 or column_norm < 1e-6:
        raise SliceGeometryError("ImageOrientationPatient has a zero vector")
    row, column = row / row_norm, column / column_norm
    if abs(float(row @ column)) > 1e-3:
        raise SliceGeometryError("ImageOrientationPatient vectors are not perpendicular")
    return row, column


def _spacing_xy(pixel_spacing: tuple[float, ...] | None) -> tuple[float, float]:
    if not pixel_spacing:
        return 1.0, 1.0
    # DICOM PixelSpacing is (row spacing, column spacing) = (y, x).
    return float(pixel_spacing[1]), float(pixel_spacing[0])


def _classic_slice(header: InstanceHeader) -> SliceRef:
    if header.image_position is None or header.image_orientation is None:
        raise SliceGeometryError("no ImagePositionPatient / ImageOrientationPatient")
    row, column = _unit_directions(header.image_orientation)
    return SliceRef(
        header=header,
        frame=None,
        position=np.asarray(header.image_position, dtype=float),
        row_direction=row,
        column_direction=column,
        pixel_spacing_xy=_spacing_xy(header.pixel_spacing),
        rescale_slope=header.rescale_slope,
        rescale_intercept=header.rescale_intercept,
        temporal={
            "TemporalPositionIdentifier": header.temporal_position,
            "TriggerTime": header.trigger_time,
            "AcquisitionNumber": header.acquisition_number,
            "AcquisitionTime": header.acquisition_time or None,
            "ContentTime": header.content_time or None,
        },
    )


def _group_item(groups: Dataset | None, sequence: str) -> Dataset | None:
    if groups is None or sequence not in groups or not groups[sequence].value:
        return None
    return groups[sequence].value[0]


def _functional(per_frame: Dataset, shared: Dataset | None, sequence: str) -> Dataset | None:
    """A functional group item, per-frame first, then shared (PS3.3 C.7.6.16)."""
    return _group_item(per_frame, sequence) or _group_item(shared, sequence)


def _enhanced_slices(header: InstanceHeader) -> list[SliceRef]:
    ds = header.dataset
    if ds is None or "PerFrameFunctionalGroupsSequence" not in ds:
        raise SliceGeometryError("multi-frame object without per-frame functional groups")
    try:
        return _frames_of(header, ds)
    except SliceGeometryError:
        raise
    except Exception as error:  # pydicom parses values lazily: a damaged one raises here
        raise SliceGeometryError(f"unreadable per-frame geometry ({error})") from None


def _frames_of(header: InstanceHeader, ds: Dataset) -> list[SliceRef]:
    shared = _group_item(ds, "SharedFunctionalGroupsSequence")
    slices = []
    for index, per_frame in enumerate(ds.PerFrameFunctionalGroupsSequence):
        plane = _functional(per_frame, shared, "PlanePositionSequence")
        orientation = _functional(per_frame, shared, "PlaneOrientationSequence")
        if plane is None or orientation is None:
            raise SliceGeometryError(f"frame {index + 1} has no plane position or orientation")
        measures = _functional(per_frame, shared, "PixelMeasuresSequence")
        rescale = _functional(per_frame, shared, "PixelValueTransformationSequence")
        content = _functional(per_frame, shared, "FrameContentSequence")
        cardiac = _functional(per_frame, shared, "CardiacSynchronizationSequence")
        row, column = _unit_directions(tuple(float(v) for v in orientation.ImageOrientationPatient))
        frame_time = content.get("FrameAcquisitionDateTime") if content is not None else None
        slices.append(
            SliceRef(
                header=header,
                frame=index,
                position=np.asarray([float(v) for v in plane.ImagePositionPatient]),
                row_direction=row,
                column_direction=column,
                pixel_spacing_xy=_spacing_xy(
                    tuple(float(v) for v in measures.PixelSpacing)
                    if measures is not None and "PixelSpacing" in measures
                    else header.pixel_spacing
                ),
                rescale_slope=float(rescale.get("RescaleSlope", 1.0)) if rescale else 1.0,
                rescale_intercept=float(rescale.get("RescaleIntercept", 0.0)) if rescale else 0.0,
                temporal={
                    "TemporalPositionIdentifier": (
                        content.get("TemporalPositionIndex") if content is not None else None
                    ),
                    "TriggerTime": (
                        cardiac.get("NominalCardiacTriggerDelayTime") if cardiac else None
                    ),
                    "AcquisitionTime": str(frame_time)[8:] if frame_time else None,
                },
            )
        )
    return slices


def slices_of(header: InstanceHeader) -> list[SliceRef]:
    """The slices stored in one instance (one, or one per frame)."""
    if header.number_of_frames > 1:
        return _enhanced_slices(header)
    return [_classic_slice(header)]
