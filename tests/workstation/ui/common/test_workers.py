"""Background jobs: results on the GUI thread, errors as messages, cancel, no leaked threads."""

from __future__ import annotations

import logging
import threading

import pytest
from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication
from support.hostile_files import panicking_rle_frame

from workstation.model.progress import Cancelled
from workstation.ui.common.workers import JobRunner, user_message

pytestmark = pytest.mark.gui


@pytest.fixture
def runner(qtbot):
    runner = JobRunner(max_threads=2)
    yield runner
    assert runner.shutdown(5000)
    assert runner.threads_alive == 0


def _on_gui_thread() -> bool:
    return QThread.currentThread() is QApplication.instance().thread()


def test_the_result_and_progress_arrive_on_the_gui_thread(qtbot, runner):
    worker_threads, seen = [], []

    def work(progress, cancel):
        worker_threads.append(threading.current_thread())
        for done in range(1, 4):
            progress(done, 3, f"step {done}")
        return 42

    def on_progress(done, total, message):
        seen.append((done, total, message, _on_gui_thread()))

    job = runner.submit("sum", work, on_progress=on_progress)
    with qtbot.waitSignal(job.succeeded, timeout=5000) as blocker:
        pass

    assert blocker.args == [42]
    assert worker_threads[0] is not threading.main_thread()
    assert seen[-1] == (3, 3, "step 3", True)  # the last report always gets through
    assert all(on_gui for *_, on_gui in seen)


def test_an_error_becomes_a_message_for_the_user_and_a_log_entry(qtbot, runner, caplog):
    def work(progress, cancel):
        return {}["missing key"]

    job = runner.submit("broken", work)
    with caplog.at_level(logging.ERROR), qtbot.waitSignal(job.failed, timeout=5000) as blocker:
        pass

    message = blocker.args[0]
    assert message.startswith("Unexpected KeyError")
    assert "Traceback" not in message
    assert "Traceback" in caplog.text  # the details are logged


def test_errors_written_for_users_are_passed_on_as_they_are():
    assert user_message(FileNotFoundError(2, "No such file", "/x/y")) == "No such file: /x/y"
    assert user_message(ValueError("the series has no slices")) == "the series has no slices"


def test_cancel_stops_the_work_and_reports_cancelled(qtbot, runner):
    started = threading.Event()

    def work(progress, cancel):
        started.set()
        while True:
            cancel.raise_if_cancelled()
            QThread.msleep(5)

    job = runner.submit("forever", work)
    assert started.wait(5)
    with qtbot.waitSignal(job.cancelled, timeout=5000):
        job.cancel()
    assert job.was_cancelled and job.result is None
    assert runner.wait(5000)


def test_shutdown_ends_running_work_and_delivers_nothing_afterwards(qtbot):
    runner = JobRunner(max_threads=1)
    delivered = []
    started = threading.Event()

    def work(progress, cancel):
        started.set()
        while not cancel.cancelled:
            QThread.msleep(5)
        raise Cancelled

    first = runner.submit("running", work, on_cancelled=lambda: delivered.append("first"))
    runner.submit("queued", work, on_cancelled=lambda: delivered.append("second"))
    assert started.wait(5)

    assert runner.shutdown(5000)
    qtbot.wait(50)  # give any stray queued signal the chance to arrive

    assert runner.threads_alive == 0
    assert runner.running_jobs() == []
    assert first.token.cancelled
    assert delivered == []
    with pytest.raises(RuntimeError):
        runner.submit("late", work)


class _NativeCrash(BaseException):
    """What a native extension raises that is no Exception (like pyo3's PanicException)."""


@pytest.mark.parametrize("crash", [_NativeCrash("decoder state corrupt"), SystemExit(3)])
def test_work_dying_with_any_base_exception_reports_failure(qtbot, runner, crash, caplog):
    def work(progress, cancel):
        raise crash

    job = runner.submit("crashing", work)
    with caplog.at_level(logging.ERROR), qtbot.waitSignal(job.failed, timeout=5000) as blocker:
        pass

    assert blocker.args[0].startswith(f"Unexpected {type(crash).__name__}")
    assert job.error == blocker.args[0] and not job.was_cancelled
    assert runner.wait(5000)


def test_a_real_rust_panic_in_a_decoder_reports_failure(qtbot, runner):
    from rle.rle import decode_frame

    def work(progress, cancel):
        return decode_frame(panicking_rle_frame(16, 16), 16 * 16, 16, "<")

    job = runner.submit("decoding", work)
    with qtbot.waitSignal(job.failed, timeout=5000) as blocker:
        pass

    assert blocker.args[0].startswith("Unexpected PanicException: index out of bounds")


def test_a_finished_job_keeps_nothing_its_work_captured_alive(qtbot, runner):
    """A job's work often captures its panel (and through it the viewer and VTK's render
    windows): kept alive by a finished job, those outlive the display at exit."""
    import gc
    import weakref

    class Captured:
        pass

    captured = Captured()
    alive = weakref.ref(captured)

    def work(progress, cancel, held=captured):
        return "done"

    job = runner.submit("capturing", work)
    del work, captured
    with qtbot.waitSignal(job.succeeded, timeout=5000):
        pass
    assert runner.wait(5000)
    gc.collect()
    assert alive() is None
