"""DICOM Segmentation (SEG) objects from label maps, through highdicom.

Written for AI output and for reader-edited segmentations alike: each segment says
what it is (property category and type), who made it (an algorithm, marked
AUTOMATIC with its name and version, or a person, MANUAL) and carries a tracking
identifier so a Structured Report and later studies can refer to the same finding.
Geometry comes from the label :class:`Volume` (one frame per slice, positions from its
LPS grid), and the source images are referenced, so a viewer can overlay the SEG on
them; frames without any segment are left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import highdicom as hd
import numpy as np
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code
from pydicom.uid import generate_uid

from workstation.dicom.contributing_equipment import MANUFACTURER
from workstation.model.report import Algorithm
from workstation.model.volume import Volume

MODEL_NAME = "Halong workstation"


class SegmentationError(Exception):
    """The segmentation cannot be written; the message says why."""


def algorithm_identification(algorithm: Algorithm) -> hd.AlgorithmIdentificationSequence:
    """DICOM Algorithm Identification of an AI algorithm (family: artificial intelligence)."""
    return hd.AlgorithmIdentificationSequence(
        name=algorithm.name,
        family=codes.DCM.ArtificialIntelligence,
        version=algorithm.version,
        source=MANUFACTURER,
    )


@dataclass(frozen=True)
class Segment:
    """One segment: its number in the label map and what it is."""

    number: int  # 1-based; the label value in the label map
    label: str
    tracking_id: str
    tracking_uid: str = field(default_factory=generate_uid)
    category: Code = codes.SCT.MorphologicallyAbnormalStructure
    property_type: Code = codes.SCT.Nodule
    #: None: drawn by a person (MANUAL); else the algorithm (AUTOMATIC).
    algorithm: Algorithm | None = None


def write_segmentation(
    labels: Volume,
    segments: Sequence[Segment],
    source_images: Sequence[Dataset],
    path: str | Path,
    *,
    series_number: int = 900,
    series_description: str = "Segmentation",
    content_label: str = "SEGMENTATION",
    content_creator: str | None = None,
    software_version: str = "1",
) -> hd.seg.Segmentation:
    """Write ``labels`` (integer label map, 0 background) as a binary SEG at ``path``."""
    if not source_images:
        raise SegmentationError("a segmentation needs the source images it refers to")
    if labels.is_4d:
        raise SegmentationError("a segmentation is written from a 3D label map")
    numbers = [s.number for s in segments]
    if len(set(numbers)) != len(numbers) or min(numbers, default=1) < 1:
        raise SegmentationError(f"segment numbers must be distinct and start at 1: {numbers}")
    found = set(np.unique(labels.voxels).tolist()) - {0}
    if not found <= set(numbers):
        raise SegmentationError(f"label values {sorted(found - set(numbers))} have no segment")
    direction = labels.direction
    orientation = [*direction[:, 0], *direction[:, 1]]
    sx, sy, sz = labels.spacing
    positions = [
        hd.PlanePositionSequence(
            hd.CoordinateSystemNames.PATIENT,
            [float(v) for v in labels.index_to_world(np.array([0.0, 0.0, k]))],
        )
        for k in range(labels.shape_zyx[0])
    ]
    first = source_images[0]
    seg = hd.seg.Segmentation(
        source_images=list(source_images),
        pixel_array=np.asarray(
            labels.voxels, dtype=np.uint16 if max(numbers, default=1) > 255 else np.uint8
        ),
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=[_description(s) for s in segments],
        series_instance_uid=generate_uid(),
        series_number=series_number,
        sop_instance_uid=generate_uid(),
        instance_number=1,
        manufacturer=MANUFACTURER,
        manufacturer_model_name=MODEL_NAME,
        software_versions=software_version,
        device_serial_number="0",
        content_description=series_description[:64],
        content_label=content_label,
        content_creator_name=content_creator,
        pixel_measures=hd.PixelMeasuresSequence(
            pixel_spacing=[sy, sx],
            slice_thickness=float(getattr(first, "SliceThickness", sz) or sz),
            spacing_between_slices=sz,
        ),
        plane_orientation=hd.PlaneOrientationSequence(
            hd.CoordinateSystemNames.PATIENT, [float(v) for v in orientation]
        ),
        plane_positions=positions,
        omit_empty_frames=True,
    )
    seg.SeriesDescription = series_description[:64]
    seg.save_as(Path(path), enforce_file_format=True)
    return seg


def _description(segment: Segment) -> hd.seg.SegmentDescription:
    automatic = segment.algorithm is not None
    return hd.seg.SegmentDescription(
        segment_number=segment.number,
        segment_label=segment.label[:64],
        segmented_property_category=segment.category,
        segmented_property_type=segment.property_type,
        algorithm_type=(
            hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC
            if automatic
            else hd.seg.SegmentAlgorithmTypeValues.MANUAL
        ),
        algorithm_identification=(
            algorithm_identification(segment.algorithm) if segment.algorithm else None
        ),
        tracking_uid=segment.tracking_uid,
        tracking_id=segment.tracking_id[:64],
    )
