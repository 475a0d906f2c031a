"""Who and when a perfusion summary is about: read from the source images, never typed.

The summary reaches phones and the PACS on its own, so it names its patient and study
and says how long the result took: from the last image when the caller knows when that
arrived (the triage node), else the analysis' own duration (``halong perfusion``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pydicom.dataset import Dataset

from workstation.perfusion.inputs import SourceStudy


@dataclass(frozen=True)
class SummarySubject:
    """Patient and study as the source headers state them (empty when they do not)."""

    name: str = ""  # as read: "Nguyễn Thị Lan", from DICOM "Nguyễn^Thị Lan"
    patient_id: str = ""
    #: Age as DICOM states it (Age String, "067Y"), or from birth and study dates.
    age: str = ""
    sex: str = ""  # M, F, O or empty
    study_date: str = ""  # YYYYMMDD
    study_time: str = ""  # HHMMSS
    #: True when the identity was made up (NIfTI input has no patient or study).
    made_up: bool = False


@dataclass(frozen=True)
class ResultTime:
    """How long the result took, and from what."""

    seconds: float
    #: True: from the last image of the study; False: the analysis' own duration.
    since_last_image: bool


def _text(header: Dataset, keyword: str) -> str:
    return str(header.get(keyword) or "").strip()


def _person_name(value: str) -> str:
    """The alphabetic group of a DICOM person name, its components space-separated."""
    return " ".join(part for part in value.split("=")[0].split("^") if part)


def _date(value: str) -> date | None:
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:8]))
    except ValueError:
        return None


def age_string(birth_date: str, study_date: str) -> str:
    """Whole years between two DICOM dates, as an Age String ("067Y"); "" when unknown."""
    born, seen = _date(birth_date), _date(study_date)
    if born is None or seen is None or seen < born:
        return ""
    years = seen.year - born.year - ((seen.month, seen.day) < (born.month, born.day))
    return f"{years:03d}Y"


def summary_subject(source: SourceStudy) -> SummarySubject:
    header = source.reference
    study_date = _text(header, "StudyDate")
    return SummarySubject(
        name=_person_name(_text(header, "PatientName")),
        patient_id=_text(header, "PatientID"),
        age=_text(header, "PatientAge")
        or age_string(_text(header, "PatientBirthDate"), study_date),
        sex=_text(header, "PatientSex"),
        study_date=study_date,
        study_time=_text(header, "StudyTime"),
        made_up=source.made_up,
    )
