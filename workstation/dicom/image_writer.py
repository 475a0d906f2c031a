"""Write volumes as ordinary DICOM image series (one file per slice).

Demo studies, phantoms, tests and benchmarks all need realistic series on disk:
CT or MR image storage, real geometry, and for 4D data the layouts scanners
write (one series whose positions repeat, or one series per time point).
Writing is strict (valid by construction); reading stays lenient elsewhere.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    CTImageStorage,
    ExplicitVRLittleEndian,
    MRImageStorage,
    SecondaryCaptureImageStorage,
    generate_uid,
)

from workstation.model.volume import Volume

TimeLayout = Literal["repeated-positions", "series-per-time-point"]

_SOP_CLASS = {"CT": CTImageStorage, "MR": MRImageStorage}
#: Temporal tags written on each slice of a 4D series (tests may write fewer).
ALL_TIME_TAGS = (
    "AcquisitionNumber",
    "TemporalPositionIdentifier",
    "AcquisitionTime",
    "ContentTime",
)


@dataclass
class SeriesInfo:
    """Identity of the patient, study and series being written."""

    patient_id: str = "HALONG-0001"
    patient_name: str = "Demo^Patient"
    patient_birth_date: str = "19600101"
    patient_sex: str = "O"
    study_uid: str = field(default_factory=generate_uid)
    study_date: str = "20260101"
    study_time: str = "090000"
    study_description: str = ""
    accession_number: str = ""
    series_uid: str = field(default_factory=generate_uid)
    series_number: int = 1
    series_description: str = ""
    body_part: str = ""
    frame_of_reference_uid: str = field(default_factory=generate_uid)
    institution: str = "Halong demo"
    echo_time_ms: float | None = None


@dataclass
class SliceSpec:
    """One slice to write: values (already in output units), geometry and time."""

    values: np.ndarray
    position: Sequence[float]
    orientation: Sequence[float]
    pixel_spacing_xy: tuple[float, float]
    slice_thickness: float
    instance_number: int
    time_s: float | None = None
    time_index: int | None = None
    series_uid: str | None = None
    image_type: Sequence[str] = ("ORIGINAL", "PRIMARY", "AXIAL")


def _dicom_time(seconds_since_midnight: float) -> str:
    seconds_since_midnight %= 86400
    hours, rest = divmod(seconds_since_midnight, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{int(hours):02d}{int(minutes):02d}{seconds:09.6f}"


def _seconds(study_time: str) -> float:
    parsed = dt.datetime.strptime(study_time[:6], "%H%M%S")
    return parsed.hour * 3600 + parsed.minute * 60 + parsed.second


def _base_dataset(info: SeriesInfo, modality: str) -> Dataset:
    sop_class = _SOP_CLASS.get(modality, SecondaryCaptureImageStorage)
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = sop_class
    ds.PatientID = info.patient_id
    ds.PatientName = info.patient_name
    ds.PatientBirthDate = info.patient_birth_date
    ds.PatientSex = info.patient_sex
    ds.StudyInstanceUID = info.study_uid
    ds.StudyDate = info.study_date
    ds.StudyTime = info.study_time
    ds.StudyID = "1"
    ds.ReferringPhysicianName = ""
    ds.StudyDescription = info.study_description
    ds.AccessionNumber = info.accession_number
    ds.Modality = modality
    ds.SeriesNumber = info.series_number
    ds.SeriesDescription = info.series_description
    ds.BodyPartExamined = info.body_part
    ds.SeriesDate = info.study_date
    ds.FrameOfReferenceUID = info.frame_of_reference_uid
    ds.PositionReferenceIndicator = ""
    ds.Manufacturer = "Halong"
    ds.InstitutionName = info.institution
    ds.PatientPosition = "HFS"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    if modality == "CT":
        ds.KVP = 120
        ds.RescaleType = "HU"
    if modality == "MR":
        ds.ScanningSequence = "EP"
        ds.SequenceVariant = "NONE"
        ds.ScanOptions = ""
        ds.MRAcquisitionType = "2D"
        ds.EchoTime = info.echo_time_ms if info.echo_time_ms is not None else 30.0
        ds.EchoTrainLength = 1
    return ds


def _store_values(ds: Dataset, values: np.ndarray) -> None:
    """Store as int16 with slope 1 when values are integers in range, else scaled."""
    values = np.asarray(values)
    if np.issubdtype(values.dtype, np.integer) and values.min() >= -32768 and values.max() <= 32767:
        stored, slope, intercept = values.astype(np.int16), 1.0, 0.0
    else:
        low, high = float(values.min()), float(values.max())
        slope = max((high - low) / 65000.0, 1e-6)
        intercept = low + 32500 * slope
        stored = np.rint((values - intercept) / slope).clip(-32768, 32767).astype(np.int16)
    ds.PixelRepresentation = 1
    ds.RescaleSlope = f"{slope:.10g}"[:16]
    ds.RescaleIntercept = f"{intercept:.10g}"[:16]
    ds.Rows, ds.Columns = stored.shape
    ds.PixelData = stored.tobytes()


def write_slices(
    slices: Iterable[SliceSpec],
    folder: str | Path,
    info: SeriesInfo,
    modality: str,
    *,
    shuffle_names: bool = False,
    time_tags: Sequence[str] = ALL_TIME_TAGS,
    seed: int = 0,
) -> list[Path]:
    """Write each slice to its own file; names are shuffled to defeat name ordering."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    slices = list(slices)
    names = [f"IM{index:05d}.dcm" for index in range(len(slices))]
    if shuffle_names:
        random.Random(seed).shuffle(names)
    base = _base_dataset(info, modality)
    study_clock = _seconds(info.study_time)
    paths = []
    for spec, name in zip(slices, names, strict=True):
        ds = base.copy()
        ds.file_meta = base.file_meta.copy()
        ds.SeriesInstanceUID = spec.series_uid or info.series_uid
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.InstanceNumber = spec.instance_number
        ds.ImageType = list(spec.image_type)
        ds.ImagePositionPatient = [f"{v:.6f}" for v in spec.position]
        ds.ImageOrientationPatient = [f"{v:.8f}" for v in spec.orientation]
        x_spacing, y_spacing = spec.pixel_spacing_xy
        ds.PixelSpacing = [f"{y_spacing:.6g}", f"{x_spacing:.6g}"]
        ds.SliceThickness = f"{spec.slice_thickness:.6g}"
        clock = _dicom_time(study_clock + (spec.time_s or 0.0))
        ds.ContentDate = ds.AcquisitionDate = info.study_date
        if spec.time_index is not None:
            tags = {
                "AcquisitionNumber": spec.time_index + 1,
                "TemporalPositionIdentifier": spec.time_index + 1,
                "AcquisitionTime": clock,
                "ContentTime": clock,
            }
            for keyword in time_tags:
                setattr(ds, keyword, tags[keyword])
            if "TemporalPositionIdentifier" in time_tags:
                ds.NumberOfTemporalPositions = max(1, spec.time_index + 1)
        else:
            ds.AcquisitionNumber = 1
            ds.AcquisitionTime = ds.ContentTime = clock
        _store_values(ds, spec.values)
        path = folder / name
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def volume_slices(volume: Volume, series_uids: Sequence[str] | None = None) -> list[SliceSpec]:
    """Slice specs for every (frame, z) of a volume, in time then position order."""
    direction = volume.direction
    orientation = [*direction[:, 0], *direction[:, 1]]
    frames = volume.voxels if volume.is_4d else volume.voxels[None]
    specs = []
    n_slices = frames.shape[1]
    for t, frame in enumerate(frames):
        for z in range(n_slices):
            position = volume.index_to_world(np.array([0.0, 0.0, z]))
            specs.append(
                SliceSpec(
                    values=frame[z],
                    position=position,
                    orientation=orientation,
                    pixel_spacing_xy=(volume.spacing[0], volume.spacing[1]),
                    slice_thickness=volume.spacing[2],
                    instance_number=t * n_slices + z + 1,
                    time_s=float(volume.frame_times[t]) if volume.is_4d else None,
                    time_index=t if volume.is_4d else None,
                    series_uid=series_uids[t] if series_uids else None,
                )
            )
    return specs


def write_volume(
    volume: Volume,
    folder: str | Path,
    info: SeriesInfo | None = None,
    *,
    time_layout: TimeLayout = "repeated-positions",
    shuffle_names: bool = False,
    time_tags: Sequence[str] = ALL_TIME_TAGS,
    seed: int = 0,
) -> list[Path]:
    """Write a 3D or 4D volume as a DICOM series in ``folder``."""
    info = info or SeriesInfo()
    series_uids = None
    if volume.is_4d and time_layout == "series-per-time-point":
        series_uids = [generate_uid() for _ in range(volume.voxels.shape[0])]
    if info.echo_time_ms is None and "EchoTime" in volume.attributes:
        info.echo_time_ms = float(volume.attributes["EchoTime"])
    return write_slices(
        volume_slices(volume, series_uids),
        folder,
        info,
        volume.modality if volume.modality in _SOP_CLASS else "CT",
        shuffle_names=shuffle_names,
        time_tags=time_tags,
        seed=seed,
    )
