"""What the analysis actions (stroke perfusion, lung nodules) share: one background job
with progress and Cancel, the panel's status line, and whether the viewer shows the very
series a result was computed on (only then are its overlays drawn and edits allowed)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QLabel

if TYPE_CHECKING:
    from workstation.dicom.series_input import LoadedSeries
    from workstation.ui.shell.main_window import MainWindow
    from workstation.ui.shell.workers import Job


class AnalysisTool(QObject):
    """Base of a tool object: subclasses set :attr:`title`, build ``panel`` (with a
    ``status`` label) and keep their result in ``analysis`` (with a ``loaded`` series)."""

    #: A result is shown (the subclass's analysis object).
    result_shown = Signal(object)
    #: The analysis failed; the message is for the user.
    failed = Signal(str)
    #: The analysis was cancelled.
    cancelled = Signal()
    #: Outputs were saved (the folder, a :class:`Path`).
    saved = Signal(object)

    #: How messages name the analysis, e.g. "Stroke perfusion".
    title = ""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.action: QAction | None = None
        self.analysis: Any = None
        self.job: Job | None = None
        self.panel: Any = None
        self.dock: QDockWidget | None = None
        self._clicks_connected = False

    @property
    def running(self) -> bool:
        return self.job is not None and not self.job.done

    def _status(self) -> QLabel | None:
        return self.panel.status if self.panel is not None else None

    def _start_job(
        self, loaded: LoadedSeries, work: Callable, on_result: Callable[[Any], None]
    ) -> Job:
        """Run ``work(progress, cancel)`` in the background, tracked in the status bar."""
        status = self._status()
        if status is not None:
            status.setText(f"Analysing {loaded.request.label}…")
        job = self.window.jobs.submit(
            self.title.lower(),
            work,
            on_result=on_result,
            on_error=self._failed,
            on_cancelled=self._cancelled,
        )
        job.finished.connect(self._update_actions)
        self.job = job
        self.window.progress.track(job, f"{self.title}: {loaded.request.label}")
        self._update_actions()
        return job

    def _update_actions(self) -> None:
        """Enable what applies now (subclasses)."""

    def _failed(self, message: str) -> None:
        status = self._status()
        if status is not None:
            status.setText(f"Analysis failed: {message}")
        self.window.show_error(self.title, message)
        self.failed.emit(message)

    def _cancelled(self) -> None:
        status = self._status()
        if status is not None:
            shown = self.analysis.loaded.request.label if self.analysis else None
            status.setText(
                "Analysis cancelled." + (f" Still showing the result of {shown}." if shown else "")
            )
        self.window.statusBar().showMessage(f"{self.title} cancelled", 5000)
        self.cancelled.emit()

    def _result_on_screen(self) -> bool:
        """Whether the viewer shows the very volume the result was computed on."""
        analysis, loaded = self.analysis, self.window.loaded
        return (
            analysis is not None
            and loaded is not None
            and self.window.viewer is not None
            and loaded.volume is analysis.loaded.volume
        )

    def _say_whose_result(self) -> bool:
        """Tell which series the result is of; return whether the viewer shows it."""
        label = self.analysis.loaded.request.label
        on_screen = self._result_on_screen()
        status = self._status()
        if status is not None:
            status.setText(
                f"Result of {label}"
                if on_screen
                else f"Result of {label}, not the series shown: open it again to see it."
            )
        return on_screen

    def _follow_clicks(self, slot: Callable) -> None:
        """Call ``slot(lps)`` for every click that places the crosshair (connected once)."""
        viewer = self.window.viewer
        if viewer is not None and not self._clicks_connected:
            for view in viewer.slice_views.values():
                view.crosshair_moved.connect(slot)
            self._clicks_connected = True
