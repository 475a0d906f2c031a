"""The report editor: pending AI findings, autosaved typing, accept/reject in the preview
and the signed PDF, signing (read-only after, verified), the passphrase kept out of
every file, sending through the outbox, and amending."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import Qt
from support import emr_receivers, report_fixtures

pytestmark = pytest.mark.gui

TIMEOUT_MS = 60_000
CORE_SHOWN = "12.4"  # the synthetic perfusion.json's core, as the PDF prints it


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return report_fixtures.make_test_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def result_folder(imported, tmp_path) -> Path:
    """A stroke result (perfusion.json, summary.png) of the imported brain series."""
    series_uid = imported["brain"].series_uid
    return report_fixtures.write_perfusion_result(tmp_path / "perfusion", series_uid=series_uid)


def _pdf_text(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "shown.pdf"
    path.write_bytes(data)
    return report_fixtures.pdf_text(path)


def _preview_text(qtbot, tool, tmp_path) -> str:
    with qtbot.waitSignal(tool.preview_ready, timeout=TIMEOUT_MS) as ready:
        qtbot.mouseClick(tool.panel.preview_button, Qt.MouseButton.LeftButton)
    assert ready.args[0].pages and tool.preview_window.isVisible()
    return _pdf_text(ready.args[0].pdf, tmp_path)


def _sign_in_dialog(qtbot, tool, p12: Path, passphrase: str, outcome):
    qtbot.mouseClick(tool.panel.sign_button, Qt.MouseButton.LeftButton)
    dialog = tool.sign_dialog
    assert dialog.passphrase.echoMode() == dialog.passphrase.EchoMode.Password
    dialog.p12.setText(str(p12))
    if passphrase.isascii():
        qtbot.keyClicks(dialog.passphrase, passphrase)
    else:  # QTest types Latin-1 only
        dialog.passphrase.setText(passphrase)
    with qtbot.waitSignal(outcome, timeout=TIMEOUT_MS) as done:
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert not shiboken6.isValid(dialog) or dialog.passphrase.text() == ""  # not kept
    return done.args[0]


def _open_draft(window, folder):
    tool = window.tools["report"]
    tool._ensure_dock()
    tool.panel.physician.setText("BS. Nguyễn Văn An (TEST)")
    assert tool.open_results([folder], language="en")
    tool.panel.fields["findings_text"].setPlainText("Left MCA territory: early hypodensity.")
    return tool


def test_a_draft_lists_pending_findings_and_keeps_what_was_typed(
    qtbot, window, make_window, result_folder, imported
):
    assert window.actions["report_editor"].shortcut().toString() == "Ctrl+R"
    tool = _open_draft(window, result_folder)
    row = tool.panel.finding_rows["perfusion"]
    assert "PENDING" in row.badge.text()
    assert row.ai_label.text() == "AI-generated — halong-perfusion 1.0.0"
    assert "Infarct core" in row.details.text() and f"{CORE_SHOWN} mL" in row.details.text()
    assert row.accept_button.isEnabled() and row.reject_button.isEnabled()
    assert "Draft, version 1" in tool.panel.status.text()
    assert "1 AI finding(s) pending" in tool.panel.status.text()
    assert "Tran Minh" in tool.panel.header.text()  # the study's identity from the database

    indication = tool.panel.fields["indication"]
    indication.setFocus()
    indication.moveCursor(indication.textCursor().MoveOperation.End)
    qtbot.keyClicks(indication, " Aphasia since 07:10")
    findings = tool.panel.fields["findings_text"]
    findings.clear()
    qtbot.keyClicks(findings, "Left MCA hypodensity")
    report_id, study_uid = tool.report.report_id, tool.report.study.study_uid

    # as after a crash: another window reads the draft while this one never closed it
    other = make_window()
    assert other.tools["report"].open_study(study_uid)
    assert other.tools["report"].report.report_id == report_id
    assert (
        other.tools["report"].panel.fields["findings_text"].toPlainText() == "Left MCA hypodensity"
    )
    assert other.tools["report"].panel.fields["indication"].toPlainText().endswith("since 07:10")
    other.tools["report"].close_report()

    tool.close_report()
    assert tool.report is None and not tool.dock.isVisible()
    assert tool.open_study(study_uid)
    assert tool.panel.fields["findings_text"].toPlainText() == "Left MCA hypodensity"
    assert tool.panel.fields["indication"].toPlainText().endswith("Aphasia since 07:10")
    assert "PENDING" in tool.panel.finding_rows["perfusion"].badge.text()


def test_only_accepted_findings_reach_the_preview_and_the_signed_pdf(
    qtbot, window, result_folder, pki, tmp_path, gui_env
):
    from workstation.reporting.verification import verify_pdf
    from workstation.ui.app import configure_logging

    log_file = configure_logging(gui_env / "logs")
    root = logging.getLogger()
    handlers = [h for h in root.handlers if getattr(h, "baseFilename", None) == str(log_file)]
    level = root.level
    root.setLevel(logging.DEBUG)
    try:
        tool = _open_draft(window, result_folder)
        row = tool.panel.finding_rows["perfusion"]

        pending = _preview_text(qtbot, tool, tmp_path)
        assert "DRAFT" in pending.upper() and CORE_SHOWN not in pending

        qtbot.mouseClick(row.accept_button, Qt.MouseButton.LeftButton)
        assert "ACCEPTED" in row.badge.text()
        assert CORE_SHOWN in tool.panel.fields["impression"].toPlainText()  # prefilled
        accepted = _preview_text(qtbot, tool, tmp_path)
        assert CORE_SHOWN in accepted and "halong-perfusion 1.0.0" in accepted

        qtbot.mouseClick(row.reject_button, Qt.MouseButton.LeftButton)
        assert "REJECTED" in row.badge.text()
        assert CORE_SHOWN not in tool.panel.fields["impression"].toPlainText()
        rejected = _preview_text(qtbot, tool, tmp_path)
        assert CORE_SHOWN not in rejected and "halong-perfusion" not in rejected

        # a wrong passphrase: told, nothing signed, still editable
        message = _sign_in_dialog(qtbot, tool, pki.p12, "not the passphrase", tool.failed)
        assert "wrong passphrase" in message
        assert not tool.panel.fields["impression"].isReadOnly()
        assert tool.report.is_draft

        passphrase = pki.passphrase.decode("utf-8")
        package = _sign_in_dialog(qtbot, tool, pki.p12, passphrase, tool.signed)
        for field in tool.panel.fields.values():
            assert field.isReadOnly()
        assert not tool.panel.sign_button.isEnabled() and tool.panel.amend_button.isEnabled()
        assert tool.panel.status.text().startswith("Final, version 1 — signed by BS. Nguyễn")
        assert tool.panel.finding_rows == {}  # the rejected finding is not in the report
        assert tool.store.report_ids() == []  # the draft became the signed package

        signed = package.paths["pdf"].read_bytes()
        check = verify_pdf(signed, [pki.ca])
        assert check.ok and check.signatures[0].signer == "BS. Nguyễn Văn An (TEST)"
        text = _pdf_text(signed, tmp_path)
        assert CORE_SHOWN not in text and "halong-perfusion" not in text
        assert "DRAFT" not in text.upper()
        assert "perfusion" not in [f.finding_id for f in package.report.ai_findings]
        qtbot.mouseClick(tool.panel.preview_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: tool.last_preview.pdf == signed, timeout=TIMEOUT_MS)
    finally:
        root.setLevel(level)
        for handler in handlers:
            root.removeHandler(handler)
            handler.close()

    assert log_file is not None and log_file.is_file()
    secret = pki.passphrase
    for path in [*gui_env.rglob("*"), *(gui_env.parent / "settings").rglob("*")]:
        if path.is_file():
            assert secret not in path.read_bytes(), f"the passphrase is in {path}"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_send_shows_outbox_states_and_amend_makes_a_new_version(qtbot, window, result_folder, pki):
    tool = _open_draft(window, result_folder)
    qtbot.mouseClick(tool.panel.finding_rows["perfusion"].accept_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(tool.signed, timeout=TIMEOUT_MS) as signed:
        tool.sign(pki.p12, pki.passphrase)
    first = signed.args[0].report
    tool.close_report()
    assert tool.open_study(first.study.study_uid)  # the signed version, from its package
    assert tool.report.report_id == first.report_id
    assert tool.panel.fields["impression"].isReadOnly()

    listener = emr_receivers.MllpListener()
    listener.start()
    try:
        down = f"http://127.0.0.1:{_closed_port()}/dicom-web"
        assert tool.set_destinations({"mllp": f"127.0.0.1:{listener.port}", "dicomweb": down})
        with qtbot.waitSignal(tool.sent, timeout=TIMEOUT_MS) as sent:
            qtbot.mouseClick(tool.panel.send_button, Qt.MouseButton.LeftButton)
    finally:
        listener.stop()
    states = {(item.destination.kind, item.status) for item in sent.args[0]}
    assert states == {("mllp", "delivered"), ("dicomweb", "pending")}
    assert sum(listener.applied.values()) == 1
    status = tool.panel.outbox_status.text()
    assert "1 delivered" in status and "pending" in status and "dicomweb" in status

    assert tool.amend("core volume corrected after review")
    assert not tool.panel.fields["impression"].isReadOnly()
    assert tool.panel.status.text().startswith("Draft (amendment), version 2")
    assert not tool.panel.send_button.isEnabled()
    with qtbot.waitSignal(tool.signed, timeout=TIMEOUT_MS) as signed:
        tool.sign(pki.p12, pki.passphrase)
    amended = signed.args[0].report
    assert amended.replaces == first.report_id and amended.version == 2
    assert tool.panel.status.text().startswith("Amended, version 2")
