"""The reading context: what is being read, by whom — one evented model for every panel.

Which patient, which study, which series is shown, which results that study has, and
who reads. The window sets it when a series opens; every panel and dock follows it
(``context.events.study.connect(...)``) and shows that study's own results or clears,
never another patient's. Qt-free, so the CLI, the node and tests use it as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

from workstation.model.dates import dicom_date
from workstation.model.events import Event
from workstation.model.report import Patient, Study
from workstation.model.volume import Volume


@dataclass(frozen=True, eq=False)
class SeriesShown:
    """The series on screen: its load key, how the window names it, and its volume.

    Compared by identity: showing the same load again is no change."""

    key: str
    label: str
    volume: Volume
    #: What results and measurements are filed under: the study UID, else the source.
    study_key: str


@dataclass(frozen=True)
class Subject:
    """Who and which study: read from the series' own headers, never typed."""

    patient: Patient
    study: Study
    study_key: str

    @property
    def patient_name(self) -> str:
        return " ".join(part for part in self.patient.name.split("^") if part)

    def describe(self) -> str:
        """``Nguyễn Thị Lan · ID PAT-A · study 2024-01-05``, for every panel's header."""
        parts = [self.patient_name or "no patient name"]
        parts.append(f"ID {self.patient.patient_id}" if self.patient.patient_id else "no ID")
        date = dicom_date(self.study.study_date)
        parts.append(f"study {date}" if date else "no study date")
        return " · ".join(parts)


def subject_of(volume: Volume, study_key: str) -> Subject:
    """The patient and study a volume's headers state (empty for NIfTI, which has none)."""
    attributes: Mapping[str, object] = volume.attributes

    def text(key: str) -> str:
        value = attributes.get(key)
        return "" if value is None else str(value)

    patient = Patient(
        patient_id=text("PatientID"),
        name=text("PatientName"),
        birth_date=text("PatientBirthDate"),
        sex=text("PatientSex"),
    )
    study = Study(
        study_uid=volume.provenance.study_uid,
        accession_number=text("AccessionNumber"),
        study_date=text("StudyDate"),
        study_time=text("StudyTime"),
        modality=volume.modality,
        description=text("StudyDescription"),
    )
    return Subject(patient, study, study_key)


@dataclass
class _Results:
    """Result folders saved for one study, by capability, newest last."""

    by_kind: dict[str, list[Path]] = field(default_factory=dict)


class ReadingContext:
    """The evented model of what is read. Events (each emits the new value):

    * ``subject``: the patient and study changed (a :class:`Subject`, or None);
    * ``series``: the series shown changed (a :class:`SeriesShown`, or None while a
      series loads);
    * ``results``: a result was saved for the current study (the kind);
    * ``reader``: the reading physician's name changed.
    """

    def __init__(self, reader: str = "") -> None:
        self.events = SimpleNamespace(
            subject=Event("subject"),
            series=Event("series"),
            results=Event("results"),
            reader=Event("reader"),
        )
        self._subject: Subject | None = None
        self._series: SeriesShown | None = None
        self._reader = reader.strip()
        self._results: dict[str, _Results] = {}

    # --- what is read -----------------------------------------------------------------

    @property
    def subject(self) -> Subject | None:
        return self._subject

    @property
    def study_key(self) -> str | None:
        return self._subject.study_key if self._subject is not None else None

    @property
    def series(self) -> SeriesShown | None:
        return self._series

    def show(self, series: SeriesShown | None) -> None:
        """A series is on screen (None: nothing is); the subject follows its headers."""
        subject = subject_of(series.volume, series.study_key) if series is not None else None
        self._set(subject, series)

    def show_loading(self, volume: Volume, study_key: str) -> None:
        """A series is being loaded (its first image shown): the subject is already its."""
        self._set(subject_of(volume, study_key), None)

    def _set(self, subject: Subject | None, series: SeriesShown | None) -> None:
        subject_changed = subject != self._subject
        series_changed = series != self._series
        self._subject, self._series = subject, series
        if subject_changed:
            self.events.subject.emit(subject)
        if series_changed:
            self.events.series.emit(series)

    # --- results of studies ---------------------------------------------------------------

    def results(self, kind: str, study_key: str | None = None) -> list[Path]:
        """Result folders of ``kind`` saved for the study (default: the current one)."""
        key = study_key if study_key is not None else self.study_key
        if key is None:
            return []
        return list(self._results.get(key, _Results()).by_kind.get(kind, []))

    def all_results(self, study_key: str | None = None) -> list[Path]:
        """Every saved result folder of the study (default: the current one), by kind."""
        key = study_key if study_key is not None else self.study_key
        found = self._results.get(key or "", _Results()).by_kind
        return [folder for kind in sorted(found) for folder in found[kind]]

    def add_result(self, kind: str, folder: Path, study_key: str) -> None:
        """A result of ``kind`` was saved for the study ``study_key`` (maybe not shown)."""
        folders = self._results.setdefault(study_key, _Results()).by_kind.setdefault(kind, [])
        folders[:] = [f for f in folders if f != folder] + [folder]
        if study_key == self.study_key:
            self.events.results.emit(kind)

    # --- who reads ------------------------------------------------------------------------

    @property
    def reader(self) -> str:
        return self._reader

    def set_reader(self, name: str) -> None:
        name = name.strip()
        if name != self._reader:
            self._reader = name
            self.events.reader.emit(name)
