"""What this station has of the node's series: its own index and result folders (Qt-free).

The node's API names a series by its UIDs and patient ID only; the patient's name and
the study and series descriptions come from this station's index when the study is
here, and a done series' result folder is found where the node writes it (under the
study's results in the data folder) when the node shares this data folder. The panel's
background refresh calls :func:`look_up`, so the window never waits on the disk.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from workstation.dicom.database import Database, DatabaseError
from workstation.home import HalongHome
from workstation.model.manifest import MANIFEST
from workstation.net.node_client import NodeQueue, NodeSeries

#: Result files by analysis (the node's workflow names), as the engines write them.
RESULT_FILES = {"perfusion": "perfusion.json", "lung": "lung.json"}


@dataclass(frozen=True)
class LocalSeries:
    """What the station knows of one of the node's series."""

    on_station: bool = False
    patient_name: str = ""
    study_description: str = ""
    series_description: str = ""
    #: The series' result folder on this station's disk, when there is one.
    result_folder: Path | None = None


@dataclass(frozen=True)
class QueueView:
    """The node's queue with what this station has of each series, by series UID."""

    queue: NodeQueue
    local: dict[str, LocalSeries]


def look_up(home: HalongHome, queue: NodeQueue) -> QueueView:
    """``queue`` with the station's own knowledge of each series."""
    indexed = _indexed(home.database_path, {series.study_uid for series in queue.series})
    local = {}
    for series in queue.series:
        patient, study, description = indexed.get(series.series_uid, ("", "", ""))
        local[series.series_uid] = LocalSeries(
            on_station=series.series_uid in indexed,
            patient_name=patient,
            study_description=study,
            series_description=description,
            result_folder=result_folder(home, series) if series.state == "done" else None,
        )
    return QueueView(queue, local)


def _indexed(database_path: Path, study_uids: Iterable[str]) -> dict[str, tuple[str, str, str]]:
    """(patient name, study description, series description) of the indexed series."""
    if not database_path.is_file():
        return {}
    wanted = set(study_uids)
    found: dict[str, tuple[str, str, str]] = {}
    try:
        with Database.open(database_path) as db:
            for study in db.studies():
                if study.study_uid not in wanted:
                    continue
                name = " ".join(part for part in study.patient_name.split("^") if part)
                for series in db.series(study.study_uid):
                    found[series.series_uid] = (
                        name,
                        study.study_description,
                        series.series_description,
                    )
    except DatabaseError:
        return {}  # an unreadable index: the node's own columns still show
    return found


def result_folder(home: HalongHome, series: NodeSeries) -> Path | None:
    """The series' sealed result folder on this disk: the one the node names, else the
    newest under the study's results whose result file is of this series."""
    if series.result_folder:
        named = Path(series.result_folder)
        if (named / MANIFEST).is_file():
            return named
    name = RESULT_FILES.get(series.analysis)
    if name is None:
        return None
    found = [
        path.parent
        for path in home.study_results(series.study_uid).glob(f"*/{name}")
        if (path.parent / MANIFEST).is_file()
        and _series_of(path, path.stat().st_mtime_ns) == series.series_uid
    ]
    return max(found, key=lambda folder: folder.stat().st_mtime) if found else None


@functools.lru_cache(maxsize=1024)
def _series_of(result_file: Path, _mtime_ns: int) -> str:
    """The series UID a result file was computed on ("" when unreadable); remembered
    while the file is unchanged, as the panel asks again at every refresh."""
    try:
        document = json.loads(result_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    if not isinstance(document, dict):
        return ""
    source = document.get("input")
    uid = document.get("series_uid") or (
        source.get("series_uid") if isinstance(source, dict) else ""
    )
    return str(uid or "")
