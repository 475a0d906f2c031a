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
from workstation.reporting.adapters import ResultAdapter, adapters


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
    newest under the study's results. Only a folder under this study's results whose
    result file is of this series is taken: a path from the node is never trusted alone."""
    adapter = next((a for a in adapters() if a.kind == series.analysis), None)
    if adapter is None:
        return None
    study_results = home.study_results(series.study_uid).resolve()
    named = [Path(series.result_folder)] if series.result_folder else []
    candidates = [*named, *(path.parent for path in study_results.glob(f"*/{adapter.result_file}"))]
    found = [
        folder
        for folder in candidates
        if folder.resolve().parent == study_results
        and (folder / MANIFEST).is_file()
        and _series_of(adapter, folder / adapter.result_file) == series.series_uid
    ]
    if named and found and found[0] == named[0]:
        return named[0]
    return max(found, key=lambda folder: folder.stat().st_mtime) if found else None


def _series_of(adapter: ResultAdapter, result_file: Path) -> str:
    """The series UID a result file was computed on ("" when unreadable)."""
    try:
        stamp = result_file.stat().st_mtime_ns
    except OSError:
        return ""
    return _remembered_series(adapter, result_file, stamp)


@functools.lru_cache(maxsize=1024)
def _remembered_series(adapter: ResultAdapter, result_file: Path, _mtime_ns: int) -> str:
    """Remembered while the file is unchanged, as the panel asks again at every refresh."""
    try:
        document = json.loads(result_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    return str(adapter.series_uid(document) or "") if isinstance(document, dict) else ""
