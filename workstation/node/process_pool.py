"""The local executor: each job in a fresh worker process, at most N at once.

A fresh process per job, rather than long-lived pool workers: the engines hold
gigabytes while they run and give all of it back when the process ends, and a job
that kills its process (a native crash, the kernel's OOM killer, a ``kill -9``) fails
alone: its exit status is its reason, and the other jobs never notice. Workers are
spawned (not forked from a node running network threads) and die with the node
(``PR_SET_PDEATHSIG``), so a killed node leaves no orphan writing results behind it.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import time
import warnings
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path

from workstation.home import PRIVATE_UMASK
from workstation.node.executor import ExecutorError, JobOutcome
from workstation.node.logs import node_logging
from workstation.node.worker import JobSpec, describe_failure, run_job

_PR_SET_PDEATHSIG = 1
#: How long a worker that sent its outcome may take to exit before it is killed.
EXIT_WAIT_S = 10.0
_log = logging.getLogger(__name__)


class ProcessPool:
    """An :class:`~workstation.node.executor.Executor` of local worker processes."""

    def __init__(self, workers: int, log_folder: Path | None = None) -> None:
        if workers < 1:
            raise ExecutorError(f"--workers must be at least 1, got {workers}")
        self.workers = workers
        self.log_folder = log_folder
        self._context = multiprocessing.get_context("spawn")
        self._running: dict[int, tuple[BaseProcess, Connection]] = {}
        #: Workers that sent their outcome, on their way out, with when to kill them.
        self._exiting: list[tuple[BaseProcess, float]] = []

    def free_slots(self) -> int:
        """Slots free: an exiting worker still holds its memory, so it still counts."""
        self._reap()
        return self.workers - len(self._running) - len(self._exiting)

    def submit(self, spec: JobSpec) -> str:
        receiver, sender = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=_work,
            args=(spec, sender, os.getpid(), self.log_folder),
            name=f"job-{spec.job_id}",
        )
        try:
            process.start()
        except BaseException:
            receiver.close()
            raise
        finally:
            sender.close()  # the worker holds the other end; its death closes it
        self._running[spec.job_id] = (process, receiver)
        return f"process {process.pid}"

    def wait(self, timeout_s: float) -> list[JobOutcome]:
        self._reap()
        if not self._running:
            time.sleep(timeout_s)
            return []
        ready = set(wait([receiver for _, receiver in self._running.values()], timeout_s))
        return [
            self._collect(job_id)
            for job_id, (_, receiver) in list(self._running.items())
            if receiver in ready
        ]

    def _collect(self, job_id: int) -> JobOutcome:
        """The outcome the worker sent, or the reason it died without sending one. A
        worker that sent its outcome is left to exit on its own (a process that loaded
        the engines takes about a second to): the result is recorded, alerted and sent
        meanwhile, and the process is reaped later (:meth:`_reap`)."""
        process, receiver = self._running.pop(job_id)
        try:
            outcome = receiver.recv()
        except (EOFError, OSError):
            outcome = None
        finally:
            receiver.close()
        if isinstance(outcome, JobOutcome):
            self._exiting.append((process, time.monotonic() + EXIT_WAIT_S))
            return outcome
        process.join(timeout=EXIT_WAIT_S)  # died: its pipe closed as it ended
        if process.is_alive():
            process.kill()
            process.join()
        return JobOutcome(job_id, error=_death(process.exitcode))

    def _reap(self) -> None:
        """Join the workers that exited; kill those that hang on their way out."""
        still = []
        for process, deadline in self._exiting:
            if process.is_alive() and time.monotonic() < deadline:
                still.append((process, deadline))
                continue
            if process.is_alive():
                process.kill()
            process.join()
        self._exiting = still

    def stop(self) -> list[int]:
        for _process, deadline in self._exiting:
            _process.join(timeout=max(0.0, deadline - time.monotonic()))
        self._exiting = [(p, 0.0) for p, _ in self._exiting]
        self._reap()
        stopped = list(self._running)
        for process, _ in self._running.values():
            process.terminate()
        for process, receiver in self._running.values():
            process.join(timeout=EXIT_WAIT_S)
            if process.is_alive():
                process.kill()
                process.join()
            receiver.close()
        self._running.clear()
        return stopped


def _death(exit_code: int | None) -> str:
    if exit_code is not None and exit_code < 0:
        name = signal.Signals(-exit_code).name
        hint = " (by hand, or the system ran out of memory)" if name == "SIGKILL" else ""
        return f"the worker process was killed by {name}{hint} before it finished"
    return f"the worker process exited with status {exit_code} before it finished"


def _work(spec: JobSpec, sender: Connection, node_pid: int, log_folder: Path | None) -> None:
    """A worker process: run the job, send its outcome, exit."""
    _die_with_node(node_pid)
    os.umask(PRIVATE_UMASK)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the node's to handle
    warnings.filterwarnings("ignore", module=r"pydicom(\.|$)")
    with node_logging(log_folder) if log_folder is not None else contextlib.nullcontext():
        try:
            outcome = JobOutcome(spec.job_id, result=run_job(spec))
        except Exception as error:
            reason = describe_failure(error)
            if reason.startswith("unexpected"):
                _log.exception("job %d failed", spec.job_id)
            outcome = JobOutcome(spec.job_id, error=reason)
    sender.send(outcome)
    sender.close()


def _die_with_node(node_pid: int) -> None:
    """Be killed when the node dies (Linux), and exit now if it is gone already."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != node_pid:
        os._exit(1)
