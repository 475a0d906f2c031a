"""Index DICOM files, folders and zip archives into the local database.

:func:`import_paths` is the one entry point for the CLI and the UI. It streams the
files (never holding more than one batch of header rows), reads each header through
:func:`~workstation.dicom.headers.read_instance`, and commits in batches so a crash
or a cancel keeps what was done. A file that cannot be used is listed with its
reason and the import carries on.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from workstation.dicom.database import Database, IndexRow, index_row
from workstation.dicom.headers import InstanceHeader, UnusableFile, read_instance
from workstation.dicom.import_report import Candidate, ImportReport, SkippedFile
from workstation.dicom.sources import iter_candidates
from workstation.dicom.zip_source import ZipLimits, remove_stale_staging
from workstation.model.progress import CancelToken, Progress

#: Rows per transaction: large enough to amortise the commit, small enough to stay tiny.
BATCH_SIZE = 500
_SAFE_UID = re.compile(r"[0-9.]{1,64}")


@dataclass(frozen=True)
class ImportRequest:
    """What to import and where copies go.

    ``copy`` copies files into ``store``; without it files are indexed where they
    are. Zip members are always extracted into ``store``, since a viewer cannot
    read them in place, within ``zip_limits`` (zip bombs are refused).
    """

    paths: Sequence[str | os.PathLike[str]]
    store: Path
    copy: bool = False
    zip_limits: ZipLimits = field(default_factory=ZipLimits)


def import_paths(
    db: Database,
    request: ImportRequest,
    *,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
) -> ImportReport:
    """Index every DICOM image under ``request.paths``; report per file what happened."""
    remove_stale_staging(request.store)
    indexer = _Indexer(db, request)
    found = iter_candidates(request.paths, request.store, request.zip_limits)
    with contextlib.closing(found):
        for item in found:
            if cancel is not None and cancel.cancelled:
                indexer.report.cancelled = True
                break
            if isinstance(item, SkippedFile):
                indexer.report.skipped.append(item)
            else:
                indexer.take(item)
            if progress is not None:
                progress(indexer.seen, None, indexer.summary())
    indexer.flush()
    return indexer.report


def store_path(store: Path, header: InstanceHeader) -> Path:
    """Where an instance is kept in the store: ``study/series/instance.dcm`` by UID."""
    parts = (header.study_uid, header.series_uid, header.sop_instance_uid)
    study, series, instance = (_file_name(uid) for uid in parts)
    return store / study / series / f"{instance}.dcm"


def _file_name(uid: str) -> str:
    """A valid UID as is; anything else (from a damaged header) as a hash, never a path."""
    if _SAFE_UID.fullmatch(uid):
        return uid
    return hashlib.sha1(uid.encode("utf-8", "replace")).hexdigest()


def _missing_identity(header: InstanceHeader) -> str | None:
    if not header.study_uid:
        return "no Study Instance UID, so it cannot be filed under a study"
    if not header.series_uid:
        return "no Series Instance UID, so it cannot be filed under a series"
    return None


class _Indexer:
    """The state of one import: the report and the batch not yet committed."""

    def __init__(self, db: Database, request: ImportRequest) -> None:
        self.db = db
        self.request = request
        self.report = ImportReport()
        self.pending: list[IndexRow] = []
        self.pending_uids: set[str] = set()

    @property
    def seen(self) -> int:
        return self.report.files_seen + len(self.pending)

    def summary(self) -> str:
        imported = self.report.imported + len(self.pending)
        return (
            f"{imported} new, {self.report.already_indexed} already indexed, "
            f"{len(self.report.skipped)} skipped"
        )

    def take(self, candidate: Candidate) -> None:
        """Read one file and queue it for indexing, or record why not."""
        try:
            header = read_instance(candidate.path)
        except UnusableFile as error:
            self.report.skipped.append(SkippedFile(candidate.label, error.reason))
            return
        problem = _missing_identity(header)
        if problem:
            self.report.skipped.append(SkippedFile(candidate.label, problem))
            return
        uid = header.sop_instance_uid
        if uid in self.pending_uids or self.db.contains(uid):
            self.report.already_indexed += 1
            return
        try:
            path = self._place(candidate, header)
        except OSError as error:
            reason = f"cannot copy it into the store ({error.strerror or error})"
            self.report.skipped.append(SkippedFile(candidate.label, reason))
            return
        self.pending.append(index_row(header, path))
        self.pending_uids.add(uid)
        if len(self.pending) >= BATCH_SIZE:
            self.flush()

    def flush(self) -> None:
        """Commit the queued rows."""
        if not self.pending:
            return
        added = self.db.add(self.pending)
        self.report.imported += added
        self.report.already_indexed += len(self.pending) - added  # indexed meanwhile
        self.pending.clear()
        self.pending_uids.clear()

    def _place(self, candidate: Candidate, header: InstanceHeader) -> str:
        """The path the database will point at, copying into the store where needed."""
        if not (candidate.extracted or self.request.copy):
            return candidate.path
        target = store_path(self.request.store, header)
        target.parent.mkdir(parents=True, exist_ok=True)
        if candidate.extracted:
            os.replace(candidate.path, target)
        else:
            partial = target.with_suffix(".partial")
            shutil.copyfile(candidate.path, partial)
            os.replace(partial, target)
        return str(target)
