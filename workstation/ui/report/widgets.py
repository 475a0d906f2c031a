"""The report panel's parts: an AI finding with Accept/Reject, the signing dialog,
the destinations dialog and the preview window. They show and collect; the panel acts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from workstation.model.report import AIFinding, Decision
from workstation.reporting.sending import SEND_FORMS
from workstation.ui.common.form_dialog import lay_out_form_dialog, note_label
from workstation.ui.common.styles import AI_LABEL_STYLE

#: How each decision looks: badge text and colour.
DECISION_BADGES = {
    Decision.PENDING: ("PENDING — not in the report until accepted", "#ffb000"),
    Decision.ACCEPTED: ("ACCEPTED", "#3ec46d"),
    Decision.REJECTED: ("REJECTED — left out of the report", "#9a9a9a"),
}


def _measurement_text(finding: AIFinding, language: str) -> str:
    from workstation.reporting.pdf import show_measurement
    from workstation.reporting.templates import load_labels

    labels = load_labels(language)
    return "\n".join(show_measurement(m, labels) for m in finding.measurements)


class FindingRow(QFrame):
    """One AI finding: what it says, which algorithm said it, and the physician's decision."""

    #: (finding id, Decision) the physician chose.
    decided = Signal(str, object)

    def __init__(self, finding: AIFinding, language: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.finding_id = finding.finding_id
        self.language = language
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.badge = QLabel()
        self.details = QLabel()
        self.details.setWordWrap(True)
        self.ai_label = QLabel()
        self.ai_label.setStyleSheet(AI_LABEL_STYLE)
        self.accept_button = QPushButton("Accept")
        self.reject_button = QPushButton("Reject")
        self.undo_button = QPushButton("Undo")
        for button, decision in (
            (self.accept_button, Decision.ACCEPTED),
            (self.reject_button, Decision.REJECTED),
            (self.undo_button, Decision.PENDING),
        ):
            button.clicked.connect(
                lambda _checked=False, chosen=decision: self.decided.emit(self.finding_id, chosen)
            )
        buttons = QHBoxLayout()
        buttons.addWidget(self.accept_button)
        buttons.addWidget(self.reject_button)
        buttons.addWidget(self.undo_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.badge)
        layout.addWidget(self.details)
        layout.addWidget(self.ai_label)
        layout.addLayout(buttons)
        self.show_finding(finding, editable=True)

    def show_finding(self, finding: AIFinding, *, editable: bool) -> None:
        self.decision = finding.decision
        self.title.setText(f"<b>{finding.title}</b>")
        text, colour = DECISION_BADGES[finding.decision]
        if finding.decided_by and finding.decision is not Decision.PENDING:
            text += f" by {finding.decided_by}"
        self.badge.setText(text)
        self.badge.setStyleSheet(f"color: {colour}; font-weight: bold;")
        measurements = _measurement_text(finding, self.language)
        self.details.setText("\n".join(part for part in (finding.summary, measurements) if part))
        self.ai_label.setText(f"AI-generated — {finding.algorithm.label}")
        pending = finding.decision is Decision.PENDING
        self.accept_button.setEnabled(editable and finding.decision is not Decision.ACCEPTED)
        self.reject_button.setEnabled(editable and finding.decision is not Decision.REJECTED)
        self.undo_button.setEnabled(editable and not pending)


class SignDialog(QDialog):
    """The physician's PKCS#12 file and its passphrase (asked each time, never kept)."""

    def __init__(
        self,
        p12_path: str,
        physician: str,
        pending: int = 0,
        timestamp_url: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sign the report")
        self.p12 = QLineEdit(p12_path)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.p12, 1)
        row.addWidget(browse)
        self.passphrase = QLineEdit()
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.passphrase.setInputMethodHints(
            Qt.InputMethodHint.ImhHiddenText | Qt.InputMethodHint.ImhSensitiveData
        )
        self.physician_id = QLineEdit()
        self.physician_id.setPlaceholderText("optional: checked against the certificate")
        self.timestamp_url = QLineEdit(timestamp_url)
        self.timestamp_url.setPlaceholderText("optional RFC 3161 server: PAdES B-T")
        form = QFormLayout()
        form.addRow("Certificate (PKCS#12):", row)
        form.addRow("&Passphrase:", self.passphrase)
        form.addRow("Licence no.:", self.physician_id)
        form.addRow("&Timestamp server:", self.timestamp_url)
        who = physician or "the name in the certificate"
        note = note_label(
            f"Signing as {who}: the report names the certificate's holder, and a different "
            "name is refused. Only accepted AI findings enter the signed report; once "
            "signed, it can only be corrected by an amended version."
        )
        self.pending_note = QLabel(
            f"⚠ {pending} AI finding(s) still pending: they will be left out of the report."
        )
        self.pending_note.setStyleSheet("color: #ffb000; font-weight: bold;")
        self.pending_note.setVisible(pending > 0)
        self.ok_button = lay_out_form_dialog(self, form, note, self.pending_note, ok_text="Sign")
        self.passphrase.setFocus()

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "The physician's certificate", self.p12.text(), "PKCS#12 (*.p12 *.pfx)"
        )
        if path:
            self.p12.setText(path)

    def take_passphrase(self) -> bytes:
        """The passphrase as bytes; the field is emptied so no widget keeps it."""
        secret = self.passphrase.text().encode("utf-8")
        self.passphrase.clear()
        return secret


class DestinationsDialog(QDialog):
    """Where Send delivers: one PACS, DICOMweb, FHIR and MLLP address each (optional)."""

    def __init__(self, addresses: Mapping[str, str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Send destinations")
        form = QFormLayout()
        self.fields: dict[str, QLineEdit] = {}
        for kind, text in SEND_FORMS.items():
            self.fields[kind] = QLineEdit(addresses.get(kind, ""))
            form.addRow(f"{text}:", self.fields[kind])
        lay_out_form_dialog(self, form)

    def addresses(self) -> dict[str, str]:
        return {kind: field.text().strip() for kind, field in self.fields.items()}


class PreviewWindow(QDialog):
    """The report's pages as they will print (drafts carry a watermark)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Report preview")
        self.resize(760, 900)
        self.pages = QWidget()
        self._column = QVBoxLayout(self.pages)
        scroller = QScrollArea()
        scroller.setWidget(self.pages)
        scroller.setWidgetResizable(True)
        scroller.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        layout = QVBoxLayout(self)
        layout.addWidget(scroller)

    def show_pages(self, pages: Sequence[bytes], title: str) -> None:
        self.setWindowTitle(title)
        while self._column.count():
            item = self._column.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        for png in pages:
            pixmap = QPixmap()
            pixmap.loadFromData(png, "PNG")
            label = QLabel()
            label.setPixmap(pixmap)
            label.setFrameShape(QFrame.Shape.Box)
            self._column.addWidget(label, 0, Qt.AlignmentFlag.AlignHCenter)
        self._column.addStretch(1)
