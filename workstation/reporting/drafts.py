"""Draft autosave: a crash, a power cut or ``kill -9`` loses nothing typed.

Each draft is a folder with a snapshot (``snapshot.json``) and a journal
(``journal.jsonl``). Every change is appended to the journal and fsync'ed before
the call returns, so whatever the editor has shown as saved is on disk. Now and
then the journal is folded into a new snapshot, written to a temporary file,
fsync'ed and renamed over the old one (atomic on POSIX), and the journal restarts.
Opening a draft loads the snapshot and replays the journal entries newer than it;
a last line torn by a crash mid-write is ignored (it was never acknowledged).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from workstation.model.durable import sync_folder, write_atomically
from workstation.model.report import Decision, Icd10Code, Report

SNAPSHOT = "snapshot.json"
JOURNAL = "journal.jsonl"
#: Journal entries between snapshots: bounds replay time and journal size.
CHECKPOINT_EVERY = 64


class DraftError(Exception):
    """A draft is missing or cannot be read."""


class DraftSession:
    """The open draft of one report: change it through here and every change is kept."""

    def __init__(
        self, folder: Path, report: Report, sequence: int, result_dirs: Sequence[str] = ()
    ) -> None:
        self.folder = folder
        #: The AI result folders the draft was made from (for the SR/SEG and key images).
        self.result_dirs = [Path(p) for p in result_dirs]
        self._report = report
        self._sequence = sequence
        self._since_checkpoint = 0

    @property
    def report(self) -> Report:
        return self._report

    def edit(self, **changes: Any) -> Report:
        """Change text fields (see :data:`~workstation.model.report.EDITABLE_FIELDS`)."""
        report = self._report.edit(**changes)
        icd10 = changes.get("icd10")
        if icd10 is not None:
            changes["icd10"] = [{"code": c.code, "display": c.display} for c in icd10]
        return self._commit(report, {"op": "edit", "changes": changes})

    def decide(
        self, finding_id: str, decision: Decision, physician: str, at: datetime | None = None
    ) -> Report:
        """Record an accept / reject / undo on one AI finding."""
        report = self._report.decide(finding_id, decision, physician, at)
        decided_at = report.finding(finding_id).decided_at
        entry = {
            "op": "decide",
            "finding": finding_id,
            "decision": Decision(decision).value,
            "by": physician,
            "at": decided_at.isoformat() if decided_at else None,
        }
        return self._commit(report, entry)

    def replace(self, report: Report) -> Report:
        """Keep a whole new draft value (e.g. after pre-filling the conclusion)."""
        if report.report_id != self._report.report_id:
            raise DraftError("a draft session keeps one report")
        return self._commit(report, {"op": "replace", "report": report.to_dict()})

    def _commit(self, report: Report, entry: dict[str, Any]) -> Report:
        self._sequence += 1
        line = json.dumps({"seq": self._sequence, **entry}, ensure_ascii=False)
        with open(self.folder / JOURNAL, "ab") as journal:
            journal.write(line.encode("utf-8") + b"\n")
            journal.flush()
            os.fsync(journal.fileno())
        self._report = report
        self._since_checkpoint += 1
        if self._since_checkpoint >= CHECKPOINT_EVERY:
            self.checkpoint()
        return report

    def checkpoint(self) -> None:
        """Fold the journal into a fresh snapshot and start an empty journal."""
        snapshot = {
            "seq": self._sequence,
            "report": self._report.to_dict(),
            "result_dirs": [str(p) for p in self.result_dirs],
        }
        write_atomically(
            self.folder / SNAPSHOT, json.dumps(snapshot, ensure_ascii=False).encode("utf-8")
        )
        write_atomically(self.folder / JOURNAL, b"")
        self._since_checkpoint = 0

    def close(self) -> None:
        """Fold the journal into the snapshot (nothing is lost without it, only replayed)."""
        self.checkpoint()

    def __enter__(self) -> DraftSession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _apply(report: Report, entry: dict[str, Any]) -> Report:
    op = entry["op"]
    if op == "edit":
        return report.edit(**_decoded_changes(entry["changes"]))
    if op == "decide":
        at = datetime.fromisoformat(entry["at"]) if entry.get("at") else None
        return report.decide(entry["finding"], Decision(entry["decision"]), entry["by"], at)
    if op == "replace":
        return Report.from_dict(entry["report"])
    raise DraftError(f"unknown journal entry {op!r}")


def _decoded_changes(changes: dict[str, Any]) -> dict[str, Any]:
    if "icd10" in changes:
        changes = {**changes, "icd10": [Icd10Code(**c) for c in changes["icd10"]]}
    return changes


def _journal_entries(path: Path) -> Iterator[dict[str, Any]]:
    if not path.is_file():
        return
    for line in path.read_bytes().split(b"\n"):
        if not line.strip():
            continue
        try:
            yield json.loads(line)
        except ValueError:  # torn by a crash mid-write: never acknowledged
            return


class DraftStore:
    """All drafts under one folder (e.g. ``<HALONG_HOME>/drafts``), one sub-folder each."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _folder(self, report_id: str) -> Path:
        if not report_id.isalnum():
            raise DraftError(f"bad report id {report_id!r}")
        return self.root / report_id

    def create(self, report: Report, result_dirs: Sequence[str | Path] = ()) -> DraftSession:
        """Start keeping ``report`` (a draft); its snapshot is on disk when this returns."""
        if not report.is_draft:
            raise DraftError("only drafts are autosaved; final reports go to the archive")
        folder = self._folder(report.report_id)
        folder.mkdir(parents=True, exist_ok=True)
        sync_folder(self.root)
        session = DraftSession(folder, report, 0, [str(p) for p in result_dirs])
        session.checkpoint()
        return session

    def open(self, report_id: str) -> DraftSession:
        """Recover a draft exactly as last acknowledged."""
        folder = self._folder(report_id)
        try:
            snapshot = json.loads((folder / SNAPSHOT).read_text(encoding="utf-8"))
        except FileNotFoundError as missing:
            raise DraftError(f"no draft {report_id}") from missing
        report = Report.from_dict(snapshot["report"])
        sequence = int(snapshot["seq"])
        for entry in _journal_entries(folder / JOURNAL):
            if entry["seq"] > sequence:
                report = _apply(report, entry)
                sequence = entry["seq"]
        session = DraftSession(folder, report, sequence, snapshot.get("result_dirs", ()))
        session.checkpoint()  # a torn last line must not swallow the next appends
        return session

    def study_uid(self, report_id: str) -> str | None:
        """The study a draft is of, from its snapshot alone (no replay, nothing written):
        a draft never changes study, as every change keeps its report id and study."""
        try:
            snapshot = json.loads((self._folder(report_id) / SNAPSHOT).read_text(encoding="utf-8"))
            return str(snapshot["report"]["study"]["study_uid"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def report_ids(self) -> list[str]:
        """Drafts waiting to be finished (e.g. to offer after a crash)."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if (p / SNAPSHOT).is_file())

    def discard(self, report_id: str) -> None:
        """Forget a draft (once it is final and archived, or abandoned)."""
        shutil.rmtree(self._folder(report_id), ignore_errors=True)
