"""What the study browser shows: studies, series and instances as read from the database.

Plain frozen dataclasses with JSON-friendly fields (DICOM dates and times stay in
their DICOM form, ``YYYYMMDD`` / ``HHMMSS``), so ``dataclasses.asdict`` gives the
documents that ``halong studies --json`` and ``halong series --json`` print.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StudyRecord:
    """One study with its patient and how much of it is indexed."""

    study_uid: str
    patient_id: str
    patient_name: str
    patient_birth_date: str
    patient_sex: str
    accession_number: str
    study_date: str
    study_time: str
    study_description: str
    modalities: tuple[str, ...]
    series_count: int
    instance_count: int


@dataclass(frozen=True)
class SeriesRecord:
    """One series; the image geometry is that of its first instance (lowest number)."""

    series_uid: str
    study_uid: str
    modality: str
    series_number: int | None
    series_description: str
    body_part: str
    frame_of_reference_uid: str
    instance_count: int
    frame_count: int
    rows: int
    columns: int
    pixel_spacing: tuple[float, float] | None
    slice_thickness: float | None
    image_orientation: tuple[float, ...] | None


@dataclass(frozen=True)
class InstanceRecord:
    """One indexed file: where it is and where its image sits in space."""

    sop_instance_uid: str
    series_uid: str
    sop_class_uid: str
    transfer_syntax_uid: str
    instance_number: int | None
    path: str
    rows: int
    columns: int
    number_of_frames: int
    pixel_spacing: tuple[float, float] | None
    slice_thickness: float | None
    image_orientation: tuple[float, ...] | None
    image_position: tuple[float, float, float] | None


@dataclass(frozen=True)
class IndexCounts:
    """How many of each level the database holds."""

    patients: int
    studies: int
    series: int
    instances: int
