"""The Triage node panel's parts: the queue table, the alerts table, the connect dialog
and the result summary window. They show and collect; the tool (``panel.py``) acts.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workstation.net.node_client import NodeAlert, NodeSeries
from workstation.ui.common.form_dialog import lay_out_form_dialog, note_label
from workstation.ui.common.styles import AI_LABEL_STYLE
from workstation.ui.node_queue.local import LocalSeries, QueueView

SERIES_COLUMNS = ("Last image", "Age", "Patient", "Study", "Series", "Analysis", "State")
ALERT_COLUMNS = ("Finding", "Patient", "Key numbers", "Created", "Acknowledged")
NOT_ACKNOWLEDGED = "NOT ACKNOWLEDGED"
#: Unacknowledged alerts stand out: a critical result nobody has taken yet.
UNACKNOWLEDGED_BRUSH = QBrush(QColor("#8b1a1a"))
STATE_COLOURS = {"queued": "#9a9a9a", "running": "#4aa3ff", "done": "#3ec46d", "failed": "#ff6b6b"}


def clock_text(moment: datetime | None) -> str:
    """Local date and time, as the reader's clock shows it; "—" when unknown."""
    return "—" if moment is None else moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def age_text(moment: datetime | None, now: float) -> str:
    """How long ago: ``45 s``, ``12 min``, ``3 h 05 min``, ``2 d``."""
    if moment is None:
        return "—"
    seconds = max(0, int(now - moment.timestamp()))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86_400:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    return f"{seconds // 86_400} d"


def state_text(series: NodeSeries) -> str:
    """``running: computing maps``, ``failed: <reason>``, ``done in 95 s``, ``queued``."""
    if series.state == "running":
        return f"running: {series.stage}" if series.stage else "running"
    if series.state == "failed":
        return f"failed: {series.reason or 'no reason given'}"
    if series.state == "done" and series.last_image_to_result_s is not None:
        return f"done, {series.last_image_to_result_s:.0f} s after the last image"
    if series.state == "queued" and series.reason:
        return f"queued ({series.reason})"
    return series.state


def numbers_text(alert: NodeAlert) -> str:
    """The alert's key numbers in one line, in the node's words (as on its web page)."""
    return " · ".join(alert.lines)


def _item(text: str, tip: str = "") -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setFlags(Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled)
    item.setToolTip(tip or text)
    return item


def _table(columns: tuple[str, ...]) -> QTableWidget:
    """A read-only, row-selecting table: arrows move, Enter (or a double-click) activates."""
    table = QTableWidget(0, len(columns))
    table.setHorizontalHeaderLabels(list(columns))
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setTabKeyNavigation(False)  # Tab leaves the table, arrows move inside it
    table.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    table.verticalHeader().hide()
    table.setWordWrap(False)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setStretchLastSection(True)
    return table


class NodeQueuePanel(QWidget):
    """The node's series (newest first) and its alerts, with the last refresh or error."""

    #: A series row was activated (Enter or double-click): its series UID.
    series_activated = Signal(str)
    #: An alert row was activated: the alert's series UID.
    alert_activated = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.node_label = QLabel("Not connected to a triage node.")
        self.node_label.setWordWrap(True)
        self.refresh_button = QPushButton("&Refresh")
        self.refresh_button.setToolTip("Ask the node now (it is asked every 10 s)")
        self.connect_button = QPushButton("Co&nnect…")
        self.connect_button.setToolTip("The node's address and API token")
        top = QHBoxLayout()
        top.addWidget(self.node_label, 1)
        top.addWidget(self.refresh_button)
        top.addWidget(self.connect_button)
        self.status = QLabel()
        self.status.setObjectName("NodeQueueStatus")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.series_table = _table(SERIES_COLUMNS)
        self.series_table.setObjectName("NodeSeriesTable")
        self.alerts_table = _table(ALERT_COLUMNS)
        self.alerts_table.setObjectName("NodeAlertsTable")
        self.series_table.activated.connect(self._series_row_activated)
        self.alerts_table.activated.connect(self._alert_row_activated)
        self.outcome = QLabel()
        self.outcome.setObjectName("NodeQueueOutcome")
        self.outcome.setWordWrap(True)
        self.hint = note_label(
            "Enter or double-click a done series to open its result. AI-generated results: "
            "review before use. Alerts are acknowledged on the node's web page."
        )
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.status)
        layout.addWidget(QLabel("<b>Series</b>"))
        layout.addWidget(self.series_table, 3)
        layout.addWidget(QLabel("<b>Alerts</b>"))
        layout.addWidget(self.alerts_table, 2)
        layout.addWidget(self.outcome)
        layout.addWidget(self.hint)
        #: The series shown, in row order (their UIDs).
        self.row_series: list[str] = []
        self.row_alerts: list[str] = []

    # --- showing ------------------------------------------------------------------------

    def clear(self) -> None:
        """No rows (another node is asked now)."""
        self.series_table.setRowCount(0)
        self.alerts_table.setRowCount(0)
        self.row_series, self.row_alerts = [], []
        self.status.clear()
        self.outcome.clear()

    def set_error(self, message: str, last_success: float | None) -> None:
        """The refresh failed: the reason, and how old the rows still shown are."""
        since = (
            f" The list below is from {time.strftime('%H:%M:%S', time.localtime(last_success))}."
            if last_success is not None
            else ""
        )
        self.status.setText(f"⚠ {message.rstrip('.')}.{since}")
        self.status.setStyleSheet("color: #ff6b6b; font-weight: bold;")

    def show_queue(self, view: QueueView, now: float | None = None) -> None:
        """The node's answer, with what this station has of each series."""
        now = time.time() if now is None else now
        queue = view.queue
        self.status.setText(
            f"Refreshed {time.strftime('%H:%M:%S', time.localtime(queue.fetched_at))}: "
            f"{len(queue.series)} series, {len(queue.alerts)} alerts, "
            f"{sum(not alert.acknowledged for alert in queue.alerts)} not acknowledged."
        )
        self.status.setStyleSheet("")
        names = {alert.series_uid: alert.patient_name for alert in queue.alerts}
        names.update({alert.patient_id: alert.patient_name for alert in queue.alerts})
        ordered = sorted(
            queue.series,
            key=lambda s: s.last_image_at.timestamp() if s.last_image_at else 0.0,
            reverse=True,
        )
        self._fill_series(ordered, view.local, names, now)
        self._fill_alerts(queue.alerts)

    def _fill_series(
        self,
        ordered: list[NodeSeries],
        local: Mapping[str, LocalSeries],
        names: Mapping[str, str],
        now: float,
    ) -> None:
        table = self.series_table
        current = self.current_series()
        table.setRowCount(len(ordered))
        for row, series in enumerate(ordered):
            here = local.get(series.series_uid, LocalSeries())
            name = here.patient_name or names.get(series.series_uid) or names.get(series.patient_id)
            patient = f"{name} · {series.patient_id}" if name else series.patient_id
            study = here.study_description or ("—" if here.on_station else "not on this station")
            state = _item(state_text(series))
            state.setForeground(QBrush(QColor(STATE_COLOURS[series.state])))
            if series.state == "done":
                state.setToolTip(
                    f"{state.text()}. Enter opens the result"
                    + ("" if here.result_folder else " (its folder is on the node, not here)")
                )
            cells = (
                _item(clock_text(series.last_image_at)),
                _item(age_text(series.last_image_at, now), "since the series' last image"),
                _item(patient),
                _item(study, f"study {series.study_uid}"),
                _item(here.series_description or "—", f"series {series.series_uid}"),
                _item(series.analysis),
                state,
            )
            for column, cell in enumerate(cells):
                table.setItem(row, column, cell)
        self.row_series = [series.series_uid for series in ordered]
        if current in self.row_series:
            table.selectRow(self.row_series.index(current))

    def _fill_alerts(self, listed: tuple[NodeAlert, ...]) -> None:
        table = self.alerts_table
        table.setRowCount(len(listed))
        bold = QFont()
        bold.setBold(True)
        for row, alert in enumerate(listed):
            if alert.acknowledged:
                acknowledged = _item(
                    f"{alert.acknowledged_by} at {clock_text(alert.acknowledged_at)}"
                )
            else:
                acknowledged = _item(NOT_ACKNOWLEDGED, "acknowledge it on the node's web page")
            cells = (
                _item(alert.finding),
                _item(f"{alert.patient_name} · {alert.patient_id}"),
                _item(numbers_text(alert)),
                _item(clock_text(alert.created)),
                acknowledged,
            )
            for column, cell in enumerate(cells):
                if not alert.acknowledged:
                    cell.setBackground(UNACKNOWLEDGED_BRUSH)
                    cell.setForeground(QBrush(QColor("white")))
                    cell.setFont(bold)
                table.setItem(row, column, cell)
        self.row_alerts = [alert.series_uid for alert in listed]

    def current_series(self) -> str | None:
        row = self.series_table.currentRow()
        return self.row_series[row] if 0 <= row < len(self.row_series) else None

    def cell(self, table: QTableWidget, row: int, column: str) -> str:
        """The text of ``column`` in ``row`` (for tests and accessibility)."""
        columns = SERIES_COLUMNS if table is self.series_table else ALERT_COLUMNS
        item = table.item(row, columns.index(column))
        return item.text() if item is not None else ""

    def _series_row_activated(self, index) -> None:
        if 0 <= index.row() < len(self.row_series):
            self.series_activated.emit(self.row_series[index.row()])

    def _alert_row_activated(self, index) -> None:
        if 0 <= index.row() < len(self.row_alerts):
            self.alert_activated.emit(self.row_alerts[index.row()])


class ConnectDialog(QDialog):
    """The node's address and the API token (shown once by ``halong node token NAME``)."""

    def __init__(self, url: str, has_token: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Connect to Triage Node")
        self.url = QLineEdit(url)
        self.url.setPlaceholderText("http://triage-node:8080")
        self.token = QLineEdit()
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.token.setInputMethodHints(
            Qt.InputMethodHint.ImhHiddenText | Qt.InputMethodHint.ImhSensitiveData
        )
        self.token.setPlaceholderText(
            "leave empty to keep the stored token" if has_token else "paste the API token"
        )
        form = QFormLayout()
        form.addRow("Node &address:", self.url)
        form.addRow("API &token:", self.token)
        note = note_label(
            "The address of the node's web page. Make a token on the node with "
            "'halong node token NAME'; it is kept in this data folder's keys/, readable "
            "by you only."
        )
        self.ok_button = lay_out_form_dialog(self, form, note, ok_text="Connect")
        (self.token if url else self.url).setFocus()

    def take_token(self) -> str:
        """The token typed ("" to keep the stored one); the field is emptied."""
        token = self.token.text().strip()
        self.token.clear()
        return token


class ResultView(QDialog):
    """A done series' result at a glance: its summary image (perfusion) or key lines,
    marked AI-generated, with the folder it came from."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.resize(900, 700)
        self.label = QLabel()
        self.label.setStyleSheet(AI_LABEL_STYLE)
        self.label.setWordWrap(True)
        self.image = QLabel()
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        scroller = QScrollArea()
        scroller.setWidget(self.image)
        scroller.setWidgetResizable(True)
        self.folder = QLabel()
        self.folder.setWordWrap(True)
        self.folder.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        layout.addWidget(scroller, 1)
        layout.addWidget(self.folder)
        self.shown_folder: Path | None = None

    def show_result(self, folder: Path, title: str, lines: str) -> None:
        self.setWindowTitle(title)
        self.shown_folder = folder
        self.label.setText(f"AI-generated result: review before use. {lines}")
        summary = folder / "summary.png"
        pixmap = QPixmap(str(summary)) if summary.is_file() else QPixmap()
        if pixmap.isNull():
            self.image.setText("No summary image in this result; its objects are in the folder.")
        else:
            self.image.setPixmap(pixmap)
        self.folder.setText(f"Result folder: {folder}. File › Report… starts a report from it.")
