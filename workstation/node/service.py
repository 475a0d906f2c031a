"""The triage node running: receive, decide when a series is complete, route, run, send.

One loop on one thread owns the decisions: it routes the series that went quiet,
hands queued jobs to the executor as slots free up, and records each outcome. Around
it, pynetdicom's threads receive (:mod:`~workstation.node.storage`), the sender
delivers the outbox (:mod:`~workstation.node.sending`), and the optional web page
serves the stroke team. Everything the loop decides is in the node database first,
so a node killed at any point starts again where it was.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from pynetdicom import evt
from pynetdicom.sop_class import Verification

if TYPE_CHECKING:
    from workstation.node.web import WebService

from workstation.home import HalongHome
from workstation.model.manifest import MANIFEST
from workstation.net import audit
from workstation.net.dimse import storage_scp_ae
from workstation.net.receiver import Refusals, serve_storage
from workstation.node.alert_settings import use_node_fhir
from workstation.node.alerts import on_result
from workstation.node.arrivals import Arrivals
from workstation.node.config import NodeConfig
from workstation.node.database import NodeDatabaseError
from workstation.node.escalation import escalate_due
from workstation.node.executor import Executor, JobOutcome
from workstation.node.jobs import Job, JobTable
from workstation.node.process_pool import ProcessPool
from workstation.node.routing import IGNORE, load_rules
from workstation.node.sending import Sender
from workstation.node.storage import NodeStorage, Transfers
from workstation.node.worker import JobSpec
from workstation.node.workflows import WORKFLOWS, WorkflowOptions

#: How often the loop looks for quiet series and finished jobs, at the most.
POLL_S = 0.25
#: How long to wait before trying again when the database or the disk fails.
RETRY_S = 2.0
#: How often alerts are checked for escalation when no web page (whose ticker does it) runs.
ESCALATE_EVERY_S = 5.0
RESTARTED = "the node stopped while it ran; queued again"
_log = logging.getLogger(__name__)


class NodeBusyError(Exception):
    """Another node serves this data folder already."""


@contextlib.contextmanager
def _only_node(lock_path: Path) -> Iterator[None]:
    """Hold the data folder's node lock (an ``flock``: a killed node's is freed at once)."""
    lock_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(lock_path, "a+b") as lock:
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise NodeBusyError(
                f"another node runs on this data folder ({lock_path.parent.parent}); "
                "one node per data folder"
            ) from None
        yield


def make_executor(
    workers: int, ray_address: str | None, home: HalongHome, log_folder: Path | None
) -> Executor:
    """``workers`` jobs at once: as Ray tasks on the cluster at ``ray_address`` when given
    (ExecutorError if Ray is missing or the cluster unfit), otherwise in local processes
    logging into ``log_folder``."""
    if ray_address:
        from workstation.node.ray_executor import RayExecutor

        return RayExecutor(ray_address, workers, home.root)
    return ProcessPool(workers, log_folder)


class NodeService:
    """A configured node; :meth:`run` serves until its ``stop`` event is set."""

    def __init__(
        self, config: NodeConfig, home: HalongHome, executor: Executor | None = None
    ) -> None:
        self.config = config
        self.home = home
        self.database = home.node_database
        self.rules = load_rules(config.rules, WORKFLOWS)
        self.executor = executor or make_executor(config.workers, config.ray, home, home.logs)
        #: Set once the storage SCP listens (tests and the web page wait for it).
        self.ready = threading.Event()
        #: Jobs the executor reported ended, not yet written to the job table.
        self._ended: list[JobOutcome] = []

    def run(self, stop: threading.Event) -> None:
        trail = audit.AuditTrail.from_environment(self.home.audit)
        with (
            _only_node(self.database.with_name("node.lock")),
            JobTable.open(self.database) as jobs,
            Arrivals.open(self.database) as arrivals,
        ):
            if self.config.fhir:  # where alerts go, with or without the web page
                use_node_fhir(self.database, self.config.fhir)
            for job_id in jobs.recover(RESTARTED):
                _log.info("job %d: %s", job_id, RESTARTED)
            ae = storage_scp_ae(self.config.aet)
            ae.add_supported_context(Verification)
            transfers = Transfers(trail, self.config.aet)
            handlers = [
                (evt.EVT_C_STORE, NodeStorage(self.home, self.database, transfers)),
                (evt.EVT_CONN_CLOSE, transfers.closed),
            ]
            listen = (self.config.listen, self.config.port)
            refusals = Refusals(trail, self.config.aet)
            sender = Sender(self.home, self.database)
            with serve_storage(ae, self.config.allow, listen, handlers, refusals):
                audit.record_application(trail)
                sender.start()
                web = None
                try:
                    web = self._start_web()
                    _log.info(
                        "%s listening on %s:%d for %s; routing by %s; results to %s",
                        self.config.aet,
                        *listen,
                        ", ".join(map(str, self.config.allow)),
                        self.rules.source,
                        ", ".join(d.address for d in self.config.pacs),
                    )
                    self.ready.set()
                    escalated_at = 0.0
                    while not stop.is_set():
                        self._step(arrivals, jobs, sender)
                        if web is None and time.monotonic() - escalated_at >= ESCALATE_EVERY_S:
                            escalated_at = time.monotonic()  # the web page's ticker does it
                            self._escalate()
                finally:
                    if self.executor.stop():
                        jobs.recover(RESTARTED)
                    sender.stop()
                    if web is not None:
                        web.stop()
                    audit.record_application(trail, stopped=True)

    def _step(self, arrivals: Arrivals, jobs: JobTable, sender: Sender) -> None:
        """Route what went quiet, start what is queued, record what ended. A database or
        disk that fails for a while (locked, full) is waited out: nothing is lost, as
        every decision is written before it is acted on."""
        try:
            self._route(arrivals, jobs)
            self._start_jobs(jobs)
            self._ended += self.executor.wait(POLL_S)
            while self._ended:  # each kept until it is recorded
                self._record(jobs, self._ended[0], sender)
                self._ended.pop(0)
        except (NodeDatabaseError, sqlite3.Error, OSError) as error:
            _log.error("the node database or disk failed (%s); trying again", error)
            time.sleep(RETRY_S)

    def _escalate(self) -> None:
        """Hand alerts nobody acknowledged in time to the next person on call."""
        try:
            escalate_due(self.database, self.home, time.time())
        except Exception:  # the next pass tries again; the analyses go on
            _log.exception("escalating unacknowledged alerts failed")

    def _start_web(self) -> WebService | None:
        if self.config.http is None:
            return None
        from workstation.node.web import start_web  # aiohttp, only when the page is on

        return start_web(self.config, self.database)

    def _route(self, arrivals: Arrivals, jobs: JobTable) -> None:
        """Give each series that went quiet to its workflow, or leave it, saying why."""
        for series in arrivals.complete(time.time() - self.config.stable_seconds):
            features = arrivals.features(series.series_uid)
            rule = self.rules.route(features)
            if rule is None or rule.workflow == IGNORE:
                why = "no routing rule matches" if rule is None else f"rule {rule.name}"
                _log.info("ignored series %s, %s: %s", series.series_uid, features.describe(), why)
                arrivals.settle(series, "ignored", None if rule is None else rule.name, why)
                continue
            job = jobs.add(
                series_uid=series.series_uid,
                study_uid=series.study_uid,
                patient_id=series.patient_id,
                workflow=rule.workflow,
                rule=rule.name,
                last_instance_at=series.last_arrival_at,
            )
            if job is None:
                job = jobs.for_series(series.series_uid)
                if job is not None and job.status == "running":
                    continue  # routed again once it ended, with every image it missed
                if job is not None and job.status in ("done", "failed"):
                    job = self._analyse_again(jobs, job, series.last_arrival_at)
            else:
                _log.info(
                    "job %d: %s for series %s, %s (rule %s)",
                    job.id,
                    rule.workflow,
                    series.series_uid,
                    features.describe(),
                    rule.name,
                )
            arrivals.settle(series, "routed", rule.name)

    def _analyse_again(self, jobs: JobTable, job: Job, last_arrival_at: float) -> Job:
        """A series whose images kept coming after its analysis began: the result (sent,
        perhaps alerted) stands on part of them, so it is analysed again on all of them,
        into a new result folder, and said loudly."""
        if last_arrival_at <= job.last_instance_at:
            return job  # the same images sent again: nothing new
        reason = (
            "more images arrived after the analysis had started; analysed again on all "
            "of them (the earlier result was on part of the series)"
        )
        _log.warning("job %d, series %s: %s", job.id, job.series_uid, reason)
        return jobs.requeue(job.series_uid, reason, last_arrival_at)

    def _start_jobs(self, jobs: JobTable) -> None:
        while self.executor.free_slots() > 0 and (job := jobs.next_queued()) is not None:
            folder = Path(job.result_folder) if job.result_folder else self._new_folder(job)
            jobs.start(job.id, folder)
            spec = JobSpec(
                job.id,
                self.home.root,
                job.series_uid,
                job.workflow,
                folder,
                self.config.pacs,
                self.database,
                WorkflowOptions(self.config.language, job.last_instance_at),
            )
            try:
                worker = self.executor.submit(spec)
            except Exception as error:  # e.g. no process can be started: out of memory
                _log.exception("job %d: cannot start a worker", job.id)
                reason = " ".join(f"no worker started: {error}".split())
                self._record(jobs, JobOutcome(job.id, error=reason), None)
                continue
            jobs.set_worker(job.id, worker)
            _log.info("job %d: started in %s, writing %s", job.id, worker, folder)

    def _new_folder(self, job: Job) -> Path:
        """A result folder of its own under the study's results, made now to hold its name."""
        while True:
            folder = self.home.new_result_folder(job.study_uid, job.workflow)
            try:
                folder.mkdir(parents=True)
                return folder
            except FileExistsError:
                continue  # another job of the study took the name this second

    def _record(self, jobs: JobTable, outcome: JobOutcome, sender: Sender | None) -> None:
        job = jobs.get(outcome.job_id)
        if outcome.result is not None:
            job = jobs.finish(job.id, outcome.result.outbox_items)
            how = "analysed" if outcome.result.analysed else "written before the restart"
            _log.info(
                "job %d: done (%s), %d object(s) queued for the PACS",
                job.id,
                how,
                len(job.outbox_items),
            )
            if sender is not None:
                sender.wake()
        else:
            job = jobs.fail(job.id, str(outcome.error), result_folder=self._kept(job))
            _log.error("job %d: failed: %s", job.id, outcome.error)
        self._alert(job)

    def _kept(self, job: Job) -> Path | None:
        """The failed job's result folder if it holds a whole result; a partial one goes."""
        if job.result_folder is None:
            return None
        folder = Path(job.result_folder)
        if (folder / MANIFEST).is_file():
            return folder
        if folder.is_relative_to(self.home.results):
            shutil.rmtree(folder, ignore_errors=True)
        return None

    def _alert(self, job: Job) -> None:
        """Raise the alert the result calls for; a failure is logged and never loses the result."""
        try:
            on_result(self.database, self.home, job)
        except Exception:
            _log.exception("job %d: raising its alert failed (the result is kept)", job.id)
