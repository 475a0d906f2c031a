"""The Triage node panel: the node's queue and alerts at the reading station.

Tools › Triage Node (Ctrl+Shift+N) shows a dock with the series the triage node
(``halong node``) received, newest first: when their last image arrived and how long
ago, whose they are, which analysis runs on them and where it stands (queued, running
with its stage, done, failed with the reason); and the alerts it raised, with their key
numbers and who acknowledged them (unacknowledged ones stand out; acknowledging is done
on the node's web page). The node is asked in the background every 10 s while the dock
is shown (and at once with Refresh), never holding up the window; the status line says
when it last answered, or why it did not, in one line.

Enter or a double-click on a done series opens its result: the series itself when this
station has it indexed, the result folder (its summary, and known to the reading context
so File › Report… starts from it) when the node shares this data folder; otherwise the
panel says what to do (retrieve the study from the PACS). The node's address is kept in
the settings, its API token in an owner-only file (:mod:`workstation.net.node_client`).
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget

from workstation.home import HalongHome
from workstation.model.progress import CancelToken, Progress
from workstation.net.node_client import NodeError, check_url, fetch_queue, read_token, save_token
from workstation.ui.common.settings import NODE_URL, read_text
from workstation.ui.node_queue.local import LocalSeries, QueueView, look_up
from workstation.ui.node_queue.widgets import (
    ConnectDialog,
    NodeQueuePanel,
    ResultView,
    numbers_text,
)
from workstation.ui.shell.host import PanelHost

if TYPE_CHECKING:
    from pathlib import Path

    from workstation.net.node_client import NodeAlert, NodeSeries
    from workstation.ui.common.workers import Job

REFRESH_INTERVAL_MS = 10_000
DOCK_WIDTH = 560


class NodeQueueHost(PanelHost, Protocol):
    """The host protocol, and opening a series of the station's index by its UID."""

    def open_series(self, series_uid: str, label: str = "") -> object:
        """Show the indexed series (loading it in the background)."""


def fetch_view(home: HalongHome, url: str, progress: Progress, cancel: CancelToken) -> QueueView:
    """The refresh job: the node's queue, with what this station has of each series.

    The token is read from its file now, on the worker, so a new one takes effect at once.
    """
    token = read_token(home)
    if not token:
        raise NodeError("no API token stored: Connect to Triage Node… and enter one")
    queue = fetch_queue(url, token)
    cancel.raise_if_cancelled()
    return look_up(home, queue)


class NodeQueueTool(QObject):
    """The dock, its background refresh and what activating a row does."""

    #: A refresh ended: the :class:`QueueView`, or the one-line error (a str).
    refreshed = Signal(object)
    #: A done series was opened from the queue: (series UID, the result folder or None).
    result_opened = Signal(str, object)

    key = "node_queue"

    def __init__(self, host: NodeQueueHost) -> None:
        super().__init__(host.main_widget)
        self.host = host
        self.panel: NodeQueuePanel | None = None
        self.dock: QDockWidget | None = None
        self.dialog: ConnectDialog | None = None
        self.result_view: ResultView | None = None
        self.view: QueueView | None = None
        self.job: Job | None = None
        self.last_success: float | None = None
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_INTERVAL_MS)
        self.timer.timeout.connect(self.refresh)
        self.action: QAction = host.add_action(
            "node_queue", "Triage &Node", "Ctrl+Shift+N", self.show_panel, menu="&Tools",
            tip="The triage node's queue and alerts",
        )  # fmt: skip
        self.connect_action: QAction = host.add_action(
            "node_connect", "Connect to Triage Node…", "Ctrl+Alt+N", self.ask_connection,
            menu="&Tools", tip="The triage node's address and API token",
        )  # fmt: skip

    # --- the connection -----------------------------------------------------------------

    @property
    def url(self) -> str:
        return read_text(self.host.settings, NODE_URL).strip()

    def ask_connection(self) -> None:
        """Connect to Triage Node…: the address and token, then a refresh."""
        dialog = ConnectDialog(self.url, bool(read_token(self.host.home)), self.host.main_widget)
        dialog.accepted.connect(lambda: self.set_connection(dialog.url.text(), dialog.take_token()))
        dialog.finished.connect(dialog.deleteLater)
        self.dialog = dialog
        dialog.open()

    def set_connection(self, url: str, token: str = "") -> bool:
        """Keep the node's address (and ``token``, when one is given) and ask the node."""
        try:
            url = check_url(url)
            if token:
                save_token(self.host.home, token)
        except (NodeError, OSError) as error:
            from workstation.ui.common.workers import user_message

            self._ensure_dock()
            self._failed(self.url, user_message(error))
            return False
        if url != self.url:  # another node: nothing the last one said stays on screen
            self.view = self.last_success = None
            if self.panel is not None:
                self.panel.clear()
        self.host.settings.setValue(NODE_URL, url)
        self._ensure_dock()
        self.refresh()
        return True

    # --- the dock -----------------------------------------------------------------------

    def show_panel(self) -> None:
        """Tools › Triage Node: the dock, asked for the address first when none is known."""
        self._ensure_dock()
        if not self.url or not read_token(self.host.home):
            self.ask_connection()

    def _ensure_dock(self) -> None:
        if self.dock is not None:
            self.dock.show()
            self.dock.raise_()
            return
        self.panel = panel = NodeQueuePanel()
        panel.refresh_button.clicked.connect(self.refresh)
        panel.connect_button.clicked.connect(self.ask_connection)
        panel.series_activated.connect(self.open_series)
        panel.alert_activated.connect(self.open_series)
        self.dock = self.host.add_dock(
            "Triage Node", "NodeQueueDock", panel, size=DOCK_WIDTH, scroll=False
        )
        self.dock.visibilityChanged.connect(self._visibility_changed)
        self._visibility_changed(self.dock.isVisible())

    def _visibility_changed(self, visible: bool) -> None:
        """Ask the node while the dock is seen (and at once when it comes back)."""
        if visible and not self.host.jobs.closed:
            self.timer.start()
            self.refresh()
        else:
            self.timer.stop()

    # --- refreshing ---------------------------------------------------------------------

    def refresh(self) -> Job | None:
        """Ask the node now, in the background (the refresh running, if one is)."""
        if self.panel is None or self.host.jobs.closed:
            self.timer.stop()
            return None
        if self.job is not None and not self.job.done:
            return self.job
        url = self.url
        self.panel.node_label.setText(f"Node {url}" if url else "Not connected to a triage node.")
        if not url:
            self._failed(url, "no node address: Connect to Triage Node… and enter it")
            return None
        self.panel.refresh_button.setEnabled(False)
        self.job = self.host.jobs.submit(
            "triage node queue",
            partial(fetch_view, self.host.home, url),
            on_result=partial(self._refreshed, url),
            on_error=partial(self._failed, url),
        )
        self.job.finished.connect(self._refresh_ended)
        return self.job

    def _refresh_ended(self) -> None:
        if self.panel is not None:
            self.panel.refresh_button.setEnabled(True)

    def _refreshed(self, url: str, view: QueueView) -> None:
        if self._moved_on(url):
            return
        self.view, self.last_success = view, view.queue.fetched_at
        assert self.panel is not None
        self.panel.show_queue(view)
        self.refreshed.emit(view)

    def _failed(self, url: str, message: str) -> None:
        if self._moved_on(url):
            return
        if self.panel is not None:
            self.panel.set_error(message, self.last_success)
        self.refreshed.emit(message)

    def _moved_on(self, url: str) -> bool:
        """The reader connected to another node while this answer was on its way: ask that
        one instead (once this job has ended)."""
        if url == self.url:
            return False
        QTimer.singleShot(0, self, self.refresh)
        return True

    # --- results one click away ---------------------------------------------------------

    def open_series(self, series_uid: str) -> None:
        """A row activated: a done series' result (and the series, when indexed here)."""
        view = self.view
        series = None if view is None else next(
            (s for s in view.queue.series if s.series_uid == series_uid), None
        )  # fmt: skip
        if view is None or series is None:
            self._say("The node lists no job for this series (yet): Refresh, then try again.")
            return
        local = view.local.get(series_uid, LocalSeries())
        if series.state != "done":
            why = f": {series.reason}" if series.state == "failed" and series.reason else ""
            self._say(f"No result to open: the analysis is {series.state}{why}.")
            return
        label = self._label(series, local)
        folder = local.result_folder
        if folder is not None:
            self.host.context.add_result(series.analysis, folder, series.study_uid)
        if local.on_station:
            self.host.open_series(series_uid, label)
        if folder is not None:
            self._show_result(series, label, folder)
            self._say(f"Opened the {series.analysis} result of {label}.")
        elif local.on_station:
            self._say(
                f"Opened {label}. Its result folder is on the node, not on this station: "
                "the node sent its result objects to the PACS."
            )
        else:
            self._say(
                f"{label} is not on this station: retrieve the study from the PACS first "
                "(the node sent its result objects there too), then open it again here."
            )
            return
        self.result_opened.emit(series_uid, folder)

    def _alert_of(self, series_uid: str) -> NodeAlert | None:
        """The newest alert the node raised on the series, if any."""
        alerts = [] if self.view is None else self.view.queue.alerts
        return next((alert for alert in alerts if alert.series_uid == series_uid), None)

    def _label(self, series: NodeSeries, local: LocalSeries) -> str:
        """``Le Van Hung (PAT-300), CTP 4D``: whose series, and which."""
        alert = self._alert_of(series.series_uid)
        name = local.patient_name or (alert.patient_name if alert is not None else "")
        who = f"{name} ({series.patient_id})" if name else f"patient {series.patient_id}"
        what = local.series_description or f"series {series.series_uid}"
        return f"{who}, {what}"

    def _show_result(self, series: NodeSeries, label: str, folder: Path) -> None:
        """The result's summary in a window of its own (kept, and reused for the next)."""
        if self.result_view is None:
            self.result_view = ResultView(self.host.main_widget)
        alert = self._alert_of(series.series_uid)
        numbers = numbers_text(alert) if alert is not None else ""
        self.result_view.show_result(folder, f"{series.analysis.title()} result: {label}", numbers)
        if self.host.interactive:
            self.result_view.show()
            self.result_view.raise_()

    def _say(self, message: str) -> None:
        if self.panel is not None:
            self.panel.outcome.setText(message)
        self.host.notify(message, 15_000)
