"""The main window as a reader uses it: browse, search, open, import, cancel, measure, close."""

from __future__ import annotations

import json
import threading
import time

import pytest
from PySide6.QtCore import QItemSelectionModel, QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QMenu

from workstation.model.measurements import measure
from workstation.ui.browser.study_browser import ROLE_UID

pytestmark = pytest.mark.gui

LOAD_TIMEOUT_MS = 30_000


def _series_index(window, series_uid):
    assert window.browser.select_series(series_uid)
    return window.browser.tree.currentIndex()


def _open(qtbot, window, series_uid):
    with qtbot.waitSignal(window.series_opened, timeout=LOAD_TIMEOUT_MS) as blocker:
        window.open_series(series_uid)
    return blocker.args[0]


def _slow(monkeypatch, module: str, name: str, seconds: float) -> threading.Event:
    """Make every call of ``module.name`` take ``seconds`` (to have time to cancel).

    The event returned is set at the first call: the work has begun.
    """
    import importlib

    target = importlib.import_module(module)
    original = getattr(target, name)
    called = threading.Event()

    def slowed(*args, **kwargs):
        called.set()
        time.sleep(seconds)
        return original(*args, **kwargs)

    monkeypatch.setattr(target, name, slowed)
    return called


def _refresh(qtbot, window):
    with qtbot.waitSignal(window.browser.refreshed, timeout=10_000):
        window.browser.refresh()


def test_the_window_lists_the_imported_studies(qtbot, imported, window):
    _refresh(qtbot, window)
    model = window.browser.model

    patients = {model.index(row, 0).data() for row in range(model.rowCount())}
    assert patients == {"Nguyen Lan", "Tran Minh"}
    assert set(window.browser.visible_series()) == {s.series_uid for s in imported.values()}
    assert window.centre.currentWidget() is window.placeholder
    assert window.viewer is None  # VTK waits until a series opens


def test_the_search_box_and_modality_filter_narrow_the_list(qtbot, imported, window):
    _refresh(qtbot, window)
    browser = window.browser
    chest, brain = imported["chest"].series_uid, imported["brain"].series_uid

    for text, expected in [
        ("lan", [chest]),
        ("PAT-200", [brain]),
        ("acc-100", [chest]),
        ("stroke", [brain]),
        ("LDCT AXIAL", [chest]),
        ("no such patient", []),
        ("", [chest, brain]),
    ]:
        browser.search.setText(text)
        assert sorted(browser.visible_series()) == sorted(expected), text

    browser.modality.setCurrentText("MR")
    assert browser.visible_series() == [brain]
    browser.search.setText("lan")
    assert browser.visible_series() == []


def test_series_get_thumbnails_of_their_middle_slice(qtbot, imported, window):
    _refresh(qtbot, window)
    uid = imported["chest"].series_uid
    qtbot.waitUntil(lambda: uid in window.browser.thumbnails, timeout=10_000)

    image = window.browser.thumbnails[uid]
    assert max(image.width(), image.height()) <= 96
    centre = image.pixelColor(image.width() // 2, image.height() // 2).value()
    corner = image.pixelColor(1, 1).value()
    assert centre > corner + 100  # the bright sphere against the air around the body


def test_double_click_opens_the_series_in_the_viewer(qtbot, imported, window):
    _refresh(qtbot, window)
    chest = imported["chest"]
    index = _series_index(window, chest.series_uid)
    tree = window.browser.tree
    point = tree.visualRect(index).center()

    with qtbot.waitSignal(window.series_opened, timeout=LOAD_TIMEOUT_MS) as blocker:
        # A real double-click: press and release, then the double-click event.
        qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=point)
        qtbot.mouseDClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=point)

    loaded = blocker.args[0]
    assert loaded.volume.voxels.shape == chest.shape
    assert loaded.volume.provenance.series_uid == chest.series_uid
    assert window.centre.currentWidget() is window.viewer
    assert "Nguyen Lan" in window.windowTitle()


def test_enter_opens_the_selected_series(qtbot, imported, window):
    _refresh(qtbot, window)
    brain = imported["brain"]
    index = _series_index(window, brain.series_uid)
    assert index.data(ROLE_UID) == brain.series_uid
    window.browser.tree.setFocus()

    with qtbot.waitSignal(window.series_opened, timeout=LOAD_TIMEOUT_MS) as blocker:
        qtbot.keyClick(window.browser.tree, Qt.Key.Key_Return)

    assert blocker.args[0].volume.modality == "MR"


def test_opening_a_series_twice_gives_the_same_volume_and_reads_no_file(
    qtbot, imported, window, monkeypatch
):
    import workstation.dicom.loader as loader

    reads = []
    original = loader.read_instance
    monkeypatch.setattr(loader, "read_instance", lambda path: reads.append(path) or original(path))
    uid = imported["chest"].series_uid

    first = _open(qtbot, window, uid)
    files_read = len(reads)
    _open(qtbot, window, imported["brain"].series_uid)
    second = _open(qtbot, window, uid)

    assert files_read == imported["chest"].shape[0]
    assert second.volume is first.volume
    assert len(reads) == files_read + imported["brain"].shape[0]  # the brain only
    assert window.loaded.volume is first.volume


def test_asking_again_while_loading_joins_the_running_load(qtbot, imported, window, monkeypatch):
    _slow(monkeypatch, "workstation.dicom.loader", "read_instance", 0.01)
    uid = imported["chest"].series_uid

    first = window.open_series(uid)
    second = window.open_series(uid)
    assert second is first
    with qtbot.waitSignal(first.succeeded, timeout=LOAD_TIMEOUT_MS):
        pass


def _drop(window, paths):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path)) for path in paths])
    event = QDropEvent(
        QPointF(100, 100),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    window.dropEvent(event)


def test_dropping_a_folder_imports_it_and_refreshes_the_browser(qtbot, studies, window):
    assert window.browser.visible_series() == []
    with (
        qtbot.waitSignal(window.import_finished, timeout=LOAD_TIMEOUT_MS) as imported,
        qtbot.waitSignal(window.browser.refreshed, timeout=LOAD_TIMEOUT_MS),
    ):
        _drop(window, [studies["chest"].folder])

    report = imported.args[0]
    assert (report.imported, report.already_indexed, report.skipped) == (40, 0, [])
    assert window.browser.visible_series() == [studies["chest"].series_uid]
    assert "40 new, 0 already indexed, 0 skipped" in window.last_message_box.text()


def test_skipped_files_are_listed_with_their_reasons(qtbot, studies, window, tmp_path):
    (tmp_path / "report.pdf").write_bytes(b"%PDF-1.4 not an image")
    with qtbot.waitSignal(window.import_finished, timeout=LOAD_TIMEOUT_MS) as imported:
        window.import_paths([studies["brain"].folder, tmp_path / "report.pdf"])

    assert imported.args[0].imported == 20
    box = window.last_message_box
    assert "1 skipped" in box.text()
    assert "report.pdf: not a DICOM file" in box.detailedText()


def test_cancel_stops_an_import_and_the_window_stays_usable(qtbot, studies, window, monkeypatch):
    reading = _slow(monkeypatch, "workstation.dicom.importer", "read_instance", 0.02)

    job = window.import_paths([studies["chest"].folder])
    assert reading.wait(5)
    with qtbot.waitSignal(window.import_finished, timeout=LOAD_TIMEOUT_MS) as finished:
        assert window.progress.isVisible()
        qtbot.mouseClick(window.progress.cancel_button, Qt.MouseButton.LeftButton)

    report = finished.args[0]
    assert report.cancelled
    assert report.imported < 40
    assert "cancelled" in window.last_message_box.text()
    qtbot.waitUntil(lambda: not window.progress.isVisible(), timeout=5000)
    assert job.done

    monkeypatch.undo()
    with qtbot.waitSignal(window.import_finished, timeout=LOAD_TIMEOUT_MS) as again:
        window.import_paths([studies["chest"].folder])
    assert again.args[0].imported + again.args[0].already_indexed == 40


def test_an_import_cancelled_before_it_starts_still_reports(qtbot, studies, window):
    window.jobs.pool.setMaxThreadCount(1)
    blocker = threading.Event()
    window.jobs.submit("occupy the only thread", lambda progress, cancel: blocker.wait(10))
    job = window.import_paths([studies["chest"].folder])

    with qtbot.waitSignal(window.import_finished, timeout=LOAD_TIMEOUT_MS) as finished:
        window.progress.cancel_current()
        blocker.set()

    assert job.was_cancelled
    assert finished.args[0].cancelled and finished.args[0].files_seen == 0
    assert "Import cancelled" in window.statusBar().currentMessage()


def test_cancel_stops_a_load_and_the_window_stays_usable(qtbot, imported, window, monkeypatch):
    reading = _slow(monkeypatch, "workstation.dicom.loader", "read_instance", 0.05)
    uid = imported["chest"].series_uid

    job = window.open_series(uid)
    assert reading.wait(5)
    with qtbot.waitSignal(job.cancelled, timeout=LOAD_TIMEOUT_MS):
        qtbot.mouseClick(window.progress.cancel_button, Qt.MouseButton.LeftButton)

    assert window.loaded is None
    assert f"series:{uid}" not in window.volume_cache
    assert "cancelled" in window.statusBar().currentMessage()
    monkeypatch.undo()
    assert _open(qtbot, window, uid).volume.voxels.shape == imported["chest"].shape


def test_a_folder_without_images_shows_a_message_not_an_exception(qtbot, gui_env, window, tmp_path):
    (tmp_path / "notes.txt").write_text("a referral letter, not an image")

    with qtbot.waitSignal(window.series_failed, timeout=LOAD_TIMEOUT_MS) as failed:
        window.open_path(tmp_path)

    assert "notes.txt: not a DICOM file" in failed.args[0]
    box = window.last_message_box
    assert box.isVisible() and "notes.txt: not a DICOM file" in box.text()
    assert window.loaded is None


def test_a_mixed_folder_opens_the_first_volume_and_says_so(qtbot, studies, window):
    with qtbot.waitSignal(window.series_opened, timeout=LOAD_TIMEOUT_MS) as opened:
        window.open_path(studies["chest"].folder.parent)

    assert len(opened.args[0].other_volumes) == 1
    assert "2 volumes found" in window.statusBar().currentMessage()
    assert window.notes_button.isVisible()


def test_a_nifti_file_opens(qtbot, gui_env, window, tmp_path):
    import numpy as np

    from workstation.model.conversions import save_nifti
    from workstation.model.volume import Volume

    path = save_nifti(
        Volume(np.arange(6 * 7 * 8, dtype=np.int16).reshape(6, 7, 8)), tmp_path / "a.nii.gz"
    )
    with qtbot.waitSignal(window.series_opened, timeout=LOAD_TIMEOUT_MS) as opened:
        window.handle_dropped([str(path)])

    assert opened.args[0].volume.voxels.shape == (6, 7, 8)
    assert window.viewer is not None


def _menu_actions(window):
    for menu_action in window.menuBar().actions():
        menu = menu_action.menu()
        assert isinstance(menu, QMenu)
        for action in menu.actions():
            if not action.isSeparator():
                yield menu_action.text().replace("&", ""), action


def test_every_menu_action_has_its_own_shortcut_shown_in_the_menu(window):
    shortcuts = {}
    for menu, action in _menu_actions(window):
        text = action.shortcut().toString()
        assert text, f"{menu} › {action.text()} has no shortcut"
        assert text not in shortcuts, f"{text} is used twice"
        shortcuts[text] = action.text().replace("&", "")

    expected = {
        "Ctrl+I": "Import Files…",
        "Ctrl+Shift+I": "Import Folder…",
        "Ctrl+Q": "Quit",
        "Ctrl+1": "Single View (1x1)",
        "Ctrl+3": "Four Views (2x2)",
        "1": "Lung Window",
        "6": "Soft Tissue Window",
        "D": "Distance",
        "A": "Angle",
        "E": "Ellipse ROI",
        "F": "Freehand ROI",
        "P": "Probe",
        "Esc": "Navigate (No Tool)",
        "F11": "Full Screen",
        "Del": "Delete Selected Measurements",
    }
    for key, text in expected.items():
        assert shortcuts.get(key) == text
    assert sum(1 for menu, _ in _menu_actions(window) if menu == "Help") == 1


def test_keys_choose_layouts_presets_and_tools(qtbot, imported, window):
    from workstation.model.presets import WINDOW_PRESETS

    with qtbot.waitActive(window):
        window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert window.view_state.layout == "1x2"
    assert window.actions["layout_1x2"].isChecked()
    qtbot.keyClick(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(window, Qt.Key.Key_1)  # also releases Ctrl for what follows
    assert window.view_state.preset == "lung"

    opened = _open(qtbot, window, imported["chest"].series_uid)
    viewer = window.viewer
    assert viewer.volume is opened.volume
    assert viewer.layout_name == "1x1"
    assert viewer.slice_views["axial"].window == WINDOW_PRESETS["lung"]

    qtbot.keyClick(window, Qt.Key.Key_5)
    assert window.view_state.preset == "stroke"
    assert viewer.slice_views["coronal"].window == WINDOW_PRESETS["stroke"]
    assert window.window_level_label.text() == "W 40  L 40  (stroke)"
    for key, tool in [(Qt.Key.Key_D, "distance"), (Qt.Key.Key_P, "probe")]:
        qtbot.keyClick(window, key)
        assert window.view_state.tool == tool
        assert viewer.slice_views["axial"].tool == tool
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert viewer.slice_views["axial"].tool == "none"
    assert window.actions["tool_none"].isChecked()


def test_measurements_are_listed_saved_and_restored_when_the_study_reopens(
    qtbot, imported, make_window, gui_env
):
    chest = imported["chest"]
    window = make_window()
    loaded = _open(qtbot, window, chest.series_uid)
    distance = measure("distance", [(0, 0, 0), (30, 40, 0)], loaded.volume, label="nodule")
    probe = measure("probe", [loaded.volume.index_to_world([32, 32, 20])], loaded.volume)
    window.viewer.measurement_added.emit(distance)
    window.viewer.measurement_added.emit(probe)

    table = window.tools_panel.measurements
    assert table.rowCount() == 2
    assert (table.item(0, 0).text(), table.item(0, 1).text()) == ("distance", "50.0 mm")
    assert table.item(0, 2).text() == "nodule"
    assert table.item(1, 1).text() == "300.0 HU"
    saved = json.loads((gui_env / "measurements" / f"{chest.study_uid}.json").read_text())
    assert [m["uid"] for m in saved["measurements"]] == [distance.uid, probe.uid]

    table.selectionModel().select(
        table.model().index(1, 0),
        QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
    )
    with qtbot.waitActive(window):
        window.activateWindow()
    window.browser.tree.setFocus()
    qtbot.keyClick(window.browser.tree, Qt.Key.Key_Delete)
    assert table.rowCount() == 2  # Delete elsewhere never removes a measurement
    table.setFocus()
    qtbot.keyClick(table, Qt.Key.Key_Delete)
    assert table.rowCount() == 1
    window.close()

    reopened = make_window()
    _open(qtbot, reopened, chest.series_uid)
    restored = reopened.tools_panel.measurements.measurements
    assert [(m.uid, m.label) for m in restored] == [(distance.uid, "nodule")]
    assert restored[0].values["distance_mm"] == pytest.approx(50.0)


def test_layout_preset_and_geometry_are_kept_between_runs(qtbot, make_window, gui_env, tmp_path):
    first = make_window()
    first.set_layout("1x2")
    first.set_preset("bone")
    first.resize(1100, 700)
    first.close()

    second = make_window()
    assert (second.view_state.layout, second.view_state.preset) == ("1x2", "bone")
    assert second.actions["layout_1x2"].isChecked()
    assert (second.width(), second.height()) == (1100, 700)
    assert (tmp_path / "settings" / "Halong.ini").is_file()


def test_closing_during_an_import_leaves_no_thread_running(
    qtbot, studies, gui_env, make_window, monkeypatch
):
    _slow(monkeypatch, "workstation.dicom.importer", "read_instance", 0.02)
    window = make_window()
    job = window.import_paths([studies["chest"].folder])
    qtbot.waitUntil(lambda: window.jobs.running_jobs() != [], timeout=5000)

    window.close()

    assert window.background_threads() == 0
    assert window.jobs.running_jobs() == []
    assert job.token.cancelled


def test_the_about_box_names_the_version(qtbot, window, monkeypatch):
    shown = {}
    monkeypatch.setattr(
        "workstation.ui.shell.main_window.QMessageBox.about",
        lambda parent, title, text: shown.update(title=title, text=text),
    )
    window.actions["about"].trigger()
    assert shown["title"] == "About Halong"
    assert "Halong</b> " in shown["text"]


def test_drop_is_offered_only_for_local_files(window, tmp_path):
    for urls, expected in [
        ([QUrl.fromLocalFile(str(tmp_path))], [str(tmp_path)]),
        ([QUrl("https://pacs.example/study")], []),
    ]:
        mime = QMimeData()
        mime.setUrls(urls)
        assert window.dropped_paths(mime) == expected
