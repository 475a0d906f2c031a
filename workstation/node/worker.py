"""The job a worker runs: the series' workflow into its result folder, then the outbox.

:func:`run_job` is a plain function of a picklable :class:`JobSpec`, so any executor
(a local process, a Ray task) can run it. It is safe to run again after a crash: a
result folder whose sealed manifest is whole was written completely, so it is queued
as it is (the same objects, the same SOP Instance UIDs: the outbox and the PACS see
one result); a folder without one is analysed again.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from workstation.home import HalongHome
from workstation.model.manifest import ManifestError, read_manifest
from workstation.net.destinations import Destination
from workstation.net.outbox import Outbox
from workstation.net.payloads import read_payload
from workstation.node.database import NodeDatabaseError
from workstation.node.jobs import JobError, JobTable
from workstation.node.workflows import WORKFLOWS, WorkflowOptions

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobSpec:
    """Everything a worker needs, as plain values."""

    job_id: int
    home: Path
    series_uid: str
    workflow: str
    result_folder: Path
    destinations: tuple[Destination, ...]
    #: Where the worker writes each stage it reaches (None: only to the log).
    node_database: Path | None = None
    options: WorkflowOptions = field(default_factory=WorkflowOptions)


@dataclass(frozen=True)
class JobResult:
    job_id: int
    result_folder: Path
    outbox_items: tuple[int, ...]
    #: False when a result written before an interruption was queued as it was.
    analysed: bool


def run_job(spec: JobSpec) -> JobResult:
    """Analyse (unless already done), then queue the result's DICOM objects for the PACS."""
    return queue_result(spec, analyse_job(spec))


def analyse_job(spec: JobSpec) -> bool:
    """Write the series' result into its folder unless a whole one is there; return
    whether it analysed. The part of a job that may run on another machine (Ray): it
    writes files only, never the node's or the outbox's database."""
    home = HalongHome(spec.home)
    try:
        read_manifest(spec.result_folder, home.result_seal_key())
    except ManifestError:
        stages = _Stages(spec.job_id, spec.node_database)
        WORKFLOWS[spec.workflow](home, spec.series_uid, spec.result_folder, stages, spec.options)
        return True
    _log.info("job %d: the result in %s is whole; queuing it", spec.job_id, spec.result_folder)
    return False


def queue_result(spec: JobSpec, analysed: bool) -> JobResult:
    """Queue the DICOM objects of the result's sealed manifest for every destination
    (queuing the same objects again is a no-op: the outbox keys them)."""
    home = HalongHome(spec.home)
    manifest = read_manifest(spec.result_folder, home.result_seal_key())
    payloads = [read_payload(path, "dicom") for path in manifest.paths(".dcm")]
    items: list[int] = []
    with Outbox.open(home.outbox) as outbox:
        for destination in spec.destinations:
            items += [item.id for item in outbox.enqueue(destination, payloads)]
    return JobResult(spec.job_id, spec.result_folder, tuple(items), analysed)


class _Stages:
    """Progress as one log line per stage, and the stage in the job table (a worker has
    no terminal; the web page shows where each job is)."""

    def __init__(self, job_id: int, node_database: Path | None) -> None:
        self.job_id = job_id
        self.node_database = node_database
        self.last = ""

    def __call__(self, done: int, total: int | None, message: str) -> None:
        if message == self.last:
            return
        self.last = message
        _log.info("job %d: %s", self.job_id, message)
        if self.node_database is None:
            return
        try:
            with JobTable.open(self.node_database) as jobs:
                jobs.set_stage(self.job_id, message)
        except (JobError, NodeDatabaseError, sqlite3.Error) as error:  # never fails the job
            _log.warning("job %d: stage not recorded: %s", self.job_id, error)


def describe_failure(error: BaseException) -> str:
    """The reason a job failed, in one line: Halong's own errors as they are written for
    users (a series that is not 4D, a lung engine finding no lungs), others marked."""
    if type(error).__module__.split(".")[0] in ("workstation", "ai"):
        return str(error)
    return f"unexpected {type(error).__name__}: {error}"
