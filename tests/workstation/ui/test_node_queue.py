"""The Triage node dock against a real node web server over a real node database.

The node's database holds what each test put there (ground truth): a done perfusion job
on the CT perfusion phantom with its real, sealed result and the alert that result
raised, a second alert already acknowledged, and queued, running, failed and done jobs
of series this station does not have. The panel must show those rows and alerts, say in
one line why it cannot read a node (refused token, nothing listening, not a node), and
open a done series' result with Enter.
"""

from __future__ import annotations

import shutil
import socket
import stat
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from support.node_alerts import PATIENT_ID, job_record, node_home, perfusion_result

from workstation.model.progress import CancelToken, no_progress
from workstation.net.destinations import HostPort
from workstation.net.node_client import NodeError, fetch_queue
from workstation.node import alerts
from workstation.node.accounts import new_token
from workstation.node.alert_settings import AlertSettings, save_settings
from workstation.node.config import NodeConfig
from workstation.node.jobs import JobTable
from workstation.node.web import start_web
from workstation.ui.shell.main_window import import_into_database

pytestmark = pytest.mark.gui

#: How the panel marks a critical result nobody has taken yet: the words, on dark red.
NOT_ACKNOWLEDGED = "NOT ACKNOWLEDGED"
UNACKNOWLEDGED_BRUSH = QBrush(QColor("#8b1a1a"))

NOW = time.time()
#: (series UID, patient ID, workflow, state, seconds before now of the last image)
OTHER_JOBS = (
    ("1.2.826.0.1.9.1", "PAT-901", "lung", "queued", 30),
    ("1.2.826.0.1.9.2", "PAT-902", "perfusion", "running", 200),
    ("1.2.826.0.1.9.3", "PAT-903", "lung", "failed", 4000),
    ("1.2.826.0.1.9.4", "PAT-904", "lung", "done", 90_000),
)
FAILURE = "no lungs found in the series"
PHANTOM_LAST_IMAGE = NOW - 600


@pytest.fixture(autouse=True)
def _now() -> None:
    """The test's own now (not the module's import time: a long suite runs it later)."""
    global NOW, PHANTOM_LAST_IMAGE
    NOW = time.time()
    PHANTOM_LAST_IMAGE = NOW - 600


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return perfusion_result(tmp_path_factory)


@pytest.fixture
def node(result, gui_env: Path, tmp_path: Path):
    """A node sharing the station's data folder: the phantom indexed, its jobs and alerts."""
    home, folder = node_home(result, gui_env)
    import_into_database(
        home.database_path, home.store, [result.folder.parent / "ctp"], no_progress, CancelToken()
    )
    save_settings(home.node_database, AlertSettings(on_call=("dr-a",)))
    with JobTable.open(home.node_database) as jobs:
        done = jobs.add(
            series_uid=result.series_uid,
            study_uid=result.study_uid,
            patient_id=PATIENT_ID,
            workflow="perfusion",
            rule="ct-perfusion",
            last_instance_at=PHANTOM_LAST_IMAGE,
        )
        jobs.start(done.id, folder)
        jobs.finish(done.id, [])
        for series_uid, patient_id, workflow, state, age in OTHER_JOBS:
            job = jobs.add(
                series_uid=series_uid,
                study_uid=series_uid + ".0",
                patient_id=patient_id,
                workflow=workflow,
                rule=workflow,
                last_instance_at=NOW - age,
            )
            if state != "queued":
                jobs.start(job.id, home.results / "elsewhere" / series_uid)
            if state == "failed":
                jobs.fail(job.id, FAILURE, result_folder=None)
            elif state == "done":
                jobs.finish(job.id, [])
    earlier = shutil.copytree(result.folder, tmp_path / "earlier-result")  # not this station's
    acknowledged = alerts.on_result(
        home.node_database, home, job_record(result, earlier, NOW - 7200, NOW - 7100)
    )
    alerts.acknowledge(home.node_database, home, acknowledged.id, "dr-a", "web", NOW - 7000)
    open_alert = alerts.on_result(
        home.node_database, home, job_record(result, folder, PHANTOM_LAST_IMAGE, NOW - 500)
    )
    assert open_alert is not None and acknowledged is not None
    token = new_token(home.node_database, "station")
    service = start_web(NodeConfig(http=HostPort("127.0.0.1", 0)), home.node_database)
    yield service, home, folder, token
    service.stop()


def _connect(qtbot, window, url: str, token: str):
    tool = window.tools["node_queue"]
    with qtbot.waitSignal(tool.refreshed, timeout=15_000) as answered:
        tool.set_connection(url, token)
    return tool, answered.args[0]


def _rows(panel) -> dict[str, dict[str, str]]:
    """Each series row's cells, by series UID."""
    table = panel.series_table
    columns = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    return {
        uid: {name: panel.cell(table, row, name) for name in columns}
        for row, uid in enumerate(panel.row_series)
    }


def test_the_panel_shows_the_nodes_series_and_alerts(qtbot, window, node, result) -> None:
    service, home, _, token = node
    tool, answer = _connect(qtbot, window, service.url, token)
    panel = tool.panel
    assert not isinstance(answer, str), answer
    assert (
        panel.status.text().startswith("Refreshed ") and "5 series, 2 alerts" in panel.status.text()
    )

    rows = _rows(panel)
    assert set(rows) == {result.series_uid, *(uid for uid, *_ in OTHER_JOBS)}
    # newest last image first: 30 s, 200 s, 600 s (the phantom), 4000 s, 90000 s ago
    assert panel.row_series == [
        "1.2.826.0.1.9.1", "1.2.826.0.1.9.2", result.series_uid, "1.2.826.0.1.9.3",
        "1.2.826.0.1.9.4",
    ]  # fmt: skip
    phantom = rows[result.series_uid]
    assert phantom["Patient"] == f"Le Van Hung · {PATIENT_ID}"
    assert phantom["Study"] == "CT PERFUSION NAO" and phantom["Series"] == "CTP 4D"
    assert phantom["Analysis"] == "perfusion" and phantom["State"].startswith("done")
    assert phantom["Age"] in ("10 min", "11 min")
    expected_clock = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(int(PHANTOM_LAST_IMAGE)))
    assert phantom["Last image"] == expected_clock
    assert rows["1.2.826.0.1.9.1"]["State"] == "queued"
    assert rows["1.2.826.0.1.9.1"]["Study"] == "not on this station"
    assert rows["1.2.826.0.1.9.1"]["Patient"] == "PAT-901"
    assert rows["1.2.826.0.1.9.2"]["State"].startswith("running")
    assert rows["1.2.826.0.1.9.3"]["State"] == f"failed: {FAILURE}"
    assert rows["1.2.826.0.1.9.4"]["Age"] == "1 d"

    table = panel.alerts_table
    assert table.rowCount() == 2
    document = result.document
    columns = ("Finding", "Patient", "Key numbers", "Acknowledged")
    shown = [[panel.cell(table, row, column) for column in columns] for row in range(2)]
    for finding, patient, numbers, _ in shown:
        assert finding.startswith("Target mismatch profile")
        assert patient == f"Le Van Hung · {PATIENT_ID}"
        assert f"Infarct core (rCBF < 30%): {document['core_ml']:.1f} mL" in numbers
        assert f"(Tmax > 6 s): {document['hypoperfusion_ml']:.1f} mL" in numbers
        assert "DEFUSE 3: needs input" in numbers
    # the open alert first, marked; the acknowledged one says who and when
    assert shown[0][3] == NOT_ACKNOWLEDGED
    assert table.item(0, 0).background() == UNACKNOWLEDGED_BRUSH
    acknowledged_at = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(int(NOW - 7000)))
    assert shown[1][3] == f"dr-a at {acknowledged_at}"
    assert table.item(1, 0).background() != UNACKNOWLEDGED_BRUSH

    # the token is a secret: an owner-only file, never the settings file
    path = home.node_api_token
    assert path.read_text().strip() == token
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    window.settings.sync()
    settings_text = Path(window.settings.fileName()).read_text()
    assert service.url in settings_text and token not in settings_text


def test_the_panel_refreshes_itself_in_the_background(qtbot, window, node) -> None:
    service, home, _, token = node
    tool, _ = _connect(qtbot, window, service.url, token)
    assert tool.timer.isActive() and tool.timer.interval() == 10_000
    tool.timer.setInterval(100)
    with JobTable.open(home.node_database) as jobs:
        jobs.add(
            series_uid="1.2.826.0.1.9.9",
            study_uid="1.2.826.0.1.9.9.0",
            patient_id="PAT-999",
            workflow="lung",
            rule="lung",
            last_instance_at=time.time(),
        )
    qtbot.waitUntil(lambda: "1.2.826.0.1.9.9" in tool.panel.row_series, timeout=10_000)
    assert tool.panel.row_series[0] == "1.2.826.0.1.9.9"
    assert _rows(tool.panel)["1.2.826.0.1.9.9"]["Patient"] == "PAT-999"


def test_connect_to_triage_node_from_the_tools_menu(qtbot, window, node) -> None:
    service, _, _, token = node
    window.actions["node_connect"].trigger()
    tool = window.tools["node_queue"]
    dialog = tool.dialog
    assert dialog.isVisible() and dialog.token.echoMode() == dialog.token.EchoMode.Password
    qtbot.keyClicks(dialog.url, service.url)
    qtbot.keyClicks(dialog.token, token)
    with qtbot.waitSignal(tool.refreshed, timeout=15_000) as answered:
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert not isinstance(answered.args[0], str), answered.args[0]
    assert tool.dock.isVisible() and len(tool.panel.row_series) == 5


def test_a_refused_token_and_a_missing_node_are_one_clear_line(qtbot, window, node) -> None:
    service, _, _, token = node
    tool, answer = _connect(qtbot, window, service.url, "not-the-token")
    assert isinstance(answer, str) and "refused the token" in answer
    assert "halong node token NAME" in tool.panel.status.text()
    assert tool.panel.series_table.rowCount() == 0

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    _, answer = _connect(qtbot, window, f"http://127.0.0.1:{closed_port}", token)
    assert answer.startswith(f"the triage node at http://127.0.0.1:{closed_port} is unreachable")
    assert "\n" not in tool.panel.status.text() and "Traceback" not in tool.panel.status.text()

    _, answer = _connect(qtbot, window, f"{service.url}/elsewhere", token)
    assert answer == f"{service.url}/elsewhere is not a Halong triage node (no /api/studies there)"

    _, answer = _connect(qtbot, window, "triage-node:8080", token)
    assert "is not a node address" in answer


def test_enter_on_a_done_series_opens_its_result(qtbot, window, node, result) -> None:
    service, _, folder, token = node
    tool, _ = _connect(qtbot, window, service.url, token)
    table = tool.panel.series_table
    table.setFocus()
    table.setCurrentCell(0, 0)  # the queued series: nothing to open yet
    qtbot.keyClick(table, Qt.Key.Key_Return)
    assert tool.panel.outcome.text() == "No result to open: the analysis is queued."
    qtbot.keyClick(table, Qt.Key.Key_Down)
    qtbot.keyClick(table, Qt.Key.Key_Down)
    assert tool.panel.current_series() == result.series_uid
    with qtbot.waitSignal(window.series_opened, timeout=30_000):
        qtbot.keyClick(table, Qt.Key.Key_Return)
    assert window.loaded.volume.provenance.series_uid == result.series_uid
    assert window.context.subject.patient.patient_id == PATIENT_ID
    assert window.context.results("perfusion") == [folder]
    assert tool.result_view.shown_folder == folder
    assert not tool.result_view.image.pixmap().isNull()  # the result's summary.png
    assert tool.panel.outcome.text().startswith("Opened the perfusion result of Le Van Hung")

    alerts_table = tool.panel.alerts_table  # a double-click on the alert opens it too
    tool.panel.outcome.clear()
    cell = alerts_table.visualItemRect(alerts_table.item(0, 0)).center()
    qtbot.mouseClick(alerts_table.viewport(), Qt.MouseButton.LeftButton, pos=cell)
    qtbot.mouseDClick(alerts_table.viewport(), Qt.MouseButton.LeftButton, pos=cell)
    assert tool.panel.outcome.text().startswith("Opened the perfusion result of Le Van Hung")

    qtbot.keyClick(table, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)  # the last row
    assert tool.panel.current_series() == "1.2.826.0.1.9.4"
    qtbot.keyClick(table, Qt.Key.Key_Return)
    assert "retrieve the study from the PACS first" in tool.panel.outcome.text()
    assert window.loaded.volume.provenance.series_uid == result.series_uid  # still shown


def test_the_client_alone_says_nothing_without_a_good_token(node) -> None:
    service, _, _, token = node
    with pytest.raises(NodeError, match="refused the token"):
        fetch_queue(service.url, token + "x")
    queue = fetch_queue(service.url, token)
    assert len(queue.series) == 5 and len(queue.alerts) == 2
    assert sum(alert.acknowledged for alert in queue.alerts) == 1
