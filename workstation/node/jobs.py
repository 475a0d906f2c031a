"""The node's job table: one job per routed series, from queued to done or failed.

``queued`` -> ``running`` (a worker has it) -> ``done`` (its result folder written and
queued for the PACS; ``sent_at`` once all of it is delivered) or ``failed`` (with the
reason). A series has at most one job, so the same series sent twice runs once;
:func:`requeue` runs it again on request. A node killed while jobs run leaves them
``running``; the next start puts them back in the queue (:meth:`JobTable.recover`),
keeping their result folder, so a result already written is sent, not made twice.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from workstation.node.database import Tables, TableStore, transaction

JobStatus = Literal["queued", "running", "done", "failed"]
JOB_STATUSES: tuple[JobStatus, ...] = ("queued", "running", "done", "failed")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY,
    series_uid TEXT NOT NULL UNIQUE,
    study_uid TEXT NOT NULL,
    patient_id TEXT NOT NULL,
    workflow TEXT NOT NULL,
    rule TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    runs INTEGER NOT NULL DEFAULT 0,     -- how many times a worker was given it
    reason TEXT,                         -- why it failed, or why it was queued again
    result_folder TEXT,
    worker TEXT,                         -- who runs (or ran) it, e.g. "process 4242"
    stage TEXT,                          -- what its worker does now, e.g. "computing maps"
    last_instance_at REAL NOT NULL,      -- the series' last instance arrived (Unix time)
    queued_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    sent_at REAL,                        -- every result object delivered
    outbox_items TEXT                    -- JSON list of the outbox item IDs it queued
);
CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs (status, id)
"""
TABLES = Tables("jobs", 1, _SCHEMA)


class JobError(Exception):
    """A job cannot be changed as asked; the message says why."""


@dataclass(frozen=True)
class Job:
    """One row of the job table."""

    id: int
    series_uid: str
    study_uid: str
    patient_id: str
    workflow: str
    rule: str
    status: JobStatus
    runs: int
    reason: str | None
    result_folder: str | None
    worker: str | None
    stage: str | None
    last_instance_at: float
    queued_at: float
    started_at: float | None
    finished_at: float | None
    sent_at: float | None
    outbox_items: tuple[int, ...]

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "outbox_items": list(self.outbox_items)}


def _job(row: sqlite3.Row) -> Job:
    values = dict(row)
    values["outbox_items"] = tuple(json.loads(values["outbox_items"] or "[]"))
    return Job(**values)


class JobTable(TableStore):
    """The jobs table of the node database."""

    TABLES = TABLES

    # -- reading ------------------------------------------------------------------

    def get(self, job_id: int) -> Job:
        row = self._db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise JobError(f"no job {job_id}")
        return _job(row)

    def for_series(self, series_uid: str) -> Job | None:
        row = self._db.execute("SELECT * FROM jobs WHERE series_uid = ?", (series_uid,)).fetchone()
        return None if row is None else _job(row)

    def jobs(self, status: JobStatus | None = None) -> list[Job]:
        """Jobs in queue order, optionally only those with ``status``."""
        rows = self._db.execute(
            "SELECT * FROM jobs WHERE ? IS NULL OR status = ? ORDER BY id", (status, status)
        ).fetchall()
        return [_job(row) for row in rows]

    def unsent(self) -> list[Job]:
        """Done jobs whose results are queued for the PACS but not all delivered yet."""
        rows = self._db.execute(
            "SELECT * FROM jobs WHERE status = 'done' AND sent_at IS NULL "
            "AND outbox_items IS NOT NULL ORDER BY id"
        ).fetchall()
        return [_job(row) for row in rows]

    # -- changes ------------------------------------------------------------------

    def add(
        self,
        *,
        series_uid: str,
        study_uid: str,
        patient_id: str,
        workflow: str,
        rule: str,
        last_instance_at: float,
    ) -> Job | None:
        """Queue a job for the series; None when it has one already (it runs once)."""
        with transaction(self._db) as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO jobs (series_uid, study_uid, patient_id, workflow, rule, "
                "status, last_instance_at, queued_at) VALUES (?, ?, ?, ?, ?, 'queued', ?, ?)",
                (series_uid, study_uid, patient_id, workflow, rule, last_instance_at, time.time()),
            )
        return self.get(cursor.lastrowid) if cursor.rowcount else None

    def next_queued(self) -> Job | None:
        row = self._db.execute(
            "SELECT * FROM jobs WHERE status = 'queued' ORDER BY id LIMIT 1"
        ).fetchone()
        return None if row is None else _job(row)

    def start(self, job_id: int, result_folder: Path) -> Job:
        """A worker is given the job, to write into ``result_folder``."""
        self._change(
            job_id,
            "queued",
            "status = 'running', runs = runs + 1, result_folder = ?, started_at = ?, "
            "finished_at = NULL, worker = NULL, stage = NULL",
            (str(result_folder), time.time()),
        )
        return self.get(job_id)

    def set_worker(self, job_id: int, worker: str) -> None:
        self._change(job_id, "running", "worker = ?", (worker,))

    def set_stage(self, job_id: int, stage: str) -> None:
        """What the worker of a running job is doing (for the log and the web page)."""
        self._change(job_id, "running", "stage = ?", (stage,))

    def finish(self, job_id: int, outbox_items: Sequence[int]) -> Job:
        """The result is written and queued for the PACS."""
        self._change(
            job_id,
            "running",
            "status = 'done', finished_at = ?, outbox_items = ?",  # reason: why it ran again
            (time.time(), json.dumps(list(outbox_items))),
        )
        return self.get(job_id)

    def fail(self, job_id: int, reason: str, *, result_folder: Path | None) -> Job:
        """The job failed for ``reason``; ``result_folder`` is what is left of its result."""
        self._change(
            job_id,
            "running",
            "status = 'failed', reason = ?, finished_at = ?, result_folder = ?",
            (reason, time.time(), None if result_folder is None else str(result_folder)),
        )
        return self.get(job_id)

    def mark_sent(self, job_id: int, sent_at: float) -> None:
        self._change(job_id, "done", "sent_at = ?", (sent_at,))

    def recover(self, reason: str) -> list[int]:
        """Queue again the jobs left running (their node stopped); return their IDs."""
        with transaction(self._db) as db:
            ids = [row[0] for row in db.execute("SELECT id FROM jobs WHERE status = 'running'")]
            db.execute(
                "UPDATE jobs SET status = 'queued', reason = ?, worker = NULL "
                "WHERE status = 'running'",
                (reason,),
            )
        return ids

    def requeue(
        self,
        series_uid: str,
        reason: str = "queued again on request",
        last_instance_at: float | None = None,
    ) -> Job:
        """Run the series' job again, into a new result folder (a fresh analysis); with
        ``last_instance_at`` when more images arrived since."""
        job = self.for_series(series_uid)
        if job is None:
            raise JobError(f"no job for series {series_uid}")
        if job.status in ("queued", "running"):
            raise JobError(f"the job of series {series_uid} is {job.status} already")
        self._change(
            job.id,
            job.status,
            "status = 'queued', reason = ?, result_folder = NULL, last_instance_at = ?, "
            "queued_at = ?, started_at = NULL, finished_at = NULL, sent_at = NULL, "
            "outbox_items = NULL, worker = NULL",
            (reason, last_instance_at or job.last_instance_at, time.time()),
        )
        return self.get(job.id)

    def _change(self, job_id: int, expected: JobStatus, assignments: str, values: tuple) -> None:
        """Update a job that is in status ``expected``; JobError when it is not."""
        with transaction(self._db) as db:
            changed = db.execute(
                f"UPDATE jobs SET {assignments} WHERE id = ? AND status = ?",
                (*values, job_id, expected),
            ).rowcount
        if not changed:
            raise JobError(f"job {job_id} is not {expected}")


def requeue(node_database_path: Path, series_uid: str) -> Job:
    """Force the series' analysis to run again (the running node picks it up)."""
    with JobTable.open(node_database_path) as table:
        return table.requeue(series_uid)
