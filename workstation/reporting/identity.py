"""Who and which study a result is about, read from DICOM rather than typed.

Two witnesses: the local database, which indexed the series a result names, and the
DICOM objects the engine wrote beside it (they carry their source images' patient and
study). Typing identity by hand is how reports end up in the wrong patient's record,
so there is no such path here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from workstation.model.report import Patient, SeriesRef, Study


@dataclass(frozen=True)
class Identity:
    """One witness's patient and study."""

    patient: Patient
    study: Study
    source: str  # who says so: "the local database", or the DICOM file's name

    @property
    def key(self) -> tuple[str, str]:
        return self.patient.patient_id, self.study.study_uid

    def describe(self) -> str:
        """``Nguyễn Thị Lan (ID PAT-A), study 2024-01-05 (1.2.3…)`` for refusals."""
        name = " ".join(part for part in self.patient.name.split("^") if part) or "no name"
        date = self.study.study_date
        shown = f"{date[:4]}-{date[4:6]}-{date[6:]}" if len(date) == 8 else date or "no date"
        return f"{name} (ID {self.patient.patient_id}), study {shown} ({self.study.study_uid})"


def identity_from_dataset(
    dataset: Dataset, series: Iterable[SeriesRef] = (), source: str = ""
) -> Identity:
    """Patient and study as one DICOM object of the study states them."""
    patient = Patient(
        patient_id=str(dataset.get("PatientID", "")),
        name=str(dataset.get("PatientName", "")),
        birth_date=str(dataset.get("PatientBirthDate", "")),
        sex=str(dataset.get("PatientSex", "")),
        issuer=str(dataset.get("IssuerOfPatientID", "")),
    )
    study = Study(
        study_uid=str(dataset.StudyInstanceUID),
        accession_number=str(dataset.get("AccessionNumber", "")),
        study_date=str(dataset.get("StudyDate", "")),
        study_time=str(dataset.get("StudyTime", "")).split(".")[0],
        description=str(dataset.get("StudyDescription", "")),
        series=tuple(series),
        study_id=str(dataset.get("StudyID", "")),
    )
    return Identity(patient, study, source)


def identity_in_files(paths: Iterable[Path]) -> Identity | None:
    """The identity the first readable DICOM object of ``paths`` states, if any."""
    for path in paths:
        try:
            dataset = pydicom.dcmread(path, stop_before_pixels=True)
        except (InvalidDicomError, OSError, ValueError):
            continue
        if "StudyInstanceUID" in dataset and "PatientID" in dataset:
            return identity_from_dataset(dataset, source=path.name)
    return None


def identity_in_database(database_path: Path | None, series_uid: str) -> Identity | None:
    """The patient and study the local database indexed the series under, if it did."""
    if database_path is None or not database_path.is_file() or not series_uid:
        return None
    from workstation.dicom.database import Database

    with Database.open(database_path) as db:
        found = [s for s in db.series() if s.series_uid == series_uid]
        studies = {r.study_uid: r for r in db.studies()} if found else {}
        for series in found:
            record = studies.get(series.study_uid)
            if record is None:
                continue
            patient = Patient(
                patient_id=record.patient_id,
                name=record.patient_name,
                birth_date=record.patient_birth_date,
                sex=record.patient_sex,
            )
            ref = SeriesRef(
                series_uid=series.series_uid,
                modality=series.modality,
                number=series.series_number,
                description=series.series_description,
                instance_count=series.instance_count,
            )
            study = Study(
                study_uid=record.study_uid,
                accession_number=record.accession_number,
                study_date=record.study_date,
                study_time=record.study_time,
                modality=",".join(record.modalities),
                description=record.study_description,
                series=(ref,),
            )
            return Identity(patient, study, "the local database")
    return None
