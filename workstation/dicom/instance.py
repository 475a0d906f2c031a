"""The header values of one DICOM instance that Halong indexes and assembles from."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydicom.dataset import Dataset


@dataclass
class PixelLocation:
    """Where uncompressed native pixel data sits in the file (for direct reads)."""

    offset: int
    length: int


@dataclass
class InstanceHeader:
    """The header values Halong indexes and assembles volumes from."""

    path: str
    sop_instance_uid: str
    sop_class_uid: str
    transfer_syntax_uid: str
    patient_id: str = ""
    patient_name: str = ""
    patient_birth_date: str = ""
    patient_sex: str = ""
    study_uid: str = ""
    study_date: str = ""
    study_time: str = ""
    study_description: str = ""
    accession_number: str = ""
    series_uid: str = ""
    modality: str = ""
    series_number: int | None = None
    series_description: str = ""
    body_part: str = ""
    frame_of_reference_uid: str = ""
    instance_number: int | None = None
    rows: int = 0
    columns: int = 0
    number_of_frames: int = 1
    image_position: tuple[float, float, float] | None = None
    image_orientation: tuple[float, ...] | None = None
    pixel_spacing: tuple[float, float] | None = None
    slice_thickness: float | None = None
    image_type: tuple[str, ...] = ()
    rescale_slope: float = 1.0
    rescale_intercept: float = 0.0
    bits_allocated: int = 16
    pixel_representation: int = 0
    samples_per_pixel: int = 1
    acquisition_number: int | None = None
    acquisition_time: str = ""
    content_time: str = ""
    temporal_position: int | None = None
    trigger_time: float | None = None
    echo_time: float | None = None
    pixel: PixelLocation | None = None
    #: The parsed dataset, kept only for multi-frame objects (per-frame geometry).
    dataset: Dataset | None = field(default=None, repr=False)
