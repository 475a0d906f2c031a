"""The Lung nodules action on a chest CT phantom with a prior: the list against the
phantom's truth, the overlay, accept/reject with Lung-RADS from the published table,
edits measured against truth, the growth chart, cancel, and saving for the report."""

from __future__ import annotations

import json
import math
import threading
import time

import numpy as np
import pytest
from PySide6.QtCore import Qt
from support.lung_studies import INTERVAL_DAYS, sphere_mm3, write_lung_studies

pytestmark = pytest.mark.gui

TIMEOUT_MS = 120_000
SELECTED = np.array([64, 204, 255])  # lung_widgets.SELECTED_RGB in 0..255
PENDING = np.array([255, 184, 0])
ACCEPTED = np.array([51, 217, 89])


@pytest.fixture(scope="module")
def lung_studies(tmp_path_factory):
    return write_lung_studies(tmp_path_factory.mktemp("lung-ui"))


@pytest.fixture
def lung_window(qtbot, gui_env, lung_studies, make_window):
    """A window on a home holding the current CT and its prior; the current one open."""
    from workstation.dicom.database import Database
    from workstation.dicom.importer import ImportRequest, import_paths
    from workstation.home import resolve_home

    home = resolve_home()
    with Database.open(home.database_path) as db:
        import_paths(db, ImportRequest([lung_studies.current, lung_studies.prior], home.store))
    window = make_window()
    with qtbot.waitSignal(window.series_opened, timeout=30_000):
        window.open_series(lung_studies.current_series_uid)
    return window


def _run_from_the_menu(qtbot, window, with_prior: bool = False):
    window.actions["lung_nodules"].trigger()
    dialog = window.tools["lung"].dialog
    assert dialog.isVisible()
    assert dialog.prior.count() == 2  # "No prior" and the 2024 CT of the same patient
    assert dialog.prior.itemText(1).startswith("2024-03-01")
    dialog.prior.setCurrentIndex(1 if with_prior else 0)
    with qtbot.waitSignal(window.tools["lung"].result_shown, timeout=TIMEOUT_MS) as shown:
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    return shown.args[0]


def _matching(review, truth_nodule):
    """The listed nodule whose box holds the truth centre."""
    for item in review.items:
        low, high = np.array(item.nodule.measurements.bbox_lps_mm)
        if np.all(truth_nodule.center_lps_mm >= low - 1) and np.all(
            truth_nodule.center_lps_mm <= high + 1
        ):
            return item
    raise AssertionError(f"no listed nodule holds {truth_nodule}")


def _column(table, column):
    return [table.item(row, column).text() for row in range(table.rowCount())]


def _pixels_near(image, rgb, tolerance=40):
    return int((np.abs(image.astype(int) - rgb).max(axis=-1) <= tolerance).sum())


def _grab_axial(qtbot, window):
    viewer = window.viewer
    with qtbot.waitSignal(viewer.all_rendered, timeout=10_000):
        viewer.render_all()
    return viewer.views["axial"].grab_image()


def _click(window, lps):
    """What a click on the axial view at ``lps`` does (with the crosshair tool)."""
    axial = window.viewer.slice_views["axial"]
    window.viewer.go_to(lps)
    axial.move_crosshair_to(*axial.display_of(lps))


def test_lung_action_lists_the_nodules_with_overlay_ai_label_and_live_lung_rads(
    qtbot, lung_window, lung_studies
):
    window = lung_window
    action = window.actions["lung_nodules"]
    assert action.shortcut().toString() == "Ctrl+Shift+L"
    assert action.isEnabled()
    analysis = _run_from_the_menu(qtbot, window)
    lung, review = window.tools["lung"], analysis.review

    # every nodule of the phantom is listed, with the size and category of the truth
    assert len(review.items) == len(lung_studies.truth) == 3
    expected_category = {9.0: "4A", 12.0: "2", 7.0: "3"}  # Lung-RADS v2022 baseline rows
    for truth in lung_studies.truth:
        item = _matching(review, truth)
        m = item.nodule.measurements
        assert m.type == truth.type
        assert m.mean_diameter_mm == pytest.approx(truth.diameter_mm, abs=1.0)
        assert m.volume_mm3 == pytest.approx(truth.volume_mm3, rel=0.15)
        assert item.nodule.lung_rads.category == expected_category[truth.diameter_mm]
        assert str(item.decision) == "pending"

    # the list: largest first, sortable by category; the AI label names the algorithm
    table = lung.panel.table
    sizes = [float(text) for text in _column(table, 3)]
    assert sizes == sorted(sizes, reverse=True)
    table.sortByColumn(5, Qt.SortOrder.AscendingOrder)
    assert _column(table, 5) == ["2", "3", "4A"]
    ai_label = lung.panel.ai_label
    assert ai_label.isVisible() and ai_label.text().startswith(
        "AI-generated — Halong lung nodule CAD 1.0.0, model lung_nodule_fpr"
    )

    # clicking a row moves every view to the nodule and outlines it in the selection colour
    table.selectRow(2)  # the 9 mm (4A) one, after the category sort
    big = _matching(review, lung_studies.truth[0])
    assert lung.selected == big.id
    centre = np.array(big.nodule.measurements.center_lps_mm)
    assert np.linalg.norm(np.array(window.viewer.crosshair) - centre) < 1e-6
    assert abs(window.viewer.slice_views["axial"].slice_position - centre[2]) <= 0.75
    image = _grab_axial(qtbot, window)
    assert _pixels_near(image, SELECTED) > 10

    # nothing accepted: exam category 1; accepting the 9 mm one makes it 4A; rejecting
    # it and accepting the 7 mm one makes it 3 (the categories of the published table)
    assert "Exam Lung-RADS 1" in lung.panel.exam.text()
    window.actions["lung_accept"].trigger()
    assert str(big.decision) == "accepted" and review.exam_lung_rads.category == "4A"
    assert "Exam Lung-RADS 4A" in lung.panel.exam.text()
    assert "1 accepted" in lung.panel.exam.text()
    window.actions["lung_reject"].trigger()
    small = _matching(review, lung_studies.truth[2])
    lung.select(small.id)
    with qtbot.waitActive(window):
        window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_Y)  # the Accept shortcut
    assert str(small.decision) == "accepted"
    assert review.exam_lung_rads.category == "3"
    assert "Exam Lung-RADS 3" in lung.panel.exam.text()
    # a rejected nodule disappears from the slices
    lung.select(big.id)
    window.viewer.go_to(big.nodule.measurements.center_lps_mm)
    lung.selected = None
    lung.apply_overlay()
    image = _grab_axial(qtbot, window)
    assert _pixels_near(image, SELECTED) == 0 and _pixels_near(image, PENDING) == 0


def test_a_missed_nodule_is_added_and_a_wrong_one_moved_by_clicking(
    qtbot, lung_window, lung_studies
):
    from workstation.lung.analysis import LungSettings

    window = lung_window
    lung = window.tools["lung"]
    # an operating point no candidate reaches: the engine "misses" every nodule
    with qtbot.waitSignal(lung.result_shown, timeout=TIMEOUT_MS) as shown:
        lung.run(LungSettings(min_probability=1.1))
    review = shown.args[0].review
    assert review.items == []

    big, glass, small = lung_studies.truth
    window.actions["lung_add"].trigger()  # N: the next click says where
    assert lung.pick_mode == "add" and window.view_state.tool == "crosshair"
    with qtbot.waitSignal(lung.review_changed, timeout=10_000):
        _click(window, big.center_lps_mm)
    assert lung.pick_mode is None and window.view_state.tool == "none"
    added = review.items[0]
    m = added.nodule.measurements
    assert added.nodule.added_by_reader and str(added.decision) == "accepted"
    assert m.type == "solid" and m.volume_mm3 == pytest.approx(big.volume_mm3, rel=0.10)
    assert m.mean_diameter_mm == pytest.approx(9.0, abs=1.0)
    assert added.nodule.lung_rads.category == "4A" == review.exam_lung_rads.category
    assert _column(lung.panel.table, 8) == ["reader"]

    # the same nodule again, and a point outside the lungs: refused with a reason
    lung.toggle_pick("add")
    with qtbot.waitSignal(lung.edit_refused, timeout=10_000) as refused:
        _click(window, big.center_lps_mm)
    assert "already on the list" in refused.args[0] and len(review.items) == 1
    lung.toggle_pick("add")
    with qtbot.waitSignal(lung.edit_refused, timeout=10_000) as refused:
        _click(window, (0.0, 0.0, float(big.center_lps_mm[2])))  # the mediastinum
    assert "outside the lungs" in refused.args[0]

    # move: the nodule is really the ground-glass one; it is measured there
    lung.select(added.id)
    window.actions["lung_move"].trigger()
    with qtbot.waitSignal(lung.review_changed, timeout=10_000):
        _click(window, glass.center_lps_mm)
    moved = review.item(added.id)
    assert moved.edited and moved.nodule.tracking_uid == added.nodule.tracking_uid
    assert moved.nodule.measurements.type == "ground-glass"
    assert moved.nodule.measurements.volume_mm3 == pytest.approx(glass.volume_mm3, rel=0.10)
    assert review.exam_lung_rads.category == "2"  # 12 mm ground glass at baseline

    # re-segment with another size hint: the engine's segmentation again, still the truth
    lung.panel.size_hint.setValue(20.0)
    lung.resegment_selected()
    again = review.item(added.id).nodule.measurements
    assert again.volume_mm3 == pytest.approx(glass.volume_mm3, rel=0.10)

    # a second missed one, by the panel's button
    qtbot.mouseClick(lung.panel.add_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(lung.review_changed, timeout=10_000):
        _click(window, small.center_lps_mm)
    assert len(review.items) == 2
    assert review.exam_lung_rads.category == "3"  # 7 mm solid and 12 mm ground glass


def test_with_a_prior_the_growth_chart_and_doubling_time_follow_the_truth(
    qtbot, lung_window, lung_studies
):
    window = lung_window
    review = _run_from_the_menu(qtbot, window, with_prior=True).review
    big, glass, small = (_matching(review, t) for t in lung_studies.truth)

    v1, v2 = sphere_mm3(7.0), sphere_mm3(9.0)
    prior = big.nodule.prior
    assert prior.status == "growing" and prior.interval_days == INTERVAL_DAYS
    assert prior.volume_change_percent == pytest.approx(100 * (v2 / v1 - 1), rel=0.2)
    vdt = INTERVAL_DAYS * math.log(2) / math.log(v2 / v1)
    assert prior.volume_doubling_time_days == pytest.approx(vdt, rel=0.2)
    assert glass.nodule.prior.status == "stable"  # 12 mm on both scans, a year apart
    assert small.nodule.prior.status == "new"

    chart = window.tools["lung"].chart
    assert chart is not None and window.tools["lung"].chart_dock.isVisible()
    assert sorted(chart.names) == sorted([f"Nodule {big.id}", f"Nodule {glass.id}"])
    days, volumes = chart.curve_data(f"Nodule {big.id}")
    assert list(days) == [0.0, INTERVAL_DAYS]
    assert volumes == pytest.approx([v1, v2], rel=0.15)
    # a re-segmented nodule keeps its prior match; growth is measured again
    window.tools["lung"].select(big.id)
    window.tools["lung"].resegment_selected()
    assert review.item(big.id).nodule.prior.prior_id == prior.prior_id


def test_cancel_stops_the_analysis_and_the_window_stays_usable(qtbot, lung_window, monkeypatch):
    import ai.lung.pipeline as pipeline
    from workstation.lung.analysis import LungSettings

    window = lung_window
    original = pipeline.detect_candidates
    reached = threading.Event()

    def slowed(*args, **kwargs):
        reached.set()
        time.sleep(1.0)
        return original(*args, **kwargs)

    monkeypatch.setattr(pipeline, "detect_candidates", slowed)
    job = window.tools["lung"].run(LungSettings())
    assert job is not None and not window.actions["lung_nodules"].isEnabled()
    assert reached.wait(60)
    with qtbot.waitSignal(window.tools["lung"].cancelled, timeout=TIMEOUT_MS):
        qtbot.mouseClick(window.progress.cancel_button, Qt.MouseButton.LeftButton)
    assert window.tools["lung"].analysis is None
    assert "cancelled" in window.tools["lung"].panel.status.text()
    assert window.actions["lung_nodules"].isEnabled()


def test_saved_review_reaches_the_report_as_the_readers_accepted_findings(
    qtbot, lung_window, lung_studies, tmp_path
):
    import pydicom

    from workstation.model.report import Decision
    from workstation.reporting.results import load_results
    from workstation.reporting.templates import load_labels

    window = lung_window
    review = _run_from_the_menu(qtbot, window).review
    big, glass, small = (_matching(review, t) for t in lung_studies.truth)
    window.tools["lung"].decide(big.id, "accepted")
    window.tools["lung"].decide(small.id, "accepted")
    window.tools["lung"].decide(glass.id, "rejected")
    out = tmp_path / "lung-review"
    with qtbot.waitSignal(window.tools["lung"].saved, timeout=TIMEOUT_MS):
        window.tools["lung"].save_to(out, "Pham Van Duc")

    document = json.loads((out / "lung.json").read_text())
    assert [n["id"] for n in document["nodules"]] == [1, 2]
    assert sorted(n["mean_diameter_mm"] for n in document["nodules"]) == pytest.approx(
        [7.0, 9.0], abs=1.0
    )
    assert document["lung_rads"]["category"] == "4A"
    assert document["review"]["reader"] == "Pham Van Duc"
    assert document["review"]["rejected"] == [glass.id]
    assert document["ai_generated"] is True
    seg = pydicom.dcmread(out / "nodules-seg.dcm")
    assert len(seg.SegmentSequence) == 2
    assert (out / "lung-sr.dcm").is_file()

    results = load_results(out, load_labels("en"))
    nodules = [f for f in results.findings if f.kind == "lung-nodule"]
    assert [f.decision for f in nodules] == [Decision.ACCEPTED, Decision.ACCEPTED]
    assert {f.decided_by for f in nodules} == {"Pham Van Duc"}
    exam = next(f for f in results.findings if f.kind == "lung-rads")
    assert exam.decision is Decision.PENDING  # the exam's category is confirmed in the report
    assert window.context.results("lung", lung_studies.current_study_uid) == [out]


def test_closing_with_unsaved_decisions_offers_to_save_them(
    qtbot, lung_window, lung_studies, monkeypatch
):
    from PySide6.QtWidgets import QMessageBox

    from workstation.home import resolve_home

    window = lung_window
    review = _run_from_the_menu(qtbot, window).review
    big = _matching(review, lung_studies.truth[0])
    window.tools["lung"].decide(big.id, "accepted")
    window.context.set_reader("Pham Van Duc")
    window.interactive = True
    buttons = QMessageBox.StandardButton
    answers = [buttons.Cancel, buttons.Save]

    def answer(*args, **kwargs):
        return answers.pop(0) if answers else buttons.Discard

    monkeypatch.setattr(QMessageBox, "question", answer)

    window.close()  # Cancel: the window stays, nothing is written
    assert window.isVisible()
    results = resolve_home().root / "results" / lung_studies.current_study_uid
    assert not list(results.glob("lung-*"))
    window.close()  # Save: written before the window goes
    assert not window.isVisible()
    (folder,) = results.glob("lung-*")
    document = json.loads((folder / "lung.json").read_text())
    assert len(document["nodules"]) == 1 and document["review"]["reader"] == "Pham Van Duc"
    assert document["nodules"][0]["tracking_uid"] == big.nodule.tracking_uid


def test_decisions_survive_a_crash_and_come_back_on_the_next_run(
    qtbot, lung_window, lung_studies, make_window, tmp_path
):
    first = lung_window
    review = _run_from_the_menu(qtbot, first).review
    big, glass, _ = (_matching(review, t) for t in lung_studies.truth)
    first.tools["lung"].decide(big.id, "accepted")
    first.tools["lung"].decide(glass.id, "rejected")
    first.tools["lung"].select(big.id)
    first.tools["lung"].panel.size_hint.setValue(20.0)
    first.tools["lung"].resegment_selected()
    resegmented = review.item(big.id).nodule.measurements.volume_mm3
    journal = first.tools["lung"].analysis.journal.path
    assert journal.is_file()
    first.interactive = False  # unattended: no question, nothing saved (as after a crash)
    first.close()

    second = make_window()
    with qtbot.waitSignal(second.series_opened, timeout=30_000):
        second.open_series(lung_studies.current_series_uid)
    again = _run_from_the_menu(qtbot, second)
    review = again.review
    assert str(review.item(big.id).decision) == "accepted"
    assert review.item(big.id).edited
    assert review.item(big.id).nodule.measurements.volume_mm3 == pytest.approx(resegmented)
    assert str(review.item(glass.id).decision) == "rejected"
    assert again.unsaved_changes
    assert "3 unsaved decision(s) and edit(s) of yours restored" in (
        second.statusBar().currentMessage()
    )
    with qtbot.waitSignal(second.tools["lung"].saved, timeout=TIMEOUT_MS):
        second.tools["lung"].save_to(tmp_path / "saved", "Pham Van Duc")
    assert not journal.exists()  # saved for the report: nothing left to restore
