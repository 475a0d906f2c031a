"""What Halong sends, recognised from files: DICOM objects, FHIR Bundles, HL7 v2 messages.

Each payload carries its idempotency key, the identity the receiver already uses to
tell one object from another: the SOP Instance UID of a DICOM object, the identifier
of a FHIR Bundle (its SHA-256 when it has none), the Message Control ID (MSH-10) of an
HL7 message. The outbox refuses a second, different payload under the same key.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pydicom
from pydicom.errors import InvalidDicomError

from workstation.net import hl7v2
from workstation.net.destinations import DestinationKind
from workstation.net.fhir_bundles import (
    FhirBundleError,
    bundle_key,
    bundle_patient_id,
    bundle_study_uid,
    check_resendable,
    load_bundle,
)
from workstation.net.smtp import EmailFormatError, parse_message

PayloadKind = Literal["dicom", "fhir-bundle", "hl7v2", "email"]
#: Which payloads each kind of destination takes.
ACCEPTED_BY: dict[DestinationKind, PayloadKind] = {
    "dimse": "dicom",
    "dicomweb": "dicom",
    "fhir": "fhir-bundle",
    "mllp": "hl7v2",
    "smtp": "email",
}


class PayloadError(ValueError):
    """A file that was meant to be sent but cannot be; the message says why."""


@dataclass(frozen=True)
class Payload:
    """One file to send, its idempotency key, and the identities the audit trail needs."""

    kind: PayloadKind
    path: Path
    key: str
    meta: dict[str, str] = field(default_factory=dict)


def sniff(path: Path) -> PayloadKind | None:
    """Which kind of payload ``path`` holds, from its first bytes; None for other files."""
    with open(path, "rb") as file:
        head = file.read(132)
    if head[128:132] == b"DICM":
        return "dicom"
    if head.startswith(b"MSH"):
        return "hl7v2"
    if path.suffix.lower() == ".eml":
        return "email"
    if path.suffix.lower() == ".json" and head.lstrip().startswith(b"{"):
        try:
            document = json.loads(path.read_bytes())
        except (UnicodeDecodeError, json.JSONDecodeError):
            return None
        if isinstance(document, dict) and document.get("resourceType") == "Bundle":
            return "fhir-bundle"
    return None


def read_payload(path: Path, kind: PayloadKind) -> Payload:
    """The payload of a file :func:`sniff` recognised, or PayloadError."""
    return _READERS[kind](path)


def collect_payloads(paths: Iterable[Path], kinds: Collection[PayloadKind]) -> Iterator[Payload]:
    """Every payload of ``kinds`` in ``paths``: folders are walked recursively in name order,
    other files skipped; a file named on its own must be a payload of one of ``kinds``."""
    for path in paths:
        if path.is_dir():
            for folder, subfolders, names in os.walk(path):
                subfolders.sort()
                for name in sorted(names):
                    file = Path(folder) / name
                    kind = sniff(file)
                    if kind in kinds:
                        yield read_payload(file, kind)
        else:
            kind = sniff(path)
            if kind not in kinds:
                wanted = ", ".join(sorted(kinds))
                raise PayloadError(f"{path}: not a payload for the destinations given ({wanted})")
            yield read_payload(path, kind)


def _dicom(path: Path) -> Payload:
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
    except (InvalidDicomError, OSError, ValueError, EOFError) as error:
        raise PayloadError(f"{path}: unreadable DICOM file ({error})") from error
    key = str(ds.get("SOPInstanceUID", ""))
    meta = {
        "sop_class_uid": str(ds.file_meta.get("MediaStorageSOPClassUID", "")),
        "transfer_syntax_uid": str(ds.file_meta.get("TransferSyntaxUID", "")),
        "study_uid": str(ds.get("StudyInstanceUID", "")),
        "series_uid": str(ds.get("SeriesInstanceUID", "")),
    }
    missing = [name for name, value in {"SOP Instance UID": key, **meta}.items() if not value]
    if missing:
        raise PayloadError(f"{path}: cannot be sent without {', '.join(missing)}")
    if str(ds.file_meta.get("MediaStorageSOPInstanceUID", "")) != key:
        raise PayloadError(f"{path}: the file meta names another SOP Instance UID")
    meta["patient_id"] = str(ds.get("PatientID", ""))
    return Payload("dicom", path, key, meta)


def _fhir(path: Path) -> Payload:
    data = path.read_bytes()
    try:
        bundle = load_bundle(data)
        check_resendable(bundle)
    except FhirBundleError as error:
        raise PayloadError(f"{path}: {error}") from error
    key = bundle_key(bundle) or "sha256:" + hashlib.sha256(data).hexdigest()
    meta = {"patient_id": bundle_patient_id(bundle), "study_uid": bundle_study_uid(bundle)}
    return Payload("fhir-bundle", path, key, meta)


def _hl7(path: Path) -> Payload:
    message = path.read_bytes()
    try:
        key = hl7v2.control_id(message)
        parsed = hl7v2.segments(message)
    except hl7v2.Hl7FormatError as error:
        raise PayloadError(f"{path}: {error}") from error
    patient_id = hl7v2.first_component(hl7v2.field(parsed, "PID", 3), parsed)
    return Payload("hl7v2", path, key, {"patient_id": patient_id})


def _email(path: Path) -> Payload:
    """An e-mail names no patient (its sender audits what it was about)."""
    try:
        message = parse_message(path.read_bytes())
    except EmailFormatError as error:
        raise PayloadError(f"{path}: {error}") from error
    return Payload("email", path, str(message["Message-ID"]))


_READERS: dict[PayloadKind, Callable[[Path], Payload]] = {
    "dicom": _dicom,
    "fhir-bundle": _fhir,
    "hl7v2": _hl7,
    "email": _email,
}
