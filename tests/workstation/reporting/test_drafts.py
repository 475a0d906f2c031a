"""Draft autosave: kill -9 while typing loses nothing that was acknowledged."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from workstation.model.report import Decision, Icd10Code
from workstation.reporting.drafts import JOURNAL, DraftError, DraftStore

#: Typed one character at a time, with Vietnamese letters, across several checkpoints.
TYPED = "Nốt đặc thùy trên phổi phải, bờ tua gai, kích thước 12 mm. " * 6

TYPIST = textwrap.dedent(
    """
    import sys, json
    from workstation.model.report import Report
    from workstation.reporting.drafts import DraftStore

    store = DraftStore(sys.argv[1])
    session = store.open(sys.argv[2])
    text = session.report.findings_text
    for character in json.loads(sys.argv[3]):
        text += character
        session.edit(findings_text=text)
        print(len(text), flush=True)  # acknowledged: on disk
    sys.stdin.read()  # wait to be killed
    """
)


def test_kill_9_mid_typing_loses_nothing_acknowledged(draft, tmp_path):
    store = DraftStore(tmp_path / "drafts")
    session = store.create(draft.edit(findings_text=""))
    session.close()
    report_id = draft.report_id
    for round_number, stop_after in enumerate((37, 150, 301)):
        before = store.open(report_id).report.findings_text
        with subprocess.Popen(
            [sys.executable, "-c", TYPIST, str(store.root), report_id, json.dumps(TYPED)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        ) as typist:
            acknowledged = len(before)
            while acknowledged < len(before) + stop_after:
                acknowledged = int(typist.stdout.readline())
            os.kill(typist.pid, signal.SIGKILL)  # no chance to clean up or checkpoint
            typist.wait()
        assert typist.returncode == -signal.SIGKILL
        recovered = store.open(report_id).report.findings_text
        expected = before + TYPED
        assert len(recovered) >= acknowledged, round_number
        assert recovered == expected[: len(recovered)]


def test_a_torn_last_journal_line_is_ignored_and_later_edits_are_kept(draft, tmp_path):
    store = DraftStore(tmp_path)
    session = store.create(draft)
    session.edit(impression="một")
    session.decide("nodule-1", Decision.ACCEPTED, "BS. An")
    with open(session.folder / JOURNAL, "ab") as journal:
        journal.write(b'{"seq": 99, "op": "edit", "chan')  # a crash mid-write
    recovered = store.open(draft.report_id)
    assert recovered.report.impression == "một"
    assert recovered.report.finding("nodule-1").decision is Decision.ACCEPTED
    recovered.edit(impression="hai")
    again = store.open(draft.report_id).report
    assert again.impression == "hai" and again.finding("nodule-1").decided_by == "BS. An"


def test_every_kind_of_change_survives_reopening(draft, tmp_path):
    store = DraftStore(tmp_path)
    with store.create(draft, result_dirs=[tmp_path / "lung"]) as session:
        session.edit(icd10=[Icd10Code("C34.1", "U ác thùy trên")], indication="ho ra máu")
        session.decide("nodule-2", Decision.REJECTED, "BS. An")
        session.replace(session.report.edit(recommendations="PET/CT"))
        expected = session.report
    reopened = store.open(draft.report_id)
    assert reopened.report == expected and reopened.result_dirs == [tmp_path / "lung"]
    assert store.report_ids() == [draft.report_id]
    store.discard(draft.report_id)
    assert store.report_ids() == []
    with pytest.raises(DraftError):
        store.open(draft.report_id)


def test_final_reports_are_not_drafts(final_report, tmp_path):
    with pytest.raises(DraftError):
        DraftStore(tmp_path).create(final_report)
