"""The one way a series comes in: what to open, how to load it, and one error for both.

Every command and panel opens its images here (``halong view``, ``lung``,
``perfusion``, the window, the analysis tools, the report's SR/SEG writer):

* :class:`SeriesRequest`: a DICOM folder or file, a NIfTI file, or the UID of an
  indexed series; :func:`resolve_input` turns what a user typed into one;
* :func:`load_series`: the long work (progress, cancel), returning a
  :class:`LoadedSeries`: the volume, the other volumes the source held, what was
  skipped and noted, and the file of every SOP instance (derived DICOM cites them);
* :class:`SeriesInputError`: anything that cannot be opened, with a sentence for the user.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from workstation.dicom.import_report import SkippedFile
from workstation.model.progress import CancelToken, Progress, check, no_progress
from workstation.model.records import SeriesRecord, StudyRecord
from workstation.model.user_text import printable
from workstation.model.volume import Volume

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

NIFTI_SUFFIXES = (".nii", ".nii.gz")
_UID = re.compile(r"[0-9]+(\.[0-9]+)+")
#: How many skipped files an error message names before summarising the rest.
_NAMED_REASONS = 3


class SeriesInputError(Exception):
    """What the user asked to open does not exist, or gave no usable image volume."""


@dataclass(frozen=True)
class SeriesRequest:
    """One thing to open. ``key`` identifies it in the volume cache and the journals."""

    key: str
    label: str
    series_uid: str | None = None
    path: Path | None = None

    @property
    def is_nifti(self) -> bool:
        return self.path is not None and self.path.name.lower().endswith(NIFTI_SUFFIXES)


@dataclass
class LoadedSeries:
    """The volume to show or analyse, where it came from, and what the user should hear."""

    request: SeriesRequest
    volume: Volume
    #: Further volumes the source held (a mixed series, or a folder of several series).
    other_volumes: list[Volume] = field(default_factory=list)
    #: Files that did not become part of the volume, and why.
    skipped: list[SkippedFile] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: SOP Instance UID -> file of every image read (empty for NIfTI).
    files: dict[str, str] = field(default_factory=dict)

    @property
    def volumes(self) -> list[Volume]:
        return [self.volume, *self.other_volumes]

    @property
    def study_key(self) -> str:
        """What results and measurements are filed under: the study UID, else the source."""
        if self.volume.provenance.study_uid:
            return self.volume.provenance.study_uid
        return f"file-{self.request.key}"

    def with_volume(self, volume: Volume) -> LoadedSeries:
        """The same load with ``volume`` (one of :attr:`volumes`) as the one analysed."""
        others = [v for v in self.volumes if v is not volume]
        return dataclasses.replace(self, volume=volume, other_volumes=others)

    def only_volume(self) -> Volume:
        """The one volume an analysis runs on; several are refused (which would it be?)."""
        if self.other_volumes:
            raise SeriesInputError(
                f"{self.request.label} holds {len(self.volumes)} series; "
                "give the folder of one series or its series UID"
            )
        return self.volume

    def source_datasets(self) -> list[Dataset]:
        """Headers (no pixels) of the volume's slices, in slice order, each once.

        Derived objects (SEG, SR, Secondary Captures) reference these images; NIfTI has
        none, and a file gone since the load is an error rather than a silent gap.
        """
        import pydicom

        uids = list(dict.fromkeys(self.volume.provenance.sop_instance_uids))
        missing = [uid for uid in uids if uid not in self.files]
        if not uids or missing:
            raise SeriesInputError(
                f"the source images of {self.request.label} are not DICOM files Halong can "
                f"cite ({len(missing) or 'no'} image file(s) missing)"
            )
        try:
            return [pydicom.dcmread(self.files[uid], stop_before_pixels=True) for uid in uids]
        except (OSError, ValueError) as error:
            raise SeriesInputError(f"cannot read back a source image: {error}") from None

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
    """What an INPUT argument means: an existing path, else a series UID in the database."""
    path = Path(text).expanduser()
    if path.exists():
        if path.is_file() and path.stat().st_size == 0:
            raise SeriesInputError(f"{text} is an empty file")
        return request_for_path(path)
    if _UID.fullmatch(text):
        if database_path.exists():
            from workstation.dicom.database import Database

            with Database.open(database_path) as db:
                found = [series for series in db.series() if series.series_uid == text]
                if found:
                    studies = {study.study_uid: study for study in db.studies()}
                    study = studies.get(found[0].study_uid)
                    return request_for_series(text, series_label(study, found[0]))
        raise SeriesInputError(f"no series with UID {text} in the database {database_path}")
    if os.sep in text or text.lower().endswith((".dcm", *NIFTI_SUFFIXES)):
        raise SeriesInputError(f"{text} does not exist")
    raise SeriesInputError(
        f"{text} is neither a file, a folder, nor the UID of a series in the database"
    )


def load_series(
    request: SeriesRequest,
    database_path: Path,
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
    *,
    preview: Callable[[Volume], None] | None = None,
    frame_interval_s: float | None = None,
    max_volume_bytes: int | None = None,
) -> LoadedSeries:
    """Read the request's images into a :class:`Volume` (long work: run it in the background).

    ``preview`` receives the middle image of a DICOM series as soon as the headers are
    read (see :func:`workstation.dicom.loader.preview_volume`), for a first look.
    ``frame_interval_s`` is the time step of a 4D NIfTI whose header has none. A DICOM
    volume over ``max_volume_bytes`` (default: the memory budget) is refused.
    """
    if request.is_nifti:
        return _load_nifti(request, progress, frame_interval_s)
    if request.series_uid is not None:
        paths = _series_paths(request.series_uid, database_path)
    else:
        paths = [request.path]
    from workstation.dicom.loader import load_paths

    result = load_paths(
        paths, progress=progress, cancel=cancel, preview=preview, max_volume_bytes=max_volume_bytes
    )
    check(cancel)
    skipped = [SkippedFile(str(item.path), item.reason) for item in result.skipped]
    volumes = list(result.volumes)
    if request.series_uid is not None:  # the named series first, should the files hold others
        volumes.sort(key=lambda v: v.provenance.series_uid != request.series_uid)
    if not volumes:
        raise SeriesInputError(_nothing_loaded(request, skipped, result.notes))
    return LoadedSeries(
        request, volumes[0], volumes[1:], skipped, list(result.notes), dict(result.files)
    )


def _series_paths(series_uid: str, database_path: Path) -> list[str]:
    from workstation.dicom.database import Database

    instances = []
    if database_path.exists():
        with Database.open(database_path) as db:
            instances = db.instances(series_uid)
    if not instances:
        raise SeriesInputError(f"series {series_uid} is not in the database")
    return [instance.path for instance in instances]


def _load_nifti(
    request: SeriesRequest, progress: Progress, frame_interval_s: float | None
) -> LoadedSeries:
    from workstation.model.conversions import load_nifti

    progress(0, 1, "reading NIfTI")
    try:
        volume = load_nifti(request.path, frame_interval_s=frame_interval_s)
    except Exception as error:  # nibabel raises many kinds for damaged files
        raise SeriesInputError(f"cannot read {request.label} as NIfTI: {error}") from error
    progress(1, 1, "reading NIfTI")
    return LoadedSeries(request, volume)


def _nothing_loaded(request: SeriesRequest, skipped: list[SkippedFile], notes: list[str]) -> str:
    reasons = [f"{Path(s.path).name}: {s.reason}" for s in skipped[:_NAMED_REASONS]]
    if len(skipped) > _NAMED_REASONS:
        reasons.append(f"and {len(skipped) - _NAMED_REASONS} more file(s)")
    reasons += notes
    detail = "; ".join(reasons) if reasons else "no files found"
    return printable(f"no image volume could be built from {request.label} ({detail})")
