"""One patient on screen: every panel follows the reading context.

Patient A (chest CT): the lung tool runs, nodules are accepted and saved, the report is
signed. Patient B (CT perfusion) is opened: no widget anywhere (docks tabbed out of
sight included, the slice views' corner texts included) shows A's name, ID or results.
Perfusion runs on B; back on A, A's nodules and signed report come back, and nothing
of B is shown. Only the study browser lists both patients: that is its purpose.
"""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QComboBox,
    QDockWidget,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTableWidget,
    QTextEdit,
    QWidget,
)
from support import report_fixtures
from support.lung_studies import PATIENT, write_lung_studies
from support.perfusion_studies import write_ctp_phantom

pytestmark = pytest.mark.gui

TIMEOUT_MS = 120_000
PATIENT_B = {"name": "Le Van Hung", "id": "PAT-300"}


@pytest.fixture(scope="module")
def two_patients(tmp_path_factory):
    root = tmp_path_factory.mktemp("two-patients")
    return write_lung_studies(root / "a"), write_ctp_phantom(root / "b" / "dicom")


def _widget_texts(widget: QWidget) -> list[str]:
    texts = [widget.toolTip(), widget.windowTitle()]
    if isinstance(widget, QLabel | QAbstractButton | QLineEdit):
        texts.append(widget.text())
    if isinstance(widget, QPlainTextEdit | QTextEdit):
        texts.append(widget.toPlainText())
    if isinstance(widget, QComboBox):
        texts += [widget.itemText(i) for i in range(widget.count())]
    if isinstance(widget, QTableWidget):
        for row in range(widget.rowCount()):
            for column in range(widget.columnCount()):
                item = widget.item(row, column)
                texts.append(item.text() if item is not None else "")
    if isinstance(widget, QDockWidget):
        texts.append(widget.windowTitle())
    return texts


def _everything_shown(window) -> str:
    """The text of every widget of the application (shown or tabbed away) but the study
    browser, and the slice views' corner texts."""
    browser = window.browser
    texts = [window.windowTitle(), window.statusBar().currentMessage()]
    for widget in QApplication.allWidgets():
        if widget is browser or browser.isAncestorOf(widget):
            continue
        texts += _widget_texts(widget)
    if window.viewer is not None:
        for view in window.viewer.slice_views.values():
            texts += view.corner_texts().values()
    return "\n".join(text for text in texts if text)


def _nothing_of(text: str, name: str, patient_id: str, *results: str) -> None:
    for forbidden in (name, name.replace(" ", "^", 1), patient_id, *results):
        assert forbidden not in text, forbidden


def _open(qtbot, window, series_uid: str) -> None:
    with qtbot.waitSignal(window.series_opened, timeout=30_000):
        window.open_series(series_uid)


def test_each_panel_shows_only_the_study_being_read(qtbot, make_window, two_patients, tmp_path):
    from workstation.dicom.database import Database
    from workstation.dicom.importer import ImportRequest, import_paths
    from workstation.home import resolve_home
    from workstation.lung.analysis import LungSettings
    from workstation.perfusion.analysis import PerfusionOptions

    lung_a, ctp_b = two_patients
    home = resolve_home()
    with Database.open(home.database_path) as db:
        import_paths(db, ImportRequest([lung_a.current, ctp_b.folder], home.store))
        (series_b,) = [s.series_uid for s in db.series(ctp_b.study_uid)]
    pki = report_fixtures.make_test_pki(tmp_path / "pki")
    window = make_window()
    window.context.set_reader(report_fixtures.PHYSICIAN)
    lung, perfusion, report = (window.tools[k] for k in ("lung", "perfusion", "report"))
    name_a = PATIENT["patient_name"].replace("^", " ")

    # patient A: lung nodules found, all accepted, saved for the report, signed
    _open(qtbot, window, lung_a.current_series_uid)
    with qtbot.waitSignal(lung.result_shown, timeout=TIMEOUT_MS):
        lung.run(LungSettings())
    nodules = [item.id for item in lung.analysis.review.items]
    assert nodules and name_a in lung.panel.banner.text()
    for nodule in nodules:
        lung.decide(nodule, "accepted")
    with qtbot.waitSignal(lung.saved, timeout=TIMEOUT_MS):
        lung.save_for_report()
    window.interactive = False
    report.open_for_current_study()
    assert report.report is not None and report.report.patient.patient_id == PATIENT["patient_id"]
    report.panel.fields["findings_text"].setPlainText("Phổi: nhiều nốt.")
    with qtbot.waitSignal(report.signed, timeout=TIMEOUT_MS):
        report.sign(pki.p12, pki.passphrase)
    signed_id = report.report.report_id
    result_words = [f"Nodule {n}" for n in nodules] + [signed_id, "Lung-RADS"]

    # patient B: nothing of A anywhere
    _open(qtbot, window, series_b)
    shown = _everything_shown(window)
    _nothing_of(shown, name_a, PATIENT["patient_id"], *result_words)
    assert PATIENT_B["name"] in lung.panel.banner.text()
    assert "No lung nodules result for this study" in lung.panel.status.text()
    assert lung.panel.table.rowCount() == 0
    assert report.report is None
    # nor can A's results start a report while B is read
    (lung_folder_a,) = window.context.results("lung", lung_a.current_study_uid)
    assert not report.open_results([lung_folder_a])
    assert report.report is None and "not of the study being read" in (
        window.statusBar().currentMessage()
    )

    # perfusion on B
    with qtbot.waitSignal(perfusion.result_shown, timeout=TIMEOUT_MS):
        perfusion.run(PerfusionOptions())
    core_text = perfusion.panel.card.values["core_ml"].text()
    assert PATIENT_B["name"] in perfusion.panel.banner.text()

    # back on A: A's nodules and signed report come back; nothing of B stays
    _open(qtbot, window, lung_a.current_series_uid)
    assert sorted(item.id for item in lung.analysis.review.items) == sorted(nodules)
    assert lung.panel.table.rowCount() == len(nodules)
    assert name_a in lung.panel.banner.text() and name_a in report.panel.banner.text()
    report.open_for_current_study()
    assert report.report.report_id == signed_id and not report.report.is_draft
    assert "signed by" in report.panel.status.text()
    assert "No perfusion result for this study" in perfusion.panel.status.text()
    shown = _everything_shown(window)
    _nothing_of(shown, PATIENT_B["name"], PATIENT_B["id"], core_text)


def _structure(report: dict) -> dict:
    """A report.json without what differs between two signings: ids and times."""
    report = {
        k: v
        for k, v in report.items()
        if k not in {"report_id", "set_id", "created_at", "finalized_at"}
    }
    report["ai_findings"] = [
        {k: v for k, v in finding.items() if k != "decided_at"} for finding in report["ai_findings"]
    ]
    return report


def test_the_panel_and_halong_report_sign_the_same_report(
    qtbot, make_window, two_patients, tmp_path, halong
):
    """One flow: the same accepted findings give the same report from both skins."""
    import json

    from workstation.dicom.database import Database
    from workstation.dicom.importer import ImportRequest, import_paths
    from workstation.home import resolve_home
    from workstation.lung.analysis import LungSettings

    lung_a, _ = two_patients
    home = resolve_home()
    with Database.open(home.database_path) as db:
        import_paths(db, ImportRequest([lung_a.current], home.store))
    pki = report_fixtures.make_test_pki(tmp_path / "pki")
    window = make_window()
    window.context.set_reader(report_fixtures.PHYSICIAN)
    lung, report = window.tools["lung"], window.tools["report"]
    _open(qtbot, window, lung_a.current_series_uid)
    with qtbot.waitSignal(lung.result_shown, timeout=TIMEOUT_MS):
        lung.run(LungSettings())
    first, *others = [item.id for item in lung.analysis.review.items]
    lung.decide(first, "accepted")
    for nodule in others:
        lung.decide(nodule, "rejected")
    with qtbot.waitSignal(lung.saved, timeout=TIMEOUT_MS):
        lung.save_for_report()
    (folder,) = window.context.results("lung")

    window.interactive = False
    assert report.open_results([folder])
    report._decided("lung-rads", "accepted")  # the exam category, as the Accept button does
    report.panel.fields["findings_text"].setPlainText(report_fixtures.FINDINGS)
    with qtbot.waitSignal(report.signed, timeout=TIMEOUT_MS) as signed:
        report.sign(pki.p12, pki.passphrase)
    panel_report = json.loads(signed.args[0].paths["report"].read_text(encoding="utf-8"))

    out = tmp_path / "cli"
    accepted = ",".join(f["finding_id"] for f in panel_report["ai_findings"])
    done = halong(
        "report", folder, "--signer", pki.p12, "--passphrase-file", pki.passphrase_file,
        "--out", out, "--accept", accepted, "--findings", report_fixtures.FINDINGS,
    )  # fmt: skip
    assert done.status == 0, done.err
    cli_report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert [f["finding_id"] for f in cli_report["ai_findings"]] == ["nodule-1", "lung-rads"]
    assert _structure(panel_report) == _structure(cli_report)
    panel_files = sorted(p.name for p in signed.args[0].paths["report"].parent.iterdir())
    assert panel_files == sorted(p.name for p in out.iterdir())
