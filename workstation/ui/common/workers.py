"""Background jobs for the UI: request -> worker -> apply on the GUI thread.

Long work in Halong is a plain function ``fn(progress, cancel)`` (see
:mod:`workstation.model.progress`). :class:`JobRunner` runs it on a private
:class:`~PySide6.QtCore.QThreadPool`, relays its progress to the GUI thread with
Qt signals (throttled, so a fast loop cannot flood the event queue), lets the user
cancel it through a :class:`~workstation.model.progress.CancelToken`, and hands
back either the result or a one-line message written for the user, whatever the
work raised (a ``BaseException`` such as a Rust panic in a decoder included: a job
never dies silently and leaves the window waiting). Tracebacks go to the log, never
to the screen.

Every callback and every public signal runs on the GUI thread. :meth:`JobRunner.shutdown`
cancels what is running and waits for the threads to end, so a closing window
leaks no threads and no callback reaches a deleted widget.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from workstation.model.progress import Cancelled, CancelToken, Progress

log = logging.getLogger(__name__)

#: The work a job runs: ``fn(progress, cancel) -> result``.
JobFunction = Callable[[Progress, CancelToken], Any]
#: Progress is relayed at most this often (seconds); the last report always gets through.
PROGRESS_INTERVAL_S = 0.05


def written_for_users(error: BaseException) -> bool:
    """Errors whose message is meant for the user (ours, and I/O): no traceback needed."""
    return type(error).__module__.startswith("workstation") or isinstance(error, OSError)


def user_message(error: BaseException) -> str:
    """What to tell the user about ``error``: our own errors and I/O errors as they are."""
    if isinstance(error, OSError) and error.filename:
        return f"{error.strerror or error}: {error.filename}"
    text = str(error) or type(error).__name__
    if written_for_users(error) or isinstance(error, ValueError):
        return text
    return f"Unexpected {type(error).__name__}: {text}. The details are in the log."


class Job(QObject):
    """One piece of background work and its outcome, living on the GUI thread.

    Exactly one of :attr:`succeeded`, :attr:`failed` or :attr:`cancelled` is emitted,
    then :attr:`finished`.
    """

    progressed = Signal(int, object, str)  # done, total (None while unknown), message
    succeeded = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    finished = Signal()

    # Emitted from the worker thread; connected (queued) to this object's slots.
    _reported = Signal(int, object, str)
    _returned = Signal(object)
    _raised = Signal(str)
    _stopped = Signal()

    def __init__(self, name: str, fn: JobFunction, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.fn: JobFunction | None = fn
        self.token = CancelToken()
        self.result: Any = None
        self.error: str | None = None
        self.was_cancelled = False
        self.done = False
        self._discarded = False
        self._last_report = 0.0
        self._reported.connect(self._on_reported)
        self._returned.connect(self._on_returned)
        self._raised.connect(self._on_raised)
        self._stopped.connect(self._on_stopped)

    def cancel(self) -> None:
        """Ask the work to stop at its next check; :attr:`cancelled` follows."""
        self.token.cancel()

    def discard(self) -> None:
        """Stop delivering anything (the receiver is going away)."""
        self._discarded = True
        self.token.cancel()

    # --- worker thread ---------------------------------------------------------

    def _progress(self, done: int, total: int | None, message: str) -> None:
        now = time.monotonic()
        if now - self._last_report < PROGRESS_INTERVAL_S and (total is None or done < total):
            return
        self._last_report = now
        self._reported.emit(int(done), total, str(message))

    def _run(self) -> None:
        if self.token.cancelled:  # cancelled while still queued
            self._stopped.emit()
            return
        work, self.fn = self.fn, None  # a finished job keeps nothing its work captured alive
        try:
            result = work(self._progress, self.token)
        except Cancelled:
            self._stopped.emit()
        except BaseException as error:  # a native panic too: the UI must hear, not hang
            message = user_message(error)
            if written_for_users(error):
                log.warning("%s: %s", self.name, message)
            else:  # a bug: keep the traceback for whoever fixes it
                log.exception("background job %r failed", self.name)
            self._raised.emit(message)
        else:
            if self.token.cancelled and result is None:
                self._stopped.emit()
            else:
                self._returned.emit(result)

    # --- GUI thread ------------------------------------------------------------

    @Slot(int, object, str)
    def _on_reported(self, done: int, total: object, message: str) -> None:
        if not (self._discarded or self.done):
            self.progressed.emit(done, total, message)

    @Slot(object)
    def _on_returned(self, result: object) -> None:
        self.result = result
        self._finish(self.succeeded, result)

    @Slot(str)
    def _on_raised(self, message: str) -> None:
        self.error = message
        self._finish(self.failed, message)

    @Slot()
    def _on_stopped(self) -> None:
        self.was_cancelled = True
        self._finish(self.cancelled)

    def _finish(self, outcome: Any, *payload: object) -> None:
        self.done = True
        if self._discarded:
            return
        outcome.emit(*payload)
        self.finished.emit()


class _Runnable(QRunnable):
    def __init__(self, job: Job, on_exit: Callable[[Job], None]) -> None:
        super().__init__()
        self.setAutoDelete(False)  # the runner holds the reference until the run ends
        self.job = job
        self.on_exit = on_exit

    def run(self) -> None:
        job, self.job = self.job, None  # the pool may keep this runnable; it keeps no job
        try:
            job._run()
        finally:
            self.on_exit(job)


class JobRunner(QObject):
    """Runs :class:`Job` objects on its own thread pool; no job outlives :meth:`shutdown`."""

    def __init__(self, parent: QObject | None = None, *, max_threads: int = 2) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max_threads)
        self._lock = threading.Lock()
        self._running: dict[Job, _Runnable] = {}
        self._closed = False

    def submit(
        self,
        name: str,
        fn: JobFunction,
        *,
        on_result: Callable[[Any], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        on_cancelled: Callable[[], None] | None = None,
        on_progress: Callable[[int, object, str], None] | None = None,
    ) -> Job:
        """Start ``fn(progress, cancel)`` in the background; callbacks run on the GUI thread."""
        if self._closed:
            raise RuntimeError("the job runner has been shut down")
        job = Job(name, fn, self)
        for signal, callback in (
            (job.succeeded, on_result),
            (job.failed, on_error),
            (job.cancelled, on_cancelled),
            (job.progressed, on_progress),
        ):
            if callback is not None:
                signal.connect(callback)
        job.finished.connect(job.deleteLater)
        runnable = _Runnable(job, self._forget)
        with self._lock:
            self._running[job] = runnable
        self.pool.start(runnable)
        return job

    def _forget(self, job: Job) -> None:
        with self._lock:
            self._running.pop(job, None)

    def running_jobs(self) -> list[Job]:
        """Jobs whose function has not returned yet."""
        with self._lock:
            return list(self._running)

    def cancel_all(self) -> None:
        for job in self.running_jobs():
            job.cancel()

    def wait(self, timeout_ms: int = -1) -> bool:
        """Block until every job's function has returned (tests and shutdown only)."""
        return self.pool.waitForDone(timeout_ms)

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Cancel everything, wait for the threads to end, deliver nothing more.

        Returns whether every thread ended within ``timeout_ms``.
        """
        self._closed = True
        for job in self.running_jobs():
            job.discard()
        ended = self.pool.waitForDone(timeout_ms)
        if not ended:
            log.warning("background jobs still running after %d ms", timeout_ms)
        return ended

    @property
    def closed(self) -> bool:
        """Whether :meth:`shutdown` was called (nothing more can be submitted)."""
        return self._closed

    @property
    def threads_alive(self) -> int:
        """Threads of this runner's pool still executing a job."""
        return self.pool.activeThreadCount()
