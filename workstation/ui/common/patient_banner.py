"""Every panel's header: the patient and study it is about, from the reading context.

A panel that shows a result shows whose it is; when the study changes, the banner
changes with it, so a panel can never quietly keep showing another patient.
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QWidget

from workstation.model.context import ReadingContext, Subject

NO_PATIENT = "No study open"
STYLE = "font-weight: bold; padding: 2px 0;"


class PatientBanner(QLabel):
    """``Nguyễn Thị Lan · ID PAT-A · study 2024-01-05`` of the study being read."""

    def __init__(self, context: ReadingContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("PatientBanner")
        self.setStyleSheet(STYLE)
        self.setWordWrap(True)
        self._context = context
        context.events.subject.connect(self.show_subject)
        self.destroyed.connect(lambda *_: context.events.subject.disconnect(self.show_subject))
        self.show_subject(context.subject)

    def show_subject(self, subject: Subject | None) -> None:
        self.setText(subject.describe() if subject is not None else NO_PATIENT)
