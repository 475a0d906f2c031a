"""What to open and how to load it: a database series, a DICOM folder or a NIfTI file.

Qt-free, so ``halong view`` and the main window share it: :func:`resolve_input`
turns what a user typed into a :class:`SeriesRequest` (or a clear error), and
:func:`load_series` is the long work the UI runs on a worker thread, with progress
and cancel, returning the volume to show plus everything the user should be told.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from workstation.model.progress import CancelToken, Progress, check, no_progress
from workstation.model.records import SeriesRecord, StudyRecord
from workstation.model.volume import Volume

NIFTI_SUFFIXES = (".nii", ".nii.gz")
_UID = re.compile(r"[0-9]+(\.[0-9]+)+")
#: How many skipped files an error message names before summarising the rest.
_NAMED_REASONS = 3


class InputError(Exception):
    """What the user asked to open does not exist or is not something Halong opens."""


class SeriesLoadError(Exception):
    """The request was valid but gave no image volume; the message says why."""


@dataclass(frozen=True)
class SeriesRequest:
    """One thing to open. ``key`` identifies it in the volume cache."""

    key: str
    label: str
    series_uid: str | None = None
    path: Path | None = None

    @property
    def is_nifti(self) -> bool:
        return self.path is not None and self.path.name.lower().endswith(NIFTI_SUFFIXES)


@dataclass(frozen=True)
class Skipped:
    """A file that did not become part of the volume, and why."""

    path: str
    reason: str


@dataclass
class LoadedSeries:
    """The volume to show and what the user should hear about how it was made."""

    request: SeriesRequest
    volume: Volume
    #: Further volumes the source held (a mixed series, or a folder of several series).
    other_volumes: list[Volume] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def study_key(self) -> str:
        """What measurements are filed under: the study UID, else the source path."""
        if self.volume.provenance.study_uid:
            return self.volume.provenance.study_uid
        return f"file-{self.request.key}"

    def messages(self) -> list[str]:
        """Everything worth telling the user, most important first."""
        lines = []
        if self.other_volumes:
            lines.append(
                f"{len(self.other_volumes) + 1} volumes found in {self.request.label}; "
                "showing the first"
            )
        lines += self.volume.warnings
        lines += self.notes
        if self.skipped:
            lines.append(f"{len(self.skipped)} file(s) skipped")
        return lines


def series_label(study: StudyRecord | None, series: SeriesRecord) -> str:
    """How the window names a series: patient, modality and description."""
    parts = [study.patient_name.replace("^", " ").strip()] if study else []
    description = series.series_description or f"series {series.series_number or '?'}"
    if not description.upper().startswith(series.modality.upper()):
        description = f"{series.modality} {description}".strip()
    parts.append(description)
    return " — ".join(part for part in parts if part)


def request_for_series(series_uid: str, label: str = "") -> SeriesRequest:
    """A series indexed in the database."""
    return SeriesRequest(
        key=f"series:{series_uid}", label=label or series_uid, series_uid=series_uid
    )


def request_for_path(path: str | os.PathLike[str]) -> SeriesRequest:
    """A DICOM folder or file, or a NIfTI file, opened where it is (not imported)."""
    path = Path(path).expanduser().absolute()
    return SeriesRequest(key=f"path:{path}", label=path.name or str(path), path=path)


def resolve_input(text: str, database_path: Path) -> SeriesRequest:
    """What ``halong view INPUT`` means: an existing path, else a series UID in the database."""
    path = Path(text).expanduser()
    if path.exists():
        if path.is_file() and path.stat().st_size == 0:
            raise InputError(f"{text} is an empty file")
        return request_for_path(path)
    if _UID.fullmatch(text) and database_path.exists():
        from workstation.dicom.database import Database

        with Database.open(database_path) as db:
            found = [series for series in db.series() if series.series_uid == text]
            if found:
                studies = {study.study_uid: study for study in db.studies()}
                study = studies.get(found[0].study_uid)
                return request_for_series(text, series_label(study, found[0]))
        raise InputError(f"no series with UID {text} in the database {database_path}")
    raise InputError(f"{text} is neither a file, a folder, nor the UID of a series in the database")


def load_series(
    request: SeriesRequest,
    database_path: Path,
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
    *,
    preview: Callable[[Volume], None] | None = None,
) -> LoadedSeries:
    """Read the request's images into a :class:`Volume` (long work: run it in the background).

    ``preview`` receives the middle image of a DICOM series as soon as the headers are
    read (see :func:`workstation.dicom.loader.preview_volume`), for a first look.
    """
    if request.is_nifti:
        return _load_nifti(request, progress)
    if request.series_uid is not None:
        paths = _series_paths(request.series_uid, database_path)
    else:
        paths = [request.path]
    from workstation.dicom.loader import load_paths

    result = load_paths(paths, progress=progress, cancel=cancel, preview=preview)
    check(cancel)
    skipped = [Skipped(str(item.path), item.reason) for item in result.skipped]
    volumes = list(result.volumes)
    if request.series_uid is not None:  # the named series first, should the files hold others
        volumes.sort(key=lambda v: v.provenance.series_uid != request.series_uid)
    if not volumes:
        raise SeriesLoadError(_nothing_loaded(request, skipped, result.notes))
    return LoadedSeries(request, volumes[0], volumes[1:], skipped, list(result.notes))


def source_files(
    request: SeriesRequest,
    database_path: Path,
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
) -> dict[str, str]:
    """SOP Instance UID -> file of a DICOM request's images (DICOM outputs reference them).

    From the database index for a series, else by reading the folder's headers again.
    """
    if request.is_nifti:
        return {}
    if request.series_uid is not None:
        from workstation.dicom.database import Database

        with Database.open(database_path) as db:
            instances = db.instances(request.series_uid)
        return {instance.sop_instance_uid: instance.path for instance in instances}
    from workstation.dicom.loader import iter_files, read_headers

    headers, _ = read_headers(list(iter_files([request.path])), progress, cancel)
    check(cancel)
    return {header.sop_instance_uid: header.path for header in headers}


def _series_paths(series_uid: str, database_path: Path) -> list[str]:
    from workstation.dicom.database import Database

    with Database.open(database_path) as db:
        instances = db.instances(series_uid)
    if not instances:
        raise SeriesLoadError(f"series {series_uid} is not in the database")
    return [instance.path for instance in instances]


def _load_nifti(request: SeriesRequest, progress: Progress) -> LoadedSeries:
    from workstation.model.conversions import load_nifti

    progress(0, 1, "reading NIfTI")
    try:
        volume = load_nifti(request.path)
    except Exception as error:  # nibabel raises many kinds for damaged files
        raise SeriesLoadError(f"cannot read {request.label} as NIfTI: {error}") from error
    progress(1, 1, "reading NIfTI")
    return LoadedSeries(request, volume)


def _nothing_loaded(request: SeriesRequest, skipped: list[Skipped], notes: list[str]) -> str:
    reasons = [f"{Path(s.path).name}: {s.reason}" for s in skipped[:_NAMED_REASONS]]
    if len(skipped) > _NAMED_REASONS:
        reasons.append(f"and {len(skipped) - _NAMED_REASONS} more file(s)")
    reasons += notes
    detail = "; ".join(reasons) if reasons else "no files found"
    return f"no image volume could be built from {request.label} ({detail})"
