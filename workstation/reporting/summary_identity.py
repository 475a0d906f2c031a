"""Whom a summary picture names: the patient and study as the source headers state them.

The perfusion summary and the lung key image reach phones and the PACS on their own, so
each names its patient and study, read from the analysed series' own header, never
typed; both say it in one line with the report's labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pydicom.dataset import Dataset

from workstation.model.dates import dicom_date
from workstation.reporting.templates import Labels


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


def subject_of(header: Dataset, *, made_up: bool = False) -> SummarySubject:
    """The subject one source header states."""
    study_date = _text(header, "StudyDate")
    return SummarySubject(
        name=_person_name(_text(header, "PatientName")),
        patient_id=_text(header, "PatientID"),
        age=_text(header, "PatientAge")
        or age_string(_text(header, "PatientBirthDate"), study_date),
        sex=_text(header, "PatientSex"),
        study_date=study_date,
        study_time=_text(header, "StudyTime"),
        made_up=made_up,
    )


def _age(age: str, labels: Labels) -> str:
    units = labels["perfusion_image"]["age_units"]
    if len(age) == 4 and age[:3].isdigit() and age[3] in units:
        return f"{int(age[:3])} {units[age[3]]}"
    return age


def identity_line(subject: SummarySubject, labels: Labels) -> str:
    """ID, age, sex, study date and time: "Mã người bệnh: PAT-300 · 66 tuổi · Nam · ..."."""
    parts = [f"{labels['patient_id']}: {subject.patient_id or '-'}"]
    if subject.age:
        parts.append(_age(subject.age, labels))
    if subject.sex:
        parts.append(labels["sex_values"].get(subject.sex, subject.sex))
    time = subject.study_time
    clock = f"{time[:2]}:{time[2:4]}" if len(time) >= 4 else ""
    when = " ".join(part for part in (dicom_date(subject.study_date), clock) if part)
    parts.append(f"{labels['study_date']}: {when or '-'}")
    return " · ".join(parts)
