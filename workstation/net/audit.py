"""The audit trail: who opened, signed, sent and exported what, and when.

Each event is a DICOM audit message (PS3.15 A.5, the XML schema derived from RFC 3881
that IHE ATNA uses), appended as one line to a monthly file ``audit-YYYY-MM.log``
opened with ``O_APPEND`` and fsynced, so records are only ever added. Each record is
sealed with its SHA-256 and names the seal of the record before it
(:mod:`~workstation.net.audit_chain`), so ``halong audit verify`` finds a record changed,
deleted, inserted or moved; optionally each is forwarded to a syslog audit repository
(:mod:`~workstation.net.syslog`). These files do hold patient identifiers, as an audit
trail must; application logs never do.

Event codes (DICOM PS3.16 CID 400 / 401, DCM scheme):

- open a study: 110103 *DICOM Instances Accessed*, action R;
- sign a report: 110110 *Patient Record*, action C (U for an amendment), with event type
  ``1.2.840.10065.1.12.1.1`` *Author's Signature* from ASTM E1762-95
  (``urn:iso-astm:E1762-95:2013``, the signature types FHIR uses);
- send DICOM to a PACS, or retrieve from one: 110104 *DICOM Instances Transferred*;
- import files into the database: 110107 *Import*, action C, the files as Source Media;
- send a report to the EMR (FHIR, HL7 v2) or any other export: 110106 *Export*, action R;
- query a PACS: 110112 *Query*; log in or out: 110114 *User Authentication* with
  110122 *Login* / 110123 *Logout*; start and stop: 110100 with 110120 / 110121.

The ``record_*`` helpers are what the UI, the CLI and the report code call.
"""

from __future__ import annotations

import base64
import datetime as dt
import getpass
import logging
import os
import socket
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Self

from workstation.net import audit_chain, syslog

if TYPE_CHECKING:
    from workstation.dicom.import_report import ImportReport

SYSLOG_VARIABLE = "HALONG_AUDIT_SYSLOG"
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Code:
    """A coded value: ``csd-code``, ``codeSystemName``, ``originalText``."""

    code: str
    system: str
    meaning: str


APPLICATION_ACTIVITY = Code("110100", "DCM", "Application Activity")
DICOM_INSTANCES_ACCESSED = Code("110103", "DCM", "DICOM Instances Accessed")
DICOM_INSTANCES_TRANSFERRED = Code("110104", "DCM", "DICOM Instances Transferred")
EXPORT = Code("110106", "DCM", "Export")
IMPORT = Code("110107", "DCM", "Import")
PATIENT_RECORD = Code("110110", "DCM", "Patient Record")
QUERY = Code("110112", "DCM", "Query")
USER_AUTHENTICATION = Code("110114", "DCM", "User Authentication")
APPLICATION_START = Code("110120", "DCM", "Application Start")
APPLICATION_STOP = Code("110121", "DCM", "Application Stop")
LOGIN = Code("110122", "DCM", "Login")
LOGOUT = Code("110123", "DCM", "Logout")
AUTHORS_SIGNATURE = Code(
    "1.2.840.10065.1.12.1.1", "urn:iso-astm:E1762-95:2013", "Author's Signature"
)
ROLE_APPLICATION = Code("110150", "DCM", "Application")
ROLE_DESTINATION = Code("110152", "DCM", "Destination Role ID")
ROLE_SOURCE = Code("110153", "DCM", "Source Role ID")
ROLE_SOURCE_MEDIA = Code("110155", "DCM", "Source Media")
MEDIA_URI = Code("110037", "DCM", "URI")
ID_PATIENT_NUMBER = Code("2", "RFC-3881", "Patient Number")
ID_REPORT_NUMBER = Code("9", "RFC-3881", "Report Number")
ID_URI = Code("12", "RFC-3881", "URI")
ID_STUDY_INSTANCE_UID = Code("110180", "DCM", "Study Instance UID")
ID_SOP_CLASS_UID = Code("110181", "DCM", "SOP Class UID")
#: RFC 3881 audit source type 1: end-user display device, diagnostic display.
_SOURCE_TYPE = Code("1", "DCM", "End User Display Device, Diagnostic Display")

Action = Literal["C", "R", "U", "D", "E"]
#: EventOutcomeIndicator: 0 success, 4 minor failure, 8 serious failure, 12 major failure.
Outcome = Literal[0, 4, 8, 12]


@dataclass(frozen=True)
class Participant:
    """An ActiveParticipant: a person, a process or a remote node taking part."""

    user_id: str
    is_requestor: bool
    role: Code | None = None
    network_access_point: str | None = None
    alternative_user_id: str | None = None
    media_type: Code | None = None  # MediaIdentifier/MediaType, for a Source Media


@dataclass(frozen=True)
class ParticipantObject:
    """A ParticipantObjectIdentification: the patient, a study, a report, a query."""

    object_id: str
    type_code: int  # 1 person, 2 system object
    role: int  # 1 patient, 3 report, 24 query
    id_type: Code
    details: tuple[tuple[str, str], ...] = ()  # (type, value), values base64-encoded
    query: bytes | None = None


@dataclass(frozen=True)
class AuditEvent:
    """One audit message before it becomes XML."""

    event_id: Code
    action: Action
    participants: tuple[Participant, ...]
    objects: tuple[ParticipantObject, ...] = ()
    event_types: tuple[Code, ...] = ()
    outcome: Outcome = 0
    #: EventOutcomeDescription: what happened, in words (e.g. the counts of an import).
    description: str = ""
    when: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


def _coded(parent: ET.Element, tag: str, code: Code) -> None:
    ET.SubElement(
        parent,
        tag,
        {"csd-code": code.code, "codeSystemName": code.system, "originalText": code.meaning},
    )


def to_xml(event: AuditEvent, source_id: str) -> str:
    """The DICOM audit message for ``event``, on one line."""
    root = ET.Element("AuditMessage")
    identification = ET.SubElement(
        root,
        "EventIdentification",
        {
            "EventActionCode": event.action,
            "EventDateTime": event.when.astimezone().isoformat(timespec="milliseconds"),
            "EventOutcomeIndicator": str(event.outcome),
        },
    )
    _coded(identification, "EventID", event.event_id)
    for event_type in event.event_types:
        _coded(identification, "EventTypeCode", event_type)
    if event.description:
        ET.SubElement(identification, "EventOutcomeDescription").text = event.description
    for participant in event.participants:
        attributes = {
            "UserID": participant.user_id,
            "UserIsRequestor": "true" if participant.is_requestor else "false",
        }
        if participant.alternative_user_id:
            attributes["AlternativeUserID"] = participant.alternative_user_id
        if participant.network_access_point:
            attributes["NetworkAccessPointID"] = participant.network_access_point
            attributes["NetworkAccessPointTypeCode"] = _access_point_type(
                participant.network_access_point
            )
        element = ET.SubElement(root, "ActiveParticipant", attributes)
        if participant.role:
            _coded(element, "RoleIDCode", participant.role)
        if participant.media_type:
            _coded(ET.SubElement(element, "MediaIdentifier"), "MediaType", participant.media_type)
    source = ET.SubElement(root, "AuditSourceIdentification", {"AuditSourceID": source_id})
    _coded(source, "AuditSourceTypeCode", _SOURCE_TYPE)
    for item in event.objects:
        element = ET.SubElement(
            root,
            "ParticipantObjectIdentification",
            {
                "ParticipantObjectID": item.object_id,
                "ParticipantObjectTypeCode": str(item.type_code),
                "ParticipantObjectTypeCodeRole": str(item.role),
            },
        )
        _coded(element, "ParticipantObjectIDTypeCode", item.id_type)
        if item.query is not None:
            ET.SubElement(element, "ParticipantObjectQuery").text = _b64(item.query)
        for detail_type, value in item.details:
            ET.SubElement(
                element, "ParticipantObjectDetail", {"type": detail_type, "value": _b64(value)}
            )
    return ET.tostring(root, encoding="unicode").replace("\n", "&#10;")


def _b64(value: str | bytes) -> str:
    data = value.encode("utf-8") if isinstance(value, str) else value
    return base64.b64encode(data).decode("ascii")


def _access_point_type(access_point: str) -> str:
    """RFC 3881 network access point type: 2 for an IP address, 1 for a machine name."""
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in access_point else socket.AF_INET, access_point)
    except OSError:
        return "1"
    return "2"


class AuditTrail:
    """The append-only audit log in one folder, optionally forwarded to syslog."""

    def __init__(
        self,
        folder: Path,
        *,
        syslog_target: syslog.SyslogTarget | None = None,
        source_id: str | None = None,
    ) -> None:
        self.folder = folder
        self.syslog_target = syslog_target
        self.source_id = source_id or f"halong@{socket.gethostname()}"

    @classmethod
    def from_environment(cls, folder: Path) -> Self:
        """A trail forwarding to ``$HALONG_AUDIT_SYSLOG`` (``udp://HOST:PORT``) when set."""
        target = os.environ.get(SYSLOG_VARIABLE)
        return cls(folder, syslog_target=syslog.SyslogTarget.parse(target) if target else None)

    def record(self, event: AuditEvent) -> str:
        """Chain the event's message onto the log (durably), then forward it; return it."""
        month = f"{event.when.astimezone():%Y-%m}"
        message = audit_chain.append(self.folder, to_xml(event, self.source_id), month)
        if self.syslog_target is not None:
            try:
                syslog.send(self.syslog_target, syslog.format_message(message))
            except OSError as error:
                _log.warning("audit message kept locally, not forwarded to syslog: %s", error)
        return message

    def messages(self) -> Iterator[str]:
        """Every recorded message, oldest first."""
        for line in audit_chain.trail_lines(self.folder):
            if line.text.strip():
                yield line.text.decode("utf-8", errors="replace")


def current_user() -> str:
    """The operating-system account, the identity Halong has for its user."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _user(user: str | None) -> Participant:
    return Participant(user or current_user(), True, network_access_point=socket.gethostname())


def _patient(patient_id: str) -> ParticipantObject:
    return ParticipantObject(patient_id, 1, 1, ID_PATIENT_NUMBER)


def _study(study_uid: str, details: tuple[tuple[str, str], ...] = ()) -> ParticipantObject:
    return ParticipantObject(study_uid, 2, 3, ID_STUDY_INSTANCE_UID, details)


def _subjects(
    patient_ids: Iterable[str],
    study_uids: Iterable[str],
    study_details: tuple[tuple[str, str], ...] = (),
) -> tuple[ParticipantObject, ...]:
    """The patients and studies an event is about, each once."""
    patients = [_patient(p) for p in sorted(set(patient_ids)) if p]
    studies = [_study(s, study_details) for s in sorted(set(study_uids)) if s]
    return (*patients, *studies)


def record_study_opened(
    trail: AuditTrail, *, patient_id: str, study_uid: str, user: str | None = None
) -> str:
    """A user opened a study for viewing (110103 DICOM Instances Accessed, read)."""
    event = AuditEvent(
        DICOM_INSTANCES_ACCESSED, "R", (_user(user),), _subjects([patient_id], [study_uid])
    )
    return trail.record(event)


def record_report_signed(
    trail: AuditTrail,
    *,
    patient_id: str,
    study_uid: str,
    report_id: str,
    signer: str,
    amended: bool = False,
    outcome: Outcome = 0,
) -> str:
    """A physician signed a report (110110 Patient Record, Author's Signature)."""
    report = ParticipantObject(report_id, 2, 3, ID_REPORT_NUMBER)
    event = AuditEvent(
        PATIENT_RECORD,
        "U" if amended else "C",
        (_user(signer),),
        (*_subjects([patient_id], [study_uid]), report),
        event_types=(AUTHORS_SIGNATURE,),
        outcome=outcome,
    )
    return trail.record(event)


def record_transfer(
    trail: AuditTrail,
    *,
    source: str,
    destination: str,
    patient_ids: Sequence[str],
    study_uids: Sequence[str],
    sop_instance_count: int,
    receiver_had_them: bool = False,
    user: str | None = None,
    outcome: Outcome = 0,
) -> str:
    """DICOM instances went from ``source`` to ``destination`` (110104 Transferred).

    Action C when the receiver created copies, R when it already held them (PS3.15).
    """
    details = (("NumberOfInstances", str(sop_instance_count)),)
    event = AuditEvent(
        DICOM_INSTANCES_TRANSFERRED,
        "R" if receiver_had_them else "C",
        (
            _user(user),
            Participant(source, False, ROLE_SOURCE),
            Participant(destination, False, ROLE_DESTINATION),
        ),
        _subjects(patient_ids, study_uids, details),
        outcome=outcome,
    )
    return trail.record(event)


def record_export(
    trail: AuditTrail,
    *,
    destination: str,
    patient_id: str,
    study_uid: str = "",
    documents: Sequence[str] = (),
    user: str | None = None,
    outcome: Outcome = 0,
) -> str:
    """Data left Halong in a form other than DICOM instances (110106 Export).

    ``documents`` identifies what was exported (an MSH-10, a Bundle identifier, a file
    name), each as an RFC 3881 Report Number.
    """
    exported = [ParticipantObject(d, 2, 3, ID_REPORT_NUMBER) for d in documents]
    event = AuditEvent(
        EXPORT,
        "R",
        (_user(user), Participant(destination, False, ROLE_DESTINATION)),
        (*_subjects([patient_id], [study_uid]), *exported),
        outcome=outcome,
    )
    return trail.record(event)


def record_import(
    trail: AuditTrail,
    *,
    sources: Sequence[str | os.PathLike[str]],
    report: ImportReport,
    user: str | None = None,
) -> str:
    """Files were indexed into the local database (110107 Import, create; PS3.15 A.5.3.5).

    Each file, folder or archive read is a Source Media named by its ``file:`` URI; the
    counts are said in words. Outcome 4 (minor failure) when no usable image was found
    or the import was cancelled.
    """
    importer = Participant(
        user or current_user(), True, ROLE_DESTINATION, network_access_point=socket.gethostname()
    )
    media = tuple(
        Participant(Path(s).absolute().as_uri(), False, ROLE_SOURCE_MEDIA, media_type=MEDIA_URI)
        for s in sources
    )
    found = report.imported + report.already_indexed
    description = (
        f"{found} instances indexed ({report.imported} new, {report.already_indexed} already "
        f"indexed), {len(report.skipped)} files skipped{', cancelled' if report.cancelled else ''}"
    )
    event = AuditEvent(
        IMPORT,
        "C",
        (importer, *media),
        outcome=4 if report.cancelled or not found else 0,
        description=description,
    )
    return trail.record(event)


def record_query(trail: AuditTrail, *, source: str, query: str, user: str | None = None) -> str:
    """A PACS was searched (110112 Query); ``query`` is the search as text."""
    searched = ParticipantObject(source, 2, 24, ID_URI, query=query.encode("utf-8"))
    event = AuditEvent(
        QUERY, "E", (_user(user), Participant(source, False, ROLE_DESTINATION)), (searched,)
    )
    return trail.record(event)


def record_login(
    trail: AuditTrail, *, user: str, logout: bool = False, succeeded: bool = True
) -> str:
    """A user logged in or out (110114 User Authentication)."""
    event = AuditEvent(
        USER_AUTHENTICATION,
        "E",
        (_user(user),),
        event_types=(LOGOUT if logout else LOGIN,),
        outcome=0 if succeeded else 4,
    )
    return trail.record(event)


def record_application(trail: AuditTrail, *, stopped: bool = False) -> str:
    """Halong started or stopped (110100 Application Activity)."""
    application = Participant(
        "halong", False, ROLE_APPLICATION, socket.gethostname(), str(os.getpid())
    )
    event = AuditEvent(
        APPLICATION_ACTIVITY,
        "E",
        (application, _user(None)),
        event_types=(APPLICATION_STOP if stopped else APPLICATION_START,),
    )
    return trail.record(event)


SECURITY_ALERT = Code("110113", "DCM", "Security Alert")
NODE_AUTHENTICATION = Code("110126", "DCM", "Node Authentication")


def record_refused_peer(
    trail: AuditTrail, *, peer_ae: str, peer_address: str, receiver: str, reason: str
) -> str:
    """A DICOM peer was refused an association (110113 Security Alert, 110126 Node
    Authentication, minor failure): a spoofing attempt or a misconfigured node.

    The peer is the performing participant, ``receiver`` (Halong's AE title) the one that
    refused; the alert subject names the peer, with ``reason`` as its Alert Description.
    """
    subject = ParticipantObject(
        f"{peer_ae}@{peer_address}", 2, 13, ID_URI, (("Alert Description", reason),)
    )
    event = AuditEvent(
        SECURITY_ALERT,
        "E",
        (
            Participant(receiver, False, ROLE_DESTINATION, socket.gethostname()),
            Participant(peer_ae, True, ROLE_SOURCE, peer_address),
        ),
        (subject,),
        event_types=(NODE_AUTHENTICATION,),
        outcome=4,
    )
    return trail.record(event)


#: Local codes (PS3.15 allows them as EventTypeCode) for the steps of a critical-result
#: alert's closed loop: identified, notified, received, acknowledged, escalated.
CRITICAL_RESULT_SYSTEM = "99HALONG"


def record_critical_result(
    trail: AuditTrail,
    *,
    step: str,
    patient_id: str,
    study_uid: str,
    alert_id: str,
    user: str,
    description: str = "",
    outcome: Outcome = 0,
) -> str:
    """One step of a critical-result alert (110110 Patient Record): created (action C),
    or notified, received, acknowledged, escalated (U); ``user`` did it (a person, or the
    node for its own steps), ``step`` is the local event type, ``description`` the how."""
    alert = ParticipantObject(alert_id, 2, 3, ID_REPORT_NUMBER)
    event = AuditEvent(
        PATIENT_RECORD,
        "C" if step == "created" else "U",
        (_user(user),),
        (*_subjects([patient_id], [study_uid]), alert),
        event_types=(Code(f"critical-result-{step}", CRITICAL_RESULT_SYSTEM, f"Alert {step}"),),
        outcome=outcome,
        description=description,
    )
    return trail.record(event)
