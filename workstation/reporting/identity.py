"""Who and which study a report is about, read from DICOM rather than typed.

Result folders hold DICOM the engines wrote (the AI SR, SEG, Secondary Captures),
which carry the patient and study of their source images; failing that, the local
database knows the series the result names. Typing identity by hand is how reports
end up in the wrong patient's record, so there is no such path here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from workstation.model.report import Patient, SeriesRef, Study
from workstation.reporting.results import ResultSet


class IdentityError(Exception):
    """No patient/study identity could be found for the results."""


def identity_from_dataset(
    dataset: Dataset, series: Iterable[SeriesRef] = ()
) -> tuple[Patient, Study]:
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
    return patient, study


def _first_study_dataset(paths: Iterable[Path]) -> Dataset | None:
    for path in paths:
        try:
            dataset = pydicom.dcmread(path, stop_before_pixels=True)
        except (InvalidDicomError, OSError, ValueError):
            continue
        if "StudyInstanceUID" in dataset and "PatientID" in dataset:
            return dataset
    return None


def identity_for_results(
    results: Iterable[ResultSet], database_path: Path | None = None
) -> tuple[Patient, Study]:
    """The one patient and study every result folder belongs to."""
    results = list(results)
    modality = next((r.modality for r in results), "CT")
    series = tuple(
        SeriesRef(series_uid=r.series_uid, modality=r.modality) for r in results if r.series_uid
    )
    dataset = _first_study_dataset(p for r in results for p in r.dicom_files)
    if dataset is not None:
        patient, study = identity_from_dataset(dataset, series)
    elif database_path is not None and database_path.is_file() and series:
        patient, study = _identity_from_database(database_path, series)
    else:
        raise IdentityError(
            "cannot tell which patient and study the results belong to: the result folders "
            "hold no DICOM object and the series is not in the local database"
        )
    return patient, dataclasses.replace(study, modality=study.modality or modality)


def _identity_from_database(path: Path, series: tuple[SeriesRef, ...]) -> tuple[Patient, Study]:
    from workstation.dicom.database import Database

    wanted = {s.series_uid for s in series}
    with Database.open(path) as db:
        for record in db.studies():
            known = {s.series_uid: s for s in db.series(record.study_uid)}
            if wanted & set(known):
                patient = Patient(
                    patient_id=record.patient_id,
                    name=record.patient_name,
                    birth_date=record.patient_birth_date,
                    sex=record.patient_sex,
                )
                refs = tuple(
                    SeriesRef(
                        series_uid=s.series_uid,
                        modality=s.modality,
                        number=s.series_number,
                        description=s.series_description,
                        instance_count=s.instance_count,
                    )
                    for s in known.values()
                    if s.series_uid in wanted
                )
                study = Study(
                    study_uid=record.study_uid,
                    accession_number=record.accession_number,
                    study_date=record.study_date,
                    study_time=record.study_time,
                    modality=",".join(record.modalities),
                    description=record.study_description,
                    series=refs,
                )
                return patient, study
    raise IdentityError(f"series {', '.join(sorted(wanted))} not found in the local database")
