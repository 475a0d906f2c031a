"""The status bar's progress area: what runs in the background, how far, and Cancel."""

from __future__ import annotations

from functools import partial

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from workstation.ui.common.workers import Job


class JobProgress(QWidget):
    """Shows the most recent running job of those it tracks; Cancel stops that one.

    Hidden while nothing runs. When the shown job ends, the next still running one
    (if any) takes its place.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel()
        self.bar = QProgressBar()
        self.bar.setMaximumWidth(220)
        self.bar.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop this work; what is done so far is kept")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button)
        self._jobs: list[Job] = []
        self.cancel_button.clicked.connect(self.cancel_current)
        self.hide()

    @property
    def current(self) -> Job | None:
        return self._jobs[-1] if self._jobs else None

    def track(self, job: Job, title: str) -> None:
        """Show ``job`` (with ``title``) until it ends."""
        job.setProperty("title", title)
        self._jobs.append(job)
        job.progressed.connect(partial(self._on_progress, job))
        job.finished.connect(partial(self._on_finished, job))
        self._show_current()

    def cancel_current(self) -> None:
        job = self.current
        if job is not None:
            job.cancel()
            self.label.setText(f"{job.property('title')}: cancelling…")
            self.cancel_button.setEnabled(False)

    def _show_current(self) -> None:
        job = self.current
        self.setVisible(job is not None)
        if job is None:
            return
        self.label.setText(str(job.property("title")))
        self.bar.setRange(0, 0)  # busy until the first report says how much there is
        self.cancel_button.setEnabled(not job.token.cancelled)

    def _on_progress(self, job: Job, done: int, total: object, message: str) -> None:
        if job is not self.current:
            return
        if isinstance(total, int) and total > 0:
            self.bar.setRange(0, total)
            self.bar.setValue(min(done, total))
        else:
            self.bar.setRange(0, 0)
        title = job.property("title")
        self.label.setText(f"{title}: {message}" if message else str(title))

    def _on_finished(self, finished: Job) -> None:
        self._jobs = [job for job in self._jobs if job is not finished and not job.done]
        self._show_current()
