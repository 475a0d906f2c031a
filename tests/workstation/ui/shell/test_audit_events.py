"""What the window writes to the audit trail: an import with its source and counts, and
each study shown with its patient and study UID."""

from __future__ import annotations

import pydicom
import pytest
from support.audit_trails import event_code, read_chain

pytestmark = pytest.mark.gui

LOAD_TIMEOUT_MS = 30_000


def test_an_import_and_an_opened_study_are_audited(qtbot, studies, make_window, gui_env):
    chest = studies["chest"]
    written = pydicom.dcmread(next(chest.folder.iterdir()), stop_before_pixels=True)
    window = make_window()
    with qtbot.waitSignal(window.import_finished, timeout=LOAD_TIMEOUT_MS):
        window.import_paths([chest.folder])
    with qtbot.waitSignal(window.series_opened, timeout=LOAD_TIMEOUT_MS):
        window.open_series(chest.series_uid)

    imported, opened = read_chain(gui_env / "audit")

    assert event_code(imported.message) == "110107"
    media = imported.message.findall("ActiveParticipant")[1]
    assert media.get("UserID") == chest.folder.absolute().as_uri()
    description = imported.message.find("EventIdentification/EventOutcomeDescription").text
    assert description == "40 instances indexed (40 new, 0 already indexed), 0 files skipped"
    assert event_code(opened.message) == "110103"
    objects = {
        o.find("ParticipantObjectIDTypeCode").get("csd-code"): o.get("ParticipantObjectID")
        for o in opened.message.iter("ParticipantObjectIdentification")
    }
    assert objects["2"] == written.PatientID  # RFC 3881 Patient Number
    assert objects["110180"] == written.StudyInstanceUID
