"""The report editor: AI findings to accept or reject, the text, preview, sign, send.

File › Report… (Ctrl+R) opens the report of the study shown: its waiting draft
(autosaved, so nothing typed is lost to a crash), else its latest signed version,
else a new draft from the AI result folders saved for the study (the reading
context's, else the newest of each kind under the study's results folder) or chosen
by the user. The panel follows the reading context: when another study is opened, the
report of the first is put away (its draft kept) and that study's own report, or
nothing, is shown — never another patient's. Every keystroke and every decision
goes to the draft's journal (:class:`~workstation.reporting.drafts.DraftSession`)
before the panel moves on.

Nothing AI-made enters the report unless the physician accepts it: findings start
*pending*, the preview and the signed PDF show only accepted ones, and the
conclusion is written again from the accepted findings as long as the physician
has not typed over it. Sign… asks for the PKCS#12 file and its passphrase (never
stored or logged) and signs through the one report workflow
(:func:`workstation.reporting.workflow.sign`, the gate included) as ``halong report``;
the fields then turn read-only, and Amend… starts the corrected version. Send queues the package
in the outbox for the configured PACS/EMR destinations and delivers it in the
background; the status line shows each item's state.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from workstation.model.report import Decision, Report, ReportStatus
from workstation.reporting.sending import (
    SEND_FORMS,
    outbox_details,
    outbox_summary,
    package_items,
    parse_destinations,
    send_package,
)
from workstation.reporting.workflow import (
    Preview,
    SignRequest,
    decide,
    draft_store,
    find_draft,
    find_final,
    icd10_text,
    known_icd10,
    load_result_sets,
    parse_icd10,
    render_preview,
    result_folders_of,
    saved_results,
    sign,
    start_draft,
)
from workstation.ui.common.patient_banner import PatientBanner
from workstation.ui.report.widgets import (
    DestinationsDialog,
    FindingRow,
    PreviewWindow,
    SignDialog,
)

if TYPE_CHECKING:
    from workstation.model.context import ReadingContext, Subject
    from workstation.net.destinations import Destination
    from workstation.net.outbox import OutboxItem
    from workstation.reporting.drafts import DraftSession
    from workstation.reporting.package import ReportPackage
    from workstation.reporting.results import ResultSet
    from workstation.ui.common.workers import Job
    from workstation.ui.shell.host import PanelHost

#: The text fields, in the order of the report: (Report field, heading).
TEXT_FIELDS = (
    ("indication", "Indication"),
    ("technique", "Technique"),
    ("findings_text", "Findings"),
    ("impression", "Impression"),
    ("recommendations", "Recommendations"),
    ("icd10", "ICD-10 codes (one per line: code, then its description)"),
)
SETTINGS = {
    "language": "report/language",
    "institution": "report/institution",
    "p12": "report/p12_path",
    "timestamp_url": "report/timestamp_url",
    "calling_aet": "send/calling_aet",
}
DEFAULT_LANGUAGE = "vi"
DOCK_WIDTH = 480


def _destination_key(kind: str) -> str:
    return f"send/{kind}"


def status_text(report: Report) -> str:
    """Draft / final / amended, the version, and who signed when."""
    kind = {
        ReportStatus.DRAFT: "Draft (amendment)" if report.replaces else "Draft",
        ReportStatus.FINAL: "Final",
        ReportStatus.AMENDED: "Amended",
    }[report.status]
    text = f"{kind}, version {report.version}"
    if report.is_draft:
        pending = sum(1 for f in report.ai_findings if f.decision is Decision.PENDING)
        text += f" — autosaved; {pending} AI finding(s) pending" if pending else " — autosaved"
    elif report.physician is not None and report.finalized_at is not None:
        from workstation.model.report import local_time

        when = local_time(report.finalized_at).strftime("%d/%m/%Y %H:%M")
        text += f" — signed by {report.physician.name} on {when}; read-only"
    return text


class ReportPanel(QWidget):
    """The dock's content; :class:`ReportTool` fills it and reacts to it."""

    def __init__(self, context: ReadingContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.banner = PatientBanner(context)
        self.header = QLabel("No report open.")
        self.header.setWordWrap(True)
        self.status = QLabel()
        self.status.setObjectName("ReportStatus")
        self.status.setWordWrap(True)
        self.outbox_status = QLabel()
        self.outbox_status.setWordWrap(True)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #ff6b6b;")
        self.physician = QLineEdit()
        self.physician.setPlaceholderText("your name, as the signing certificate states it")
        self.language = QComboBox()
        self.language.addItem("Tiếng Việt", "vi")
        self.language.addItem("English", "en")
        self.language.setToolTip("The language of new drafts (halong report --language)")
        self.institution = QLineEdit()
        self.institution.setPlaceholderText("hospital name on new drafts (--institution)")
        self.findings_box = QGroupBox("AI findings")
        self.findings_layout = QVBoxLayout(self.findings_box)
        self.finding_rows: dict[str, FindingRow] = {}
        self.fields: dict[str, QPlainTextEdit] = {}
        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapAllRows)  # headings above: narrow dock
        form.addRow("Reading physician:", self.physician)
        form.addRow("Language of new drafts:", self.language)
        form.addRow("Institution:", self.institution)
        for name, heading in TEXT_FIELDS:
            field = QPlainTextEdit()
            field.setObjectName(f"report_{name}")
            field.setTabChangesFocus(True)
            field.setMinimumHeight(48 if name in ("indication", "technique", "icd10") else 80)
            self.fields[name] = field
            form.addRow(f"{heading}:", field)
        self.new_button = QPushButton("New Draft from Results…")
        self.preview_button = QPushButton("Preview")
        self.sign_button = QPushButton("Sign…")
        self.send_button = QPushButton("Send")
        self.destinations_button = QPushButton("Destinations…")
        self.amend_button = QPushButton("Amend…")
        buttons = QHBoxLayout()
        for button in (self.preview_button, self.sign_button, self.send_button, self.amend_button):
            buttons.addWidget(button)
        more = QHBoxLayout()
        more.addWidget(self.new_button)
        more.addWidget(self.destinations_button)
        more.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addWidget(self.header)
        layout.addWidget(self.status)
        layout.addWidget(self.findings_box)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        layout.addLayout(more)
        layout.addWidget(self.outbox_status)
        layout.addStretch(1)

    def clear_findings(self) -> None:
        for row in self.finding_rows.values():
            row.deleteLater()
        self.finding_rows = {}
        self.findings_box.setTitle("AI findings")

    def set_findings(self, report: Report, on_decided: Callable[[str, object], None]) -> None:
        editable = report.is_draft
        if list(self.finding_rows) != [f.finding_id for f in report.ai_findings]:
            self.clear_findings()
            for finding in report.ai_findings:
                row = FindingRow(finding, report.language)
                row.decided.connect(on_decided)
                self.finding_rows[finding.finding_id] = row
                self.findings_layout.addWidget(row)
        for finding in report.ai_findings:
            self.finding_rows[finding.finding_id].show_finding(finding, editable=editable)
        self.findings_box.setTitle(
            f"AI findings ({len(report.ai_findings)})"
            if report.ai_findings
            else "AI findings: none"
        )

    def set_text(self, report: Report, names: Sequence[str] | None = None) -> None:
        """Show the report's text (without echoing it back as edits)."""
        for name in names or self.fields:
            field = self.fields[name]
            value = icd10_text(report.icd10) if name == "icd10" else getattr(report, name)
            if field.toPlainText() != value:
                field.blockSignals(True)
                field.setPlainText(value)
                field.blockSignals(False)

    def set_read_only(self, read_only: bool) -> None:
        for field in self.fields.values():
            field.setReadOnly(read_only)


class ReportTool(QObject):
    """The report editor of a :class:`MainWindow`: draft, decisions, preview, sign, send."""

    #: The panel shows a report (the :class:`Report`).
    report_shown = Signal(object)
    #: A preview is ready (the :class:`Preview`).
    preview_ready = Signal(object)
    #: The report was signed and its package written (the :class:`ReportPackage`).
    signed = Signal(object)
    #: A send ended (the package's outbox items).
    sent = Signal(object)
    #: Signing, preview or sending failed (the message).
    failed = Signal(str)

    key = "report"

    def __init__(self, host: PanelHost) -> None:
        super().__init__(host.main_widget)
        self.host = host
        self.store = draft_store(host.home)
        self.action: QAction | None = None
        self.panel: ReportPanel | None = None
        self.dock: QDockWidget | None = None
        self.preview_window: PreviewWindow | None = None
        self.sign_dialog: SignDialog | None = None
        self.session: DraftSession | None = None
        self.report: Report | None = None
        self.results: list[ResultSet] = []
        self.result_dirs: list[Path] = []
        #: The signed package shown (final and amended versions).
        self.package: Path | None = None
        self.last_preview: Preview | None = None
        self._busy = False

        self.action = host.add_action(
            "report_editor", "&Report…", "Ctrl+R", self.open_for_current_study, menu="&File",
            tip="Edit, sign and send the report of the open study",
        )  # fmt: skip
        host.context.events.subject.connect(self._subject_changed)
        host.context.events.reader.connect(self._reader_changed)

    # --- following the reading context ------------------------------------------------

    def _subject_changed(self, subject: Subject | None) -> None:
        """Another study is read: put this report away; show that study's, if any."""
        if self.report is not None and (
            subject is None or subject.study.study_uid != self.report.study.study_uid
        ):
            if self.session is not None:
                self.session.close()
            self._clear("No report for this study.")
            if self.preview_window is not None:
                self.preview_window.hide()
        shown = self.dock is not None and self.dock.isVisible()
        study_uid = subject.study.study_uid if subject is not None else ""
        if self.report is None and shown and study_uid and not self.open_study(study_uid):
            self._clear("No report for this study yet: File › Report… starts one.")

    def _reader_changed(self, name: str) -> None:
        if self.panel is not None and self.panel.physician.text().strip() != name:
            self.panel.physician.setText(name)

    # --- opening ---------------------------------------------------------------------

    def open_for_current_study(self) -> None:
        """The menu action: the open study's draft, else its signed report, else a new draft."""
        self._ensure_dock()
        subject = self.host.context.subject
        study_uid = subject.study.study_uid if subject is not None else ""
        if self.report is not None and (not study_uid or self.report.study.study_uid == study_uid):
            return  # already shown
        if study_uid and self.open_study(study_uid):
            return
        folders = saved_results(self.host.home, self.host.context) if study_uid else []
        if folders:
            self.open_results(folders)
        else:
            self._clear(
                "No report for this study yet. Choose the AI result folder(s) to start one."
            )
            self.choose_result_folders()

    def open_study(self, study_uid: str) -> bool:
        """Show the study's waiting draft or latest signed report; False when there is none."""
        self._ensure_dock()
        try:
            session = find_draft(self.store, study_uid)
            if session is not None:
                results = load_result_sets(session.result_dirs, session.report.language)
                self._show_draft(session, results)
                return True
            final = find_final(self.host.home, study_uid)
            if final is not None:
                self._show_final(*final)
                return True
        except Exception as error:  # a damaged result folder: tell, never crash
            from workstation.ui.common.workers import user_message

            self.host.show_error("Cannot open the report", user_message(error))
        return False

    def choose_result_folders(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self.host.main_widget,
            "AI results for the report (a folder with perfusion.json or lung.json)",
        )
        if folder:
            self.open_results([Path(folder)])

    def open_results(self, result_dirs: Sequence[Path], language: str | None = None) -> bool:
        """Start a draft from AI result folders (all findings pending)."""
        self._ensure_dock()
        settings = self.host.settings
        language = language or str(settings.value(SETTINGS["language"], DEFAULT_LANGUAGE))
        try:
            subject = self.host.context.subject
            session, results = start_draft(
                self.host.home,
                [Path(folder) for folder in result_dirs],
                language=language,
                institution=str(settings.value(SETTINGS["institution"], "")),
                study_uid=subject.study.study_uid if subject is not None else "",
            )
        except Exception as error:  # unreadable results, unknown study: tell, never crash
            from workstation.ui.common.workers import user_message

            self.host.show_error("Cannot start the report", user_message(error))
            return False
        self._show_draft(session, results)
        return True

    def close_report(self) -> None:
        """Put the report away (the draft stays on disk for the next time)."""
        if self.session is not None:
            self.session.close()
        self._clear("No report open.")
        if self.dock is not None:
            self.dock.hide()

    # --- the panel ---------------------------------------------------------------------

    def _ensure_dock(self) -> None:
        if self.dock is not None:
            self.dock.show()
            self.dock.raise_()
            return
        window = self.host
        self.panel = panel = ReportPanel(window.context)
        panel.physician.setText(window.context.reader)
        panel.physician.textChanged.connect(window.context.set_reader)
        settings = window.settings
        language = str(settings.value(SETTINGS["language"], DEFAULT_LANGUAGE))
        panel.language.setCurrentIndex(max(0, panel.language.findData(language)))
        panel.language.currentIndexChanged.connect(
            lambda _index: settings.setValue(SETTINGS["language"], panel.language.currentData())
        )
        panel.institution.setText(str(settings.value(SETTINGS["institution"], "")))
        panel.institution.textChanged.connect(
            lambda text: settings.setValue(SETTINGS["institution"], text.strip())
        )
        for name, field in panel.fields.items():
            field.textChanged.connect(partial(self._field_edited, name))
        panel.new_button.clicked.connect(self.choose_result_folders)
        panel.preview_button.clicked.connect(self.preview)
        panel.sign_button.clicked.connect(self.ask_to_sign)
        panel.send_button.clicked.connect(self.send)
        panel.destinations_button.clicked.connect(self.ask_destinations)
        panel.amend_button.clicked.connect(self.ask_to_amend)
        self.dock = window.add_dock("Report", "ReportDock", panel, size=DOCK_WIDTH)
        self._update_buttons()

    def _clear(self, message: str) -> None:
        self.session, self.report, self.results, self.result_dirs = None, None, [], []
        self.package = None
        if self.panel is not None:
            self.panel.header.setText(message)
            self.panel.status.clear()
            self.panel.clear_findings()
            for field in self.panel.fields.values():
                field.blockSignals(True)
                field.clear()
                field.blockSignals(False)
            self.panel.set_read_only(True)
        self._show_outbox()
        self._update_buttons()

    def _show_draft(self, session: DraftSession, results: list[ResultSet]) -> None:
        if self.session is not None and self.session is not session:
            self.session.close()
        self.session, self.results = session, results
        self.result_dirs = list(session.result_dirs)
        self.package = None
        self._show(session.report)

    def _show_final(self, report: Report, folder: Path) -> None:
        if self.session is not None:
            self.session.close()
        self.session, self.package = None, folder
        self.result_dirs = result_folders_of(folder)
        self.results = load_result_sets(self.result_dirs, report.language)
        self._show(report)

    def _show(self, report: Report) -> None:
        assert self.panel is not None
        self.report = report
        panel = self.panel
        patient, study = report.patient, report.study
        name = " ".join(part for part in patient.name.split("^") if part)
        panel.header.setText(
            f"<b>{name}</b> ({patient.patient_id}) — {report.exam_display}<br>"
            f"Accession {study.accession_number or '—'}, study date {study.study_date or '—'}"
        )
        panel.set_findings(report, self._decided)
        panel.set_text(report)
        panel.set_read_only(not report.is_draft or self._busy)
        panel.message.clear()
        panel.status.setText(status_text(report))
        self._show_outbox()
        self._update_buttons()
        self.report_shown.emit(report)

    def _update_buttons(self) -> None:
        if self.panel is None:
            return
        report, panel, busy = self.report, self.panel, self._busy
        draft = report is not None and report.is_draft
        final = report is not None and not report.is_draft and self.package is not None
        panel.new_button.setEnabled(not busy and self.session is None)
        panel.preview_button.setEnabled(report is not None and not busy)
        panel.sign_button.setEnabled(draft and not busy)
        panel.send_button.setEnabled(final and not busy)
        panel.amend_button.setEnabled(final and not busy)

    def _show_outbox(self, items: Sequence[OutboxItem] | None = None) -> None:
        """The package's outbox items and their states (read in the background)."""
        if self.panel is None:
            return
        label = self.panel.outbox_status
        if self.package is None or items is not None:
            label.setText("" if items is None else outbox_summary(items))
            label.setToolTip("" if items is None else outbox_details(items))
            return
        label.setText("Outbox: reading…")
        package = self.package
        self.host.jobs.submit(
            "read the outbox",
            lambda _progress, _cancel: package_items(self.host.home, package),
            on_result=lambda found: self._outbox_read(package, found),
            on_error=lambda message: self._outbox_read(package, None, message),
        )

    def _outbox_read(self, package: Path, items: list[OutboxItem] | None, error: str = "") -> None:
        if self.panel is None or package != self.package:
            return  # another report is shown by now
        if items is None:
            self.panel.outbox_status.setText(f"Outbox: cannot be read ({error})")
        else:
            self._show_outbox(items)

    # --- editing ------------------------------------------------------------------------

    def _field_edited(self, name: str) -> None:
        """Every keystroke: into the draft's journal (fsync'ed) before anything else."""
        if self.session is None or self.panel is None or self._busy:
            return
        text = self.panel.fields[name].toPlainText()
        if name == "icd10":
            try:
                value: object = parse_icd10(text, known_icd10(self.session.report))
            except ValueError as error:
                self.panel.message.setText(f"ICD-10 codes not saved yet: {error}")
                return
            self.panel.message.clear()
        else:
            value = text
        self.report = self.session.edit(**{name: value})
        self.panel.status.setText(
            f"{status_text(self.report)} at {datetime.now().strftime('%H:%M:%S')}"
        )

    def _decided(self, finding_id: str, decision: object) -> None:
        if self.session is None or self.panel is None or self._busy:
            return
        physician = self.panel.physician.text().strip()
        if not physician:
            self.panel.message.setText("Enter your name as the reading physician first.")
            self.panel.physician.setFocus()
            return
        decide(self.session, finding_id, Decision(decision), physician)
        self._show(self.session.report)

    # --- preview ------------------------------------------------------------------------

    def preview(self) -> Job | None:
        """Render the report (drafts watermarked) and show its pages."""
        report = self.report
        if report is None:
            return None
        signed_pdf = None
        if not report.is_draft and self.package is not None:
            from workstation.reporting.package import FILES

            signed_pdf = self.package / FILES["pdf"]
        job = self.host.jobs.submit(
            "report preview",
            partial(render_preview, report, list(self.results), signed_pdf),
            on_result=partial(self._previewed, report.report_id),
            on_error=partial(self._job_failed, "Preview"),
        )
        self.host.progress.track(job, "Report preview")
        return job

    def _previewed(self, report_id: str, preview: Preview) -> None:
        if self.report is None or self.report.report_id != report_id:
            return  # another study's report by now: its pages are not shown over this one
        self.last_preview = preview
        if self.preview_window is None:
            self.preview_window = PreviewWindow(self.host.main_widget)
        title = (
            "Report preview (draft — not signed)"
            if self.report and self.report.is_draft
            else ("Signed report")
        )
        self.preview_window.show_pages(preview.pages, title)
        self.preview_window.show()
        self.preview_window.raise_()
        self.preview_ready.emit(preview)

    # --- signing ------------------------------------------------------------------------

    def ask_to_sign(self) -> None:
        if self.session is None or self._busy:
            return
        settings = self.host.settings
        report = self.session.report
        pending = sum(1 for f in report.ai_findings if f.decision is Decision.PENDING)
        dialog = SignDialog(
            str(settings.value(SETTINGS["p12"], "")),
            self.panel.physician.text().strip(),
            pending,
            str(settings.value(SETTINGS["timestamp_url"], "")),
            self.host.main_widget,
        )
        dialog.accepted.connect(lambda: self._sign_from(dialog))
        dialog.finished.connect(dialog.deleteLater)
        self.sign_dialog = dialog
        dialog.open()

    def _sign_from(self, dialog: SignDialog) -> None:
        p12 = dialog.p12.text().strip()
        passphrase = dialog.take_passphrase()
        timestamp_url = dialog.timestamp_url.text().strip()
        if p12:
            self.host.settings.setValue(SETTINGS["p12"], p12)
        self.host.settings.setValue(SETTINGS["timestamp_url"], timestamp_url)
        self.sign(Path(p12), passphrase, dialog.physician_id.text(), timestamp_url or None)

    def sign(
        self,
        p12: Path,
        passphrase: bytes,
        physician_id: str = "",
        timestamp_url: str | None = None,
    ) -> Job | None:
        """Sign the draft and write its package in the background (as ``halong report``
        does, through the same gate); the fields lock first."""
        if self.session is None or self.panel is None or self._busy:
            return None
        draft, result_dirs = self.session.report, list(self.result_dirs)
        request = SignRequest(
            typed_physician=self.panel.physician.text(),
            typed_physician_id=physician_id,
            timestamp_url=timestamp_url,
        )
        home = self.host.home

        def work(progress, cancel):
            from workstation.reporting.signing import load_signer

            signer = load_signer(p12, passphrase)
            return sign(draft, result_dirs, signer, request, home, progress, cancel)

        self._set_busy(True)
        job = self.host.jobs.submit(
            "sign report",
            work,
            on_result=self._signed,
            on_error=partial(self._job_failed, "Report not signed"),
            on_cancelled=lambda: self._set_busy(False),
        )
        self.host.progress.track(job, "Signing the report")
        return job

    def _signed(self, package: ReportPackage) -> None:
        folder = package.paths["report"].parent
        signed = package.report
        self.store.discard(signed.report_id)  # the package is the record now
        if self.session is not None and self.session.report.report_id == signed.report_id:
            self.session = None
        self._busy = False
        self.host.notify(f"Report signed and saved in {folder}", 10_000)
        subject = self.host.context.subject
        if subject is None or subject.study.study_uid == signed.study.study_uid:
            self.package = folder
            self._show(signed)
        else:  # the reader moved on while it was signed: not shown over another study
            self._update_buttons()
        self.signed.emit(package)

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        if self.panel is not None:
            self.panel.set_read_only(busy or self.report is None or not self.report.is_draft)
        self._update_buttons()

    def _job_failed(self, title: str, message: str) -> None:
        self._set_busy(False)
        self.host.show_error(title, message)
        self.failed.emit(message)

    # --- amending -----------------------------------------------------------------------

    def ask_to_amend(self) -> None:
        reason, ok = QInputDialog.getText(
            self.host.main_widget, "Amend the report", "Why is the signed report corrected?"
        )
        if ok and reason.strip():
            self.amend(reason)

    def amend(self, reason: str) -> bool:
        """Start the corrected version: a new draft that names the signed one it replaces."""
        report = self.report
        if report is None or report.is_draft:
            return False
        session = self.store.create(report.amend(reason), self.result_dirs)
        self._show_draft(session, self.results)
        return True

    # --- sending ------------------------------------------------------------------------

    def destinations(self) -> list[Destination]:
        settings = self.host.settings
        addresses = {kind: str(settings.value(_destination_key(kind), "")) for kind in SEND_FORMS}
        return parse_destinations(addresses, str(settings.value(SETTINGS["calling_aet"], "")))

    def ask_destinations(self) -> None:
        settings = self.host.settings
        addresses = {kind: str(settings.value(_destination_key(kind), "")) for kind in SEND_FORMS}
        dialog = DestinationsDialog(addresses, self.host.main_widget)
        dialog.accepted.connect(lambda: self.set_destinations(dialog.addresses()))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def set_destinations(self, addresses: dict[str, str]) -> bool:
        """Keep the addresses (checked first); False, with a message, when one is wrong."""
        from workstation.net.destinations import DestinationError

        try:
            parse_destinations(addresses)
        except DestinationError as error:
            self.host.show_error("Destinations not saved", str(error))
            return False
        for kind in SEND_FORMS:
            self.host.settings.setValue(_destination_key(kind), addresses.get(kind, ""))
        return True

    def send(self) -> Job | None:
        """Queue the signed package for every configured destination and deliver it."""
        if self.package is None or self._busy:
            return None
        from workstation.net.destinations import DestinationError

        try:
            destinations = self.destinations()
        except DestinationError as error:
            self.host.show_error("Cannot send", str(error))
            return None
        if not destinations:
            self.host.notify("Set where reports go first (Destinations…)", 8000)
            self.ask_destinations()
            return None
        self._set_busy(True)
        job = self.host.jobs.submit(
            "send report",
            partial(send_package, self.package, destinations, self.host.home),
            on_result=self._sent,
            on_error=partial(self._job_failed, "Report not sent"),
            on_cancelled=self._send_cancelled,
        )
        self.host.progress.track(job, "Sending the report")
        return job

    def _sent(self, items: list[OutboxItem]) -> None:
        self._set_busy(False)
        self._show_outbox(items)
        self.sent.emit(items)

    def _send_cancelled(self) -> None:
        self._set_busy(False)
        self._show_outbox()
