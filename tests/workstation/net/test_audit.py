"""The audit trail: DICOM audit messages with the right codes, kept append-only, and
forwarded as RFC 5424 syslog; no patient data in application logs."""

from __future__ import annotations

import logging
import os
import re
import xml.etree.ElementTree as ET

import pytest
from support.emr_receivers import SyslogListener
from support.report_files import write_report_folder

from workstation.net import audit
from workstation.net.delivery import deliver
from workstation.net.destinations import Destination
from workstation.net.outbox import Outbox
from workstation.net.payloads import collect_payloads
from workstation.net.syslog import SyslogTarget

PATIENT, STUDY = "PAT-A", "1.2.826.0.1.3680043.10.511.1"
# <PRI>VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP SD SP BOM MSG
RFC5424 = re.compile(
    rb"^<85>1 (?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d) (?P<host>\S+) "
    rb"halong (?P<pid>\d+) DICOM\+RFC3881 - \xef\xbb\xbf(?P<msg><AuditMessage>.*)$",
    re.DOTALL,
)


def _coded(element: ET.Element) -> tuple[str, str, str]:
    return element.get("csd-code"), element.get("codeSystemName"), element.get("originalText")


def _objects(message: ET.Element) -> dict[str, tuple[str, str, str]]:
    """ParticipantObjectID -> (type code, role, ID type code), but the chain link (role 13,
    the last object; test_audit_chain.py checks it)."""
    *objects, link = message.iter("ParticipantObjectIdentification")
    assert link.get("ParticipantObjectTypeCodeRole") == "13"
    return {
        o.get("ParticipantObjectID"): (
            o.get("ParticipantObjectTypeCode"),
            o.get("ParticipantObjectTypeCodeRole"),
            o.find("ParticipantObjectIDTypeCode").get("csd-code"),
        )
        for o in objects
    }


@pytest.fixture
def trail(tmp_path):
    return audit.AuditTrail(tmp_path / "audit", source_id="halong@test")


def _logged(trail: audit.AuditTrail) -> list[ET.Element]:
    return [ET.fromstring(line) for line in trail.messages()]


def test_open_sign_and_export_are_recorded_with_their_dicom_event_codes(trail):
    audit.record_study_opened(trail, patient_id=PATIENT, study_uid=STUDY, user="bs.lan")
    audit.record_report_signed(
        trail, patient_id=PATIENT, study_uid=STUDY, report_id="RPT-1", signer="bs.lan"
    )
    audit.record_report_signed(
        trail, patient_id=PATIENT, study_uid=STUDY, report_id="RPT-2", signer="bs.lan", amended=True
    )
    audit.record_export(
        trail, destination="fhir:https://emr/fhir", patient_id=PATIENT, documents=["RPT-1"]
    )

    opened, signed, amended, exported = _logged(trail)
    events = [m.find("EventIdentification") for m in (opened, signed, amended, exported)]
    assert [_coded(e.find("EventID")) for e in events] == [
        ("110103", "DCM", "DICOM Instances Accessed"),
        ("110110", "DCM", "Patient Record"),
        ("110110", "DCM", "Patient Record"),
        ("110106", "DCM", "Export"),
    ]
    assert [e.get("EventActionCode") for e in events] == ["R", "C", "U", "R"]
    assert _coded(events[1].find("EventTypeCode")) == (
        "1.2.840.10065.1.12.1.1",
        "urn:iso-astm:E1762-95:2013",
        "Author's Signature",
    )
    assert {e.get("EventOutcomeIndicator") for e in events} == {"0"}
    assert _objects(opened) == {PATIENT: ("1", "1", "2"), STUDY: ("2", "3", "110180")}
    assert _objects(signed)["RPT-1"] == ("2", "3", "9")
    assert signed.find("ActiveParticipant").get("UserID") == "bs.lan"
    destination = [
        p for p in exported.iter("ActiveParticipant") if p.find("RoleIDCode") is not None
    ]
    assert _coded(destination[0].find("RoleIDCode"))[0] == "110152"
    assert destination[0].get("UserID") == "fhir:https://emr/fhir"
    for message in (opened, signed, amended, exported):  # the schema's element order
        children = [child.tag for child in message]
        assert children[0] == "EventIdentification"
        assert children.index("AuditSourceIdentification") > children.index("ActiveParticipant")
        assert message.find("AuditSourceIdentification").get("AuditSourceID") == "halong@test"


def test_the_log_only_grows(trail):
    audit.record_login(trail, user="bs.lan")
    (path,) = trail.folder.glob("audit-*.log")
    before = path.read_bytes()
    audit.record_login(trail, user="bs.lan", logout=True)
    after = path.read_bytes()
    assert after.startswith(before) and after.count(b"\n") == 2
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)
    types = [m.find("EventIdentification/EventTypeCode").get("csd-code") for m in _logged(trail)]
    assert types == ["110122", "110123"]


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_messages_are_forwarded_as_rfc5424_syslog(transport, tmp_path):
    listener = SyslogListener(transport)
    listener.start()
    try:
        target = SyslogTarget.parse(f"{transport}://127.0.0.1:{listener.port}")
        trail = audit.AuditTrail(tmp_path / "audit", syslog_target=target)
        local = audit.record_study_opened(trail, patient_id=PATIENT, study_uid=STUDY)
        assert listener.arrived.wait(5)
    finally:
        listener.stop()
    (received,) = listener.messages
    match = RFC5424.match(received)
    assert match, received[:80]
    assert int(match["pid"]) == os.getpid()
    assert match["msg"].decode("utf-8") == local


def test_an_unreachable_syslog_server_never_loses_the_local_record(tmp_path, caplog):
    from support.orthanc_server import free_port

    target = SyslogTarget.parse(f"tcp://127.0.0.1:{free_port()}")
    trail = audit.AuditTrail(tmp_path / "audit", syslog_target=target)
    audit.record_study_opened(trail, patient_id=PATIENT, study_uid=STUDY)
    assert len(list(trail.messages())) == 1
    assert "kept locally" in caplog.text and PATIENT not in caplog.text


def test_sending_writes_the_audit_trail_but_no_patient_data_to_application_logs(
    tmp_path, trail, mllp_listener, caplog
):
    caplog.set_level(logging.DEBUG, logger="workstation")
    facts = write_report_folder(tmp_path / "report", 5, images=0)
    payloads = list(collect_payloads([tmp_path / "report"], {"hl7v2"}))
    with Outbox.open(tmp_path / "outbox") as outbox:
        outbox.enqueue(Destination.mllp("127.0.0.1:9"), payloads)  # nobody listens there
        outbox.enqueue(Destination.mllp(f"127.0.0.1:{mllp_listener.port}"), payloads)
        deliver(outbox, trail=trail)
    (exported,) = _logged(trail)
    assert _coded(exported.find("EventIdentification/EventID"))[0] == "110106"
    assert _objects(exported)[facts["control_id"]] == ("2", "3", "9")
    assert "127.0.0.1:9" in caplog.text  # the failure was logged ...
    for secret in ("PAT-A", "Nguyễn", facts["control_id"], facts["study_uid"]):
        assert secret not in caplog.text  # ... without patient data
