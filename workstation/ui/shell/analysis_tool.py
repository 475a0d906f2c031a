"""What the analysis tools (perfusion, lung nodules) share: one background job with
progress and Cancel, each study's own result, the panel's header and status line, and
whether the viewer shows the very series a result was computed on (only then are its
overlays drawn and edits allowed).

A tool keeps the results of every study it analysed in this session and shows the one
of the study being read (the reading context's): when the reader opens another
patient, the panel clears to "no result for this study"; back on the first patient,
its result comes back. A run started on one study and finished while another is read
is kept for its own study and never shown on the other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QLabel

if TYPE_CHECKING:
    from workstation.dicom.series_input import LoadedSeries
    from workstation.model.context import SeriesShown, Subject
    from workstation.ui.common.workers import Job
    from workstation.ui.shell.host import PanelHost


class AnalysisTool(QObject):
    """Base of a tool: subclasses set :attr:`key` and :attr:`title`, build ``panel``
    (with ``status`` label) and implement :meth:`show_current`; each analysis object
    has the ``loaded`` series it was computed on."""

    #: A result is shown (the subclass's analysis object).
    result_shown = Signal(object)
    #: The analysis failed; the message is for the user.
    failed = Signal(str)
    #: The analysis was cancelled.
    cancelled = Signal()
    #: Outputs were saved (the folder, a :class:`Path`).
    saved = Signal(object)

    #: The capability's one word (``lung``, ``perfusion``): also its results' kind.
    key = ""
    #: How messages name the analysis, e.g. "Perfusion".
    title = ""

    def __init__(self, host: PanelHost) -> None:
        super().__init__(host.main_widget)
        self.host = host
        self.action: QAction | None = None
        #: Every study's analysis of this session, by study key.
        self.analyses: dict[str, Any] = {}
        self.job: Job | None = None
        self.panel: Any = None
        self.dock: QDockWidget | None = None
        self._clicks_connected = False
        host.context.events.subject.connect(self._subject_changed)
        host.context.events.series.connect(self._series_changed)

    # --- the study being read -------------------------------------------------------

    @property
    def analysis(self) -> Any:
        """The analysis of the study being read, or None."""
        key = self.host.context.study_key
        return self.analyses.get(key) if key is not None else None

    def keep(self, analysis: Any) -> None:
        """Keep ``analysis`` for the study it was computed on."""
        self.analyses[analysis.loaded.study_key] = analysis

    def _subject_changed(self, _subject: Subject | None) -> None:
        if self.panel is not None:
            self.show_current()
        self._update_actions()

    def _series_changed(self, _series: SeriesShown | None) -> None:
        if self.panel is not None and self.analysis is not None:
            self.show_current()
        self._update_actions()

    def show_current(self) -> None:
        """Show the analysis of the study being read, or clear (subclasses)."""

    def _no_result(self) -> str:
        subject = self.host.context.subject
        if subject is None:
            return f"No study open. Open a series, then run {self.title}."
        return f"No {self.title.lower()} result for this study yet."

    # --- running --------------------------------------------------------------------

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
        job = self.host.jobs.submit(
            self.title.lower(),
            work,
            on_result=on_result,
            on_error=self._failed,
            on_cancelled=self._cancelled,
        )
        job.finished.connect(self._update_actions)
        self.job = job
        self.host.progress.track(job, f"{self.title}: {loaded.request.label}")
        self._update_actions()
        return job

    def _finished_elsewhere(self, analysis: Any) -> bool:
        """Keep a finished run; True (and said) when its study is not the one read now."""
        self.keep(analysis)
        if analysis.loaded.study_key == self.host.context.study_key:
            return False
        self.host.notify(
            f"{self.title}: the result of {analysis.loaded.request.label} is ready; "
            "open that series to see it",
            15_000,
        )
        return True

    def _update_actions(self) -> None:
        """Enable what applies now (subclasses)."""

    def _failed(self, message: str) -> None:
        status = self._status()
        if status is not None:
            status.setText(f"Analysis failed: {message}")
        self.host.show_error(self.title, message)
        self.failed.emit(message)

    def _cancelled(self) -> None:
        if self.panel is not None:
            self.show_current()
        status = self._status()
        if status is not None:
            status.setText(f"Analysis cancelled. {status.text()}")
        self.host.notify(f"{self.title} cancelled", 5000)
        self.cancelled.emit()

    def _result_on_screen(self) -> bool:
        """Whether the viewer shows the very volume the current result was computed on."""
        analysis, loaded = self.analysis, self.host.loaded
        return (
            analysis is not None
            and loaded is not None
            and self.host.viewer is not None
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
                else f"Result of {label} (this study), not the series shown: open it to "
                "see its overlays."
            )
        return on_screen

    def _follow_clicks(self, slot: Callable) -> None:
        """Call ``slot(lps)`` for every click that places the crosshair (connected once)."""
        viewer = self.host.viewer
        if viewer is not None and not self._clicks_connected:
            for view in viewer.slice_views.values():
                view.crosshair_moved.connect(slot)
            self._clicks_connected = True
