"""The audit trail read back as entries: who did what to which patient and study, when.

What ``halong audit list`` shows. Entries are read from the messages themselves (the
DICOM audit XML); whether the chain is intact is :mod:`~workstation.net.audit_verify`'s
question, so a damaged line is only counted here, never hidden in silence.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workstation.net.audit_chain import BrokenRecord, read_link, trail_lines

_PATIENT_ROLE = "1"
_STUDY_ID_TYPE = "110180"
OUTCOMES = {0: "success", 4: "minor failure", 8: "serious failure", 12: "major failure"}


@dataclass(frozen=True)
class AuditEntry:
    """One audit message, summarised."""

    file: str
    line: int
    number: int | None  # the chain's record number; None when the record is damaged
    time: dt.datetime
    event: str
    event_code: str
    event_types: tuple[str, ...]
    action: str
    user: str
    patients: tuple[str, ...]
    studies: tuple[str, ...]
    outcome: int

    @property
    def event_label(self) -> str:
        """The event with its type, e.g. ``Application Activity: Application Start``."""
        return ": ".join((self.event, *self.event_types))

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "number": self.number,
            "time": self.time.isoformat(timespec="milliseconds"),
            "event": self.event,
            "event_code": self.event_code,
            "event_types": list(self.event_types),
            "action": self.action,
            "user": self.user,
            "patients": list(self.patients),
            "studies": list(self.studies),
            "outcome": self.outcome,
        }


@dataclass
class Entries:
    """The readable entries, oldest first, and how many lines were not readable."""

    entries: list[AuditEntry]
    unreadable: int


def read_entries(
    folder: Path, *, since: dt.date | None = None, patient_id: str | None = None
) -> Entries:
    """The entries from ``since`` (local midnight) on, about ``patient_id`` if given."""
    start = dt.datetime.combine(since, dt.time()).astimezone() if since else None
    entries, unreadable = [], 0
    for line in trail_lines(folder):
        try:
            entry = _entry(line.file, line.line, line.text)
        except (ET.ParseError, ValueError):
            unreadable += 1
            continue
        if start is not None and entry.time < start:
            continue
        if patient_id is not None and patient_id not in entry.patients:
            continue
        entries.append(entry)
    return Entries(entries, unreadable)


def _entry(file: str, line: int, text: bytes) -> AuditEntry:
    message = ET.fromstring(text)
    event = _required(message, "EventIdentification")
    event_id = _required(event, "EventID")
    objects = message.findall("ParticipantObjectIdentification")
    requestors = [
        p.get("UserID", "")
        for p in message.iter("ActiveParticipant")
        if p.get("UserIsRequestor") == "true"
    ]
    return AuditEntry(
        file=file,
        line=line,
        number=_record_number(text),
        time=dt.datetime.fromisoformat(event.get("EventDateTime", "")),
        event=event_id.get("originalText", ""),
        event_code=event_id.get("csd-code", ""),
        event_types=tuple(t.get("originalText", "") for t in event.iter("EventTypeCode")),
        action=event.get("EventActionCode", ""),
        user=", ".join(requestors),
        patients=tuple(
            o.get("ParticipantObjectID", "")
            for o in objects
            if o.get("ParticipantObjectTypeCodeRole") == _PATIENT_ROLE
        ),
        studies=tuple(
            o.get("ParticipantObjectID", "")
            for o in objects
            if _required(o, "ParticipantObjectIDTypeCode").get("csd-code") == _STUDY_ID_TYPE
        ),
        outcome=int(event.get("EventOutcomeIndicator", "0")),
    )


def _required(parent: ET.Element, tag: str) -> ET.Element:
    child = parent.find(tag)
    if child is None:
        raise ValueError(f"no {tag}")
    return child


def _record_number(text: bytes) -> int | None:
    try:
        return read_link(text).number
    except BrokenRecord:
        return None
