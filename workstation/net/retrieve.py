"""Query a PACS for studies and retrieve one into the local database.

The same two steps whatever the protocol: a :class:`StudySource` (C-FIND + C-MOVE or
C-GET in :mod:`~workstation.net.dimse`, QIDO-RS + WADO-RS in
:mod:`~workstation.net.dicomweb`) finds studies and writes a study's files into a
folder; :func:`retrieve_study` then indexes them with the ordinary importer, copying
them into the store, so a retrieved study is indistinguishable from an imported one.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from pydicom.dataset import Dataset

from workstation.dicom.database import Database
from workstation.dicom.import_report import ImportReport
from workstation.dicom.importer import ImportRequest, import_paths
from workstation.model.progress import CancelToken, Progress, check, no_progress

#: Study-level attributes asked for in every query (C-FIND return keys, QIDO includefield).
STUDY_RETURN_KEYS = (
    "StudyInstanceUID",
    "PatientID",
    "PatientName",
    "PatientBirthDate",
    "PatientSex",
    "StudyDate",
    "StudyTime",
    "AccessionNumber",
    "StudyDescription",
    "ModalitiesInStudy",
    "NumberOfStudyRelatedSeries",
    "NumberOfStudyRelatedInstances",
)


@dataclass(frozen=True)
class StudyQuery:
    """Matching keys; empty ones match everything. Dates may be ranges (``20240101-``)."""

    patient_id: str = ""
    patient_name: str = ""
    study_date: str = ""
    accession_number: str = ""
    study_uid: str = ""
    modality: str = ""

    def matching_keys(self) -> dict[str, str]:
        """DICOM keyword -> value for the keys that are set."""
        keys = {
            "PatientID": self.patient_id,
            "PatientName": self.patient_name,
            "StudyDate": self.study_date,
            "AccessionNumber": self.accession_number,
            "StudyInstanceUID": self.study_uid,
            "ModalitiesInStudy": self.modality,
        }
        return {keyword: value for keyword, value in keys.items() if value}


@dataclass(frozen=True)
class RemoteStudy:
    """One study as a PACS describes it (counts are None when it does not say)."""

    study_uid: str
    patient_id: str
    patient_name: str
    patient_birth_date: str
    patient_sex: str
    study_date: str
    study_time: str
    accession_number: str
    study_description: str
    modalities: tuple[str, ...]
    series_count: int | None
    instance_count: int | None

    @classmethod
    def from_dataset(cls, ds: Dataset) -> RemoteStudy:
        def text(keyword: str) -> str:
            value = ds.get(keyword)
            return "" if value is None else str(value).strip()

        def number(keyword: str) -> int | None:
            value = text(keyword)
            return int(value) if value.isdigit() else None

        modalities = ds.get("ModalitiesInStudy") or []
        if isinstance(modalities, str):
            modalities = modalities.split("\\")
        return cls(
            study_uid=text("StudyInstanceUID"),
            patient_id=text("PatientID"),
            patient_name=text("PatientName"),
            patient_birth_date=text("PatientBirthDate"),
            patient_sex=text("PatientSex"),
            study_date=text("StudyDate"),
            study_time=text("StudyTime"),
            accession_number=text("AccessionNumber"),
            study_description=text("StudyDescription"),
            modalities=tuple(sorted(str(m) for m in modalities if m)),
            series_count=number("NumberOfStudyRelatedSeries"),
            instance_count=number("NumberOfStudyRelatedInstances"),
        )


class StudySource(Protocol):
    """A PACS seen through one protocol."""

    def find_studies(self, query: StudyQuery) -> list[Dataset]:
        """Study-level matches with :data:`STUDY_RETURN_KEYS`."""
        ...

    def fetch_study(
        self, study_uid: str, folder: Path, progress: Progress, cancel: CancelToken | None
    ) -> int:
        """Write every instance of the study into ``folder``; return how many."""
        ...


@dataclass
class RetrieveReport:
    """How many files arrived and what the import made of them."""

    study_uid: str
    received: int = 0
    imported: ImportReport = field(default_factory=ImportReport)


def query_studies(source: StudySource, query: StudyQuery) -> list[RemoteStudy]:
    """The studies matching ``query``, newest first."""
    studies = [RemoteStudy.from_dataset(ds) for ds in source.find_studies(query)]
    return sorted(studies, key=lambda s: (s.study_date, s.study_time), reverse=True)


def retrieve_study(
    db: Database,
    store: Path,
    source: StudySource,
    study_uid: str,
    *,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
) -> RetrieveReport:
    """Fetch one study into a scratch folder beside ``store``, then import it with copies."""
    report = RetrieveReport(study_uid)
    store.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="retrieve-", dir=store.parent) as scratch:
        folder = Path(scratch)
        report.received = source.fetch_study(study_uid, folder, progress or no_progress, cancel)
        check(cancel)
        request = ImportRequest(paths=[folder], store=store, copy=True)
        report.imported = import_paths(db, request, cancel=cancel)
    return report
