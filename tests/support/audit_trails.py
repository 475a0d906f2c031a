"""The audit trail's hash chain checked from its documented format alone, and a small
trail across two monthly files to tamper with.

The check reads each line with ElementTree and hashlib only, not with Halong's chain
code, so a test that uses it holds that code to the format README and
``workstation/net/audit_chain.py`` describe.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

GENESIS = bytes(32)
ZERO_SEAL = base64.b64encode(bytes(32))
SEAL_ATTRIBUTE = b'type="RecordSHA256" value="'


@dataclass(frozen=True)
class StoredRecord:
    file: str
    line: int
    number: int
    previous: bytes
    seal: bytes
    message: ET.Element


def read_chain(folder: Path) -> list[StoredRecord]:
    """Every record, oldest first, each asserted sealed and linked to the one before."""
    records = []
    for path in sorted(folder.glob("audit-*.log")):
        data = path.read_bytes()
        assert data.endswith(b"\n"), path
        for number, line in enumerate(data[:-1].split(b"\n"), start=1):
            records.append(_record(path.name, number, line))
    previous = GENESIS
    for expected, record in enumerate(records, start=1):
        assert record.number == expected, record
        assert record.previous == previous, record
        previous = record.seal
    return records


def _record(file: str, line_number: int, line: bytes) -> StoredRecord:
    message = ET.fromstring(line)
    link = message.findall("ParticipantObjectIdentification")[-1]
    assert link.get("ParticipantObjectTypeCode") == "2"
    assert link.get("ParticipantObjectTypeCodeRole") == "13"
    assert link.find("ParticipantObjectIDTypeCode").get("csd-code") == "12"
    assert link.find("ParticipantObjectName") is not None  # the schema needs a name or query
    uri = link.get("ParticipantObjectID")
    assert uri.startswith("ni:///sha-256;"), uri
    details = {
        d.get("type"): base64.b64decode(d.get("value"))
        for d in link.iter("ParticipantObjectDetail")
    }
    start = line.rindex(SEAL_ATTRIBUTE) + len(SEAL_ATTRIBUTE)
    end = line.index(b'"', start)
    seal = base64.b64decode(line[start:end])
    assert hashlib.sha256(line[:start] + ZERO_SEAL + line[end:]).digest() == seal
    assert details["RecordSHA256"] == seal
    return StoredRecord(
        file,
        line_number,
        int(details["RecordNumber"]),
        base64.urlsafe_b64decode(uri.removeprefix("ni:///sha-256;") + "="),
        seal,
        message,
    )


def event_code(message: ET.Element) -> str:
    return message.find("EventIdentification/EventID").get("csd-code")


STUDY_UID = "1.2.826.0.1.3680043.10.511.1"
JANUARY = dt.datetime(2025, 1, 15, 9, 30, tzinfo=dt.UTC)
FEBRUARY = dt.datetime(2025, 2, 14, 16, 45, tzinfo=dt.UTC)


def write_small_trail(folder: Path) -> list[dict]:
    """Six records, three in January 2025 and three in February, with what each says."""
    from workstation.net import audit

    trail = audit.AuditTrail(folder, source_id="halong@test")
    user = audit.Participant("bs.lan", True)
    patient = audit.ParticipantObject("PAT-A", 1, 1, audit.ID_PATIENT_NUMBER)
    study = audit.ParticipantObject(
        "1.2.826.0.1.3680043.10.511.1", 2, 3, audit.ID_STUDY_INSTANCE_UID
    )
    other = audit.ParticipantObject("PAT-B", 1, 1, audit.ID_PATIENT_NUMBER)
    start, stop = (audit.APPLICATION_START,), (audit.APPLICATION_STOP,)
    minute = dt.timedelta(minutes=1)
    plan = [
        (JANUARY, audit.APPLICATION_ACTIVITY, "E", (), start, 0),
        (JANUARY + minute, audit.DICOM_INSTANCES_ACCESSED, "R", (patient, study), (), 0),
        (JANUARY + 2 * minute, audit.DICOM_INSTANCES_ACCESSED, "R", (other,), (), 0),
        (FEBRUARY, audit.PATIENT_RECORD, "C", (patient, study), (audit.AUTHORS_SIGNATURE,), 0),
        (FEBRUARY + minute, audit.EXPORT, "R", (patient, study), (), 4),
        (FEBRUARY + 2 * minute, audit.APPLICATION_ACTIVITY, "E", (), stop, 0),
    ]
    facts = []
    for when, event_id, action, objects, types, outcome in plan:
        event = audit.AuditEvent(event_id, action, (user,), objects, types, outcome, when=when)
        trail.record(event)
        facts.append(
            {
                "time": when,
                "event_code": event_id.code,
                "action": action,
                "user": "bs.lan",
                "patients": [o.object_id for o in objects if o.role == 1],
                "studies": [o.object_id for o in objects if o.role == 3],
                "outcome": outcome,
            }
        )
    return facts
