"""The Stroke action on a CT perfusion phantom: volumes against the phantom's truth,
overlays on the viewer, curves, triage, AI label, cancel, and saving for reports."""

from __future__ import annotations

import json
import re
import threading
import time

import numpy as np
import pytest
from PySide6.QtCore import Qt
from support.perfusion_studies import write_ctp_phantom

pytestmark = pytest.mark.gui

TIMEOUT_MS = 90_000
CORE_RGB = np.array([255, 51, 191])  # workstation.perfusion.figures.CORE_RGB, in 0..255
HYPOPERFUSION_RGB = np.array([51, 230, 77])


@pytest.fixture(scope="module")
def ctp(tmp_path_factory):
    return write_ctp_phantom(tmp_path_factory.mktemp("ctp") / "dicom")


def _open(qtbot, window, folder):
    with qtbot.waitSignal(window.series_opened, timeout=30_000):
        window.open_path(folder)


def _ml(text: str) -> float:
    match = re.fullmatch(r"(\d+\.\d) ml", text)
    assert match, text
    return float(match[1])


def _run_from_the_menu(qtbot, window, age=-1, nihss=-1, hours=-1.0):
    """Tools › Stroke Perfusion…, the clinical values typed in, OK: until the result shows."""
    window.actions["perfusion"].trigger()
    dialog = window.tools["perfusion"].dialog
    assert dialog.isVisible()
    dialog.age.setValue(age)
    dialog.nihss.setValue(nihss)
    dialog.onset_hours.setValue(hours)
    with qtbot.waitSignal(window.tools["perfusion"].result_shown, timeout=TIMEOUT_MS) as shown:
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    return shown.args[0]


def _pixels_near(image: np.ndarray, rgb: np.ndarray, tolerance: int = 40) -> int:
    return int((np.abs(image.astype(int) - rgb).max(axis=-1) <= tolerance).sum())


def _grab_axial(qtbot, window) -> np.ndarray:
    viewer = window.viewer
    with qtbot.waitSignal(viewer.all_rendered, timeout=10_000):
        viewer.render_all()
    return viewer.views["axial"].grab_image()


def test_stroke_action_shows_volumes_overlays_curves_triage_and_the_ai_label(qtbot, window, ctp):
    action = window.actions["perfusion"]
    assert action.shortcut().toString() == "Ctrl+Shift+P"
    assert not action.isEnabled()  # nothing open yet
    _open(qtbot, window, ctp.folder)
    assert action.isEnabled()

    _run_from_the_menu(qtbot, window, age=70, nihss=14, hours=9.0)
    stroke, truth = window.tools["perfusion"], ctp.phantom

    # the summary card, against the phantom's truth
    card = stroke.panel.card
    core, hypoperfusion = (
        _ml(card.values["core_ml"].text()),
        _ml(card.values["hypoperfusion_ml"].text()),
    )
    assert core == pytest.approx(truth.core_ml, rel=0.15)
    assert hypoperfusion == pytest.approx(truth.hypoperfusion_ml, rel=0.15)
    assert _ml(card.values["mismatch_ml"].text()) == pytest.approx(hypoperfusion - core, abs=0.11)
    assert float(card.values["mismatch_ratio"].text()) == pytest.approx(
        hypoperfusion / core, rel=0.02
    )
    assert 0 < float(card.values["hir"].text()) < 1
    assert "rCBF < 30 %" in card.headings["core_ml"].text()
    # core 13.5 ml < 70, mismatch >= 15 ml, ratio >= 1.8, 9 h, age 70, NIHSS 14
    defuse3 = card.triage["defuse3"].text()
    assert "DEFUSE 3" in defuse3 and ">eligible<" in defuse3 and "meets" in defuse3
    assert "DAWN" in card.triage["dawn"].text()
    assert "QC" in card.qc.text()
    assert card.ai_label.isVisible()
    assert card.ai_label.text() == ("AI-generated — halong-perfusion 1.0.0; review before use")

    # overlays: a map with its legend, and the lesion outlines, on every slice view
    viewer = window.viewer
    for view in viewer.slice_views.values():
        assert view._parametric.active and view._labels.active
        assert view._parametric.legend.GetTitle() == "AI Tmax (s)"
    stroke.panel.choose_map(None)  # outlines alone: their colours are easy to count
    assert not viewer.slice_views["axial"]._parametric.active
    image = _grab_axial(qtbot, window)  # the viewer went to the core's centre
    assert _pixels_near(image, CORE_RGB) > 20
    assert _pixels_near(image, HYPOPERFUSION_RGB) > 20
    stroke.panel.outlines.setChecked(False)
    image = _grab_axial(qtbot, window)
    assert _pixels_near(image, CORE_RGB) == 0
    stroke.panel.choose_map("cbf")
    stroke.panel.threshold_on.setChecked(True)
    assert viewer.slice_views["axial"]._parametric.legend.GetTitle() == "AI CBF (ml/100 g/min)"

    # curves: AIF and VOF, then the voxel under the crosshair
    curves = stroke.curves
    assert curves.vascular.names == ["AIF", "VOF"]
    times, aif = curves.vascular.curve_data("AIF")
    assert len(times) == truth.volume.voxels.shape[0] and aif.max() > 100  # HU
    assert curves.vascular.curve_data("VOF")[1].max() > 100
    axial = viewer.slice_views["axial"]
    z, y, x = (int(np.median(axis)) for axis in np.nonzero(truth.core_mask))
    core_voxel = truth.volume.index_to_world(np.array([x, y, z]))
    peaks = {}
    for name, point in (("artery", truth.aif_lps_mm), ("core", core_voxel)):
        viewer.go_to(point)
        axial.move_crosshair_to(*axial.display_of(point))  # what a Shift+click does
        times, values = curves.voxel.curve_data("voxel")
        assert len(times) == len(aif)
        peaks[name] = values.max()
        assert "Voxel at LPS" in curves.voxel_position.text()
    assert peaks["artery"] > 100 and peaks["core"] < 0.1 * peaks["artery"]


def test_missing_clinical_values_need_input_and_can_be_given_later(qtbot, window, ctp):
    from ai.perfusion import ClinicalInputs

    _open(qtbot, window, ctp.folder)
    _run_from_the_menu(qtbot, window)  # every value left "not given"
    card = window.tools["perfusion"].panel.card
    assert ">needs input<" in card.triage["defuse3"].text()
    assert "missing" in card.triage["defuse3"].text()
    assert ">needs input<" in card.triage["dawn"].text()

    started = time.monotonic()
    window.tools["perfusion"].set_clinical(ClinicalInputs(age_years=70, nihss=14, onset_hours=9.0))
    assert time.monotonic() - started < 1.0  # decided again without running the engine
    assert ">eligible<" in card.triage["defuse3"].text()
    assert "NIHSS 14" in card.clinical.text()


def test_cancel_stops_the_analysis_and_the_window_stays_usable(qtbot, window, ctp, monkeypatch):
    import ai.perfusion.pipeline as pipeline
    from workstation.perfusion.analysis import PerfusionOptions

    _open(qtbot, window, ctp.folder)
    original = pipeline.correct_motion
    reached = threading.Event()

    def slowed(*args, **kwargs):
        reached.set()
        time.sleep(1.0)
        return original(*args, **kwargs)

    monkeypatch.setattr(pipeline, "correct_motion", slowed)
    job = window.tools["perfusion"].run(PerfusionOptions())
    assert job is not None and not window.actions["perfusion"].isEnabled()
    assert window.progress.isVisible() and window.progress.cancel_button.isEnabled()
    assert reached.wait(30)
    with qtbot.waitSignal(window.tools["perfusion"].cancelled, timeout=TIMEOUT_MS):
        qtbot.mouseClick(window.progress.cancel_button, Qt.MouseButton.LeftButton)
    assert window.tools["perfusion"].analysis is None
    assert "cancelled" in window.tools["perfusion"].panel.status.text()
    assert window.actions["perfusion"].isEnabled()
    assert not window.viewer.slice_views["axial"]._labels.active

    monkeypatch.setattr(pipeline, "correct_motion", original)
    with qtbot.waitSignal(window.tools["perfusion"].result_shown, timeout=TIMEOUT_MS):
        window.tools["perfusion"].run(PerfusionOptions())
    assert window.viewer.slice_views["axial"]._labels.active


def test_saved_outputs_are_what_halong_perfusion_writes(qtbot, window, ctp, tmp_path):
    from workstation.perfusion.outputs import OUTPUT_KEYS

    _open(qtbot, window, ctp.folder)
    analysis = _run_from_the_menu(qtbot, window, age=70, nihss=14, hours=9.0)
    out = tmp_path / "stroke-out"
    with qtbot.waitSignal(window.tools["perfusion"].saved, timeout=TIMEOUT_MS):
        window.tools["perfusion"].save_to(out)

    document = json.loads((out / "perfusion.json").read_text())
    assert tuple(document) == OUTPUT_KEYS
    assert document["core_ml"] == analysis.result.volumes.core_ml
    assert document["triage"]["defuse3"]["status"] == "eligible"
    assert document["algorithm"]["name"] == "halong-perfusion" and document["ai_generated"]
    assert document["input"]["study_uid"] == ctp.study_uid
    for name in ("cbf", "cbv", "mtt", "tmax", "ttp", "core", "hypoperfusion"):
        assert (out / f"{name}.nii.gz").is_file()
    assert (out / "summary.png").is_file()
    import pydicom

    summary = pydicom.dcmread(out / "dicom" / "summary_sc.dcm")
    assert summary.PatientID == "PAT-300" and summary.StudyInstanceUID == ctp.study_uid
    assert window.context.results("perfusion", ctp.study_uid) == [out]


def test_saved_stroke_outputs_start_the_report_of_the_study(qtbot, window, ctp, tmp_path):
    from workstation.dicom.database import Database
    from workstation.dicom.importer import ImportRequest, import_paths

    with Database.open(window.home.database_path) as db:  # the study is in the database
        import_paths(db, ImportRequest([ctp.folder], window.home.store))
    _open(qtbot, window, ctp.folder)
    _run_from_the_menu(qtbot, window, age=70, nihss=14, hours=9.0)
    with qtbot.waitSignal(window.tools["perfusion"].saved, timeout=TIMEOUT_MS):
        window.tools["perfusion"].save_to(tmp_path / "stroke-out")
    window.interactive = False  # an error is a status message, not a box
    window.tools["report"].open_for_current_study()
    report = window.tools["report"].report
    assert report is not None and report.study.study_uid == ctp.study_uid
    assert [f.finding_id for f in report.ai_findings] == ["perfusion"]
