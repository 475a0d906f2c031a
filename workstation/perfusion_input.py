"""Reading what a perfusion analysis runs on: a 4D DICOM series or NIfTI, and an ADC map.

Besides the volume, the patient/study identity that derived DICOM objects must
carry: the source images' own headers for DICOM input; for NIfTI input (which
has none) an identity made up from the file's path, the same on every run, and
recorded as made up.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import CTImageStorage, MRImageStorage, generate_uid

from workstation.dicom.loader import iter_files, load_headers, read_headers
from workstation.model.conversions import load_nifti
from workstation.model.progress import CancelToken, Progress, no_progress
from workstation.model.volume import Volume

NIFTI_SUFFIXES = (".nii", ".nii.gz")


class InputError(Exception):
    """The input cannot be read as asked; the message says why, in one line."""


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
class LoadedStudy:
    volume: Volume
    source: SourceStudy
    notes: list[str] = field(default_factory=list)


def is_nifti(path: Path) -> bool:
    return path.name.lower().endswith(NIFTI_SUFFIXES)


def _load_nifti(path: Path, frame_interval_s: float | None) -> Volume:
    try:
        return load_nifti(path, frame_interval_s=frame_interval_s)
    except (ValueError, OSError) as error:
        raise InputError(f"cannot read {path}: {error}") from None


def _dicom_volumes(
    path: Path, progress: Progress, cancel: CancelToken | None
) -> tuple[list[Volume], dict[str, str]]:
    """Every volume under ``path`` and the file of each SOP instance."""
    files = list(iter_files([path]))
    if not files:
        raise InputError(f"no files found in {path}")
    headers, _ = read_headers(files, progress, cancel)
    if not headers:
        raise InputError(f"no usable DICOM images in {path}")
    result = load_headers(headers, progress=progress, cancel=cancel)
    return result.volumes, {h.sop_instance_uid: h.path for h in headers}


def source_from_files(volume: Volume, files: dict[str, str]) -> SourceStudy:
    import pydicom

    images = [
        pydicom.dcmread(files[uid], stop_before_pixels=True)
        for uid in volume.provenance.sop_instance_uids
        if uid in files
    ]
    if not images:
        raise InputError("the source images of the series could not be read back")
    return SourceStudy(reference=images[0], images=images)


def _uniform_times(volume: Volume, interval_s: float) -> Volume:
    times = np.arange(volume.voxels.shape[0]) * float(interval_s)
    return volume.with_voxels(volume.voxels, frame_times=times)


def load_perfusion_study(
    path: str | Path,
    frame_interval_s: float | None = None,
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
) -> LoadedStudy:
    """The 4D series in ``path`` (a DICOM folder or file, or a 4D NIfTI) and its identity.

    ``frame_interval_s`` is required for NIfTI files without a time step; for
    DICOM it replaces the recorded frame times (a note says so).
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path} does not exist")
    notes: list[str] = []
    if is_nifti(path):
        volume = _load_nifti(path, frame_interval_s)
        if not volume.is_4d:
            raise InputError(f"{path} is a 3D image; a perfusion study is 4D (x, y, z, time)")
        source = made_up_source(volume, str(path.resolve()))
        notes.append("NIfTI input: patient and study identity made up (no DICOM header)")
        return LoadedStudy(volume, source, notes)
    volumes, files = _dicom_volumes(path, progress, cancel)
    series = [v for v in volumes if v.is_4d]
    if not series:
        raise InputError(f"no time-resolved (4D) series in {path}: found {len(volumes)} 3D series")
    volume = max(series, key=lambda v: v.voxels.size)
    if len(series) > 1:
        notes.append(f"{len(series)} 4D series found; analysed the largest")
    if frame_interval_s is not None:
        volume = _uniform_times(volume, frame_interval_s)
        notes.append(f"frame times replaced by a {frame_interval_s:g} s interval (--dt)")
    return LoadedStudy(volume, source_from_files(volume, files), notes)


def load_adc(
    path: str | Path, progress: Progress = no_progress, cancel: CancelToken | None = None
) -> Volume:
    """A 3D ADC map from a NIfTI file or a DICOM folder (the largest 3D series there)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path} does not exist")
    if is_nifti(path):
        volume = _load_nifti(path, None)
        if volume.is_4d:
            raise InputError(f"{path} is 4D; an ADC map is a 3D image")
        return volume
    volumes = [v for v in _dicom_volumes(path, progress, cancel)[0] if not v.is_4d]
    if not volumes:
        raise InputError(f"no 3D series (ADC map) found in {path}")
    return max(volumes, key=lambda v: v.voxels.size)


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
