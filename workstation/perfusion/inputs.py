"""What a perfusion analysis runs on: the 4D series (and an ADC map) of a load.

Loading itself is :func:`workstation.dicom.series_input.load_series`, as for every
series; this module picks the volumes a perfusion analysis needs and the
patient/study identity its DICOM outputs carry: the source images' own headers for
DICOM input; for NIfTI input (which has none) an identity made up from the file's
path, the same on every run, and recorded as made up.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import CTImageStorage, MRImageStorage, generate_uid

from workstation.dicom.series_input import LoadedSeries, SeriesInputError
from workstation.model.volume import Volume


@dataclass
class SourceStudy:
    """Identity of the analysed study and the images derived objects point back to."""

    #: A source image header: patient, study and frame of reference come from it.
    reference: Dataset
    #: Headers of the analysed slices (first frame), in slice order.
    images: list[Dataset]
    #: True when the identity was made up (NIfTI input has no patient or study).
    made_up: bool = False


@dataclass
class PerfusionInput:
    """The loaded 4D series (the one analysed is ``loaded.volume``) and notes about it."""

    loaded: LoadedSeries
    notes: list[str] = field(default_factory=list)

    @property
    def volume(self) -> Volume:
        return self.loaded.volume


def choose_perfusion_series(
    loaded: LoadedSeries, frame_interval_s: float | None = None
) -> PerfusionInput:
    """The largest 4D volume of the load, with ``frame_interval_s`` replacing its times.

    For DICOM, ``frame_interval_s`` replaces the recorded frame times (a note says so);
    NIfTI took it at load time. A load with no 4D volume is refused.
    """
    series = [v for v in loaded.volumes if v.is_4d]
    label = loaded.request.label
    if not series:
        if loaded.request.is_nifti:
            raise SeriesInputError(
                f"{label} is a 3D image; a perfusion study is 4D (x, y, z, time)"
            )
        raise SeriesInputError(
            f"no time-resolved (4D) series in {label}: found {len(loaded.volumes)} 3D series"
        )
    volume = max(series, key=lambda v: v.voxels.size)
    notes = []
    if loaded.request.is_nifti:
        notes.append("NIfTI input: patient and study identity made up (no DICOM header)")
    if len(series) > 1:
        notes.append(f"{len(series)} 4D series found; analysed the largest")
    if frame_interval_s is not None and not loaded.request.is_nifti:
        times = np.arange(volume.voxels.shape[0]) * float(frame_interval_s)
        volume = volume.with_voxels(volume.voxels, frame_times=times)
        notes.append(f"frame times replaced by a {frame_interval_s:g} s interval (--dt)")
    return PerfusionInput(loaded.with_volume(volume), notes)


def choose_adc_map(loaded: LoadedSeries) -> Volume:
    """The largest 3D volume of the load: the ADC map beside a perfusion study."""
    volumes = [v for v in loaded.volumes if not v.is_4d]
    if not volumes:
        raise SeriesInputError(f"no 3D series (ADC map) found in {loaded.request.label}")
    return max(volumes, key=lambda v: v.voxels.size)


def source_study(loaded: LoadedSeries) -> SourceStudy:
    """Patient, study and source images for the DICOM outputs of the analysed volume.

    The series' own headers for DICOM; an identity made up from the path (the same on
    every run, and said so) for NIfTI, which has none.
    """
    if loaded.request.is_nifti:
        assert loaded.request.path is not None
        return made_up_source(loaded.volume, str(loaded.request.path.resolve()))
    images = loaded.source_datasets()
    return SourceStudy(reference=images[0], images=images)


def _uid(key: str, role: str) -> str:
    return generate_uid(entropy_srcs=["halong-made-up", role, key])


def made_up_source(volume: Volume, key: str) -> SourceStudy:
    """A patient, study and slice headers derived from ``key``: the same key, the same identity."""
    digest = hashlib.sha1(key.encode("utf-8")).hexdigest()[:10].upper()
    study_uid, series_uid = _uid(key, "study"), _uid(key, "series")
    frame_of_reference = _uid(key, "frame-of-reference")
    modality = volume.modality if volume.modality in ("CT", "MR") else "OT"
    sop_class = MRImageStorage if modality == "MR" else CTImageStorage
    direction = volume.direction
    images = []
    for k in range(volume.shape_zyx[0]):
        ds = Dataset()
        ds.SOPClassUID = sop_class
        ds.SOPInstanceUID = _uid(key, f"slice-{k}")
        ds.PatientID = f"NIFTI-{digest}"
        ds.PatientName = "NIfTI^Unidentified"
        ds.PatientBirthDate = ""
        ds.PatientSex = "O"
        ds.StudyInstanceUID = study_uid
        ds.StudyID = "1"
        ds.StudyDate = ""
        ds.StudyTime = ""
        ds.AccessionNumber = ""
        ds.ReferringPhysicianName = ""
        ds.SeriesInstanceUID = series_uid
        ds.Modality = modality
        ds.FrameOfReferenceUID = frame_of_reference
        ds.Rows, ds.Columns = volume.shape_zyx[1], volume.shape_zyx[2]
        ds.PixelSpacing = [volume.spacing[1], volume.spacing[0]]
        ds.ImageOrientationPatient = [float(v) for v in (*direction[:, 0], *direction[:, 1])]
        ds.ImagePositionPatient = [float(v) for v in volume.index_to_world(np.array([0, 0, k]))]
        ds.SliceThickness = volume.spacing[2]
        images.append(ds)
    return SourceStudy(reference=images[0], images=images, made_up=True)
