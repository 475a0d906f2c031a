"""The hash chain that makes the audit trail tamper-evident, and appending to it safely.

Every record (one line of ``audit-YYYY-MM.log``) ends with one more participant object,
its *link*, written exactly so (on one line)::

    <ParticipantObjectIdentification ParticipantObjectID="ni:///sha-256;PREVIOUS"
        ParticipantObjectTypeCode="2" ParticipantObjectTypeCodeRole="13">
      <ParticipantObjectIDTypeCode csd-code="12" codeSystemName="RFC-3881" originalText="URI" />
      <ParticipantObjectName>previous audit record</ParticipantObjectName>
      <ParticipantObjectDetail type="RecordNumber" value="base64 of N" />
      <ParticipantObjectDetail type="RecordSHA256" value="base64 of SEAL" />
    </ParticipantObjectIdentification>

- the object is the previous record (a system object, role 13 *Security Resource*), named
  by its seal as an RFC 6920 named-information URI (base64url, no padding); the first
  record of all names :data:`GENESIS`, 32 zero bytes;
- ``RecordNumber`` counts the records from 1, across the monthly files;
- ``RecordSHA256``, the record's *seal*, is the SHA-256 of its own line (UTF-8, without
  the newline) with the seal's value written as the base64 of 32 zero bytes.

Why there: the DICOM audit schema (PS3.15 A.5.1) admits any number of participant objects
with value pairs but no attributes of our own, so each line stays a valid audit message
that any audit repository reads, and the syslog copy carries the chain too.

The seal makes every record checkable on its own, so an edited byte is found where it is,
even in the newest record that no later one names; the link and the number find deleted,
inserted and reordered records. The *chain head* (``chain-head.json``: the number and seal
of the newest record) finds the newest records cut off. Appending holds an exclusive
``flock`` on ``audit.lock`` while it reads the newest record, appends and rewrites the
head, so two Halong processes keep one chain. A record never goes into a file older than
the newest one, so the files sorted by name are the chain's order.

A chain without a key shows damage, not who did it: whoever can rewrite these files can
rebuild the whole chain. The copies forwarded to syslog, and the seal ``halong audit
verify`` prints, hold it elsewhere.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

GENESIS = bytes(32)
LOG_PATTERN = "audit-*.log"
HEAD_FILE = "chain-head.json"
LOCK_FILE = "audit.lock"
LOCK_TIMEOUT_S = 10.0
_TAIL_CHUNK = 64 * 1024
_END = "</AuditMessage>"
_UNSEALED = base64.b64encode(GENESIS).decode("ascii")
_LINK = (
    '<ParticipantObjectIdentification ParticipantObjectID="ni:///sha-256;{previous}" '
    'ParticipantObjectTypeCode="2" ParticipantObjectTypeCodeRole="13">'
    '<ParticipantObjectIDTypeCode csd-code="12" codeSystemName="RFC-3881" originalText="URI" />'
    "<ParticipantObjectName>previous audit record</ParticipantObjectName>"
    '<ParticipantObjectDetail type="RecordNumber" value="{number}" />'
    '<ParticipantObjectDetail type="RecordSHA256" value="{seal}" />'
    "</ParticipantObjectIdentification>" + _END
)
_FIELDS = {
    "previous": "[A-Za-z0-9_-]{43}",
    "number": "[A-Za-z0-9+/]+={0,2}",
    "seal": "[A-Za-z0-9+/]{43}=",
}


def _link_pattern() -> re.Pattern[bytes]:
    """The link's layout (:data:`_LINK`) as a pattern anchored at the end of a line."""
    pattern = re.escape(_LINK)
    for name, field in _FIELDS.items():
        pattern = pattern.replace(re.escape(f"{{{name}}}"), f"(?P<{name}>{field})")
    return re.compile(pattern.encode("ascii") + rb"\Z")


_LINK_AT_END = _link_pattern()


class BrokenRecord(ValueError):
    """A line that is not an intact chained record; the message says what is wrong."""


class AuditTrailBusy(OSError):
    """Another process held the audit trail's lock for too long."""


@dataclass(frozen=True)
class Link:
    """Where a record stands in the chain."""

    number: int
    previous: bytes  # the seal of the record before it (GENESIS for the first)
    seal: bytes


@dataclass(frozen=True)
class TrailLine:
    """One line of a monthly file, as stored."""

    file: str
    line: int  # from 1
    text: bytes  # without the newline
    terminated: bool  # whether a newline ends it


@dataclass(frozen=True)
class Head:
    """The newest record when the chain was last appended to."""

    records: int
    seal: bytes


def _digest(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _link_text(number: int, previous: bytes, seal: str) -> str:
    return _LINK.format(
        previous=base64.urlsafe_b64encode(previous).decode("ascii").rstrip("="),
        number=base64.b64encode(str(number).encode("ascii")).decode("ascii"),
        seal=seal,
    )


def seal(message: str, number: int, previous: bytes) -> tuple[str, Link]:
    """``message`` (one audit message on one line) as record ``number`` after ``previous``."""
    if not message.endswith(_END):
        raise ValueError("not an audit message")
    body = message.removesuffix(_END)
    digest = _digest((body + _link_text(number, previous, _UNSEALED)).encode("utf-8"))
    line = body + _link_text(number, previous, base64.b64encode(digest).decode("ascii"))
    return line, Link(number, previous, digest)


def read_link(text: bytes) -> Link:
    """The link of one stored line, after checking its seal."""
    match = _LINK_AT_END.search(text)
    if match is None:
        raise BrokenRecord("it does not end with a chain link (cut short, or edited)")
    start, end = match.span("seal")
    stated = base64.b64decode(match["seal"])
    if _digest(text[:start] + _UNSEALED.encode("ascii") + text[end:]) != stated:
        raise BrokenRecord("its content does not match its SHA-256 seal")
    try:
        number = int(base64.b64decode(match["number"], validate=True).decode("ascii"))
    except ValueError as error:
        raise BrokenRecord("its record number is unreadable") from error
    previous = base64.urlsafe_b64decode(match["previous"] + b"=")
    return Link(number, previous, stated)


def trail_files(folder: Path) -> list[Path]:
    """The monthly files, oldest first (their names sort by month)."""
    return sorted(folder.glob(LOG_PATTERN))


def trail_lines(folder: Path) -> Iterator[TrailLine]:
    """Every stored line of the trail, in the chain's order."""
    for path in trail_files(folder):
        with open(path, "rb") as file:
            for number, text in enumerate(file, start=1):
                terminated = text.endswith(b"\n")
                yield TrailLine(path.name, number, text.removesuffix(b"\n"), terminated)


def read_head(folder: Path) -> Head | None:
    """The chain head, or None when there is none; :class:`BrokenRecord` if unreadable."""
    try:
        document = json.loads((folder / HEAD_FILE).read_bytes())
        return Head(int(document["records"]), bytes.fromhex(document["sha256"]))
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError) as error:
        raise BrokenRecord(f"{HEAD_FILE} is unreadable") from error


def append(folder: Path, message: str, month: str) -> str:
    """Seal ``message`` as the next record and append it to ``audit-{month}.log`` (or to a
    newer file if one exists); durable when this returns. Returns the line written."""
    folder.mkdir(parents=True, exist_ok=True)
    with _locked(folder):
        files = trail_files(folder)
        target = folder / f"audit-{month}.log"
        if files and files[-1].name > target.name:
            target = files[-1]
        previous, number = _chain_end(folder, files)
        line, link = seal(message, number + 1, previous)
        _append_line(target, line)
        _write_head(folder, Head(link.number, link.seal))
    return line


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Hold the trail's exclusive lock (released by the kernel if the process dies)."""
    descriptor = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + LOCK_TIMEOUT_S
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise AuditTrailBusy(
                        f"the audit trail in {folder} stayed locked by another process"
                    ) from None
                time.sleep(0.005)
        yield
    finally:
        os.close(descriptor)


def _chain_end(folder: Path, files: list[Path]) -> tuple[bytes, int]:
    """The seal and number the next record follows.

    The number continues after the head's when the head is ahead of the files (records
    were cut off), so the gap stays visible. A damaged newest line is chained by its
    plain SHA-256: recording goes on, and ``verify`` still names the damage.
    """
    try:
        head = read_head(folder)
    except BrokenRecord:
        head = None
    head_records = head.records if head else 0
    last = _newest_line(files)
    if last is None:
        return GENESIS, head_records
    try:
        link = read_link(last)
    except BrokenRecord:
        lines = sum(1 for _ in trail_lines(folder))
        return _digest(last), max(head_records, lines)
    return link.seal, max(head_records, link.number)


def _newest_line(files: list[Path]) -> bytes | None:
    for path in reversed(files):
        line = _last_line(path)
        if line is not None:
            return line
    return None


def _last_line(path: Path) -> bytes | None:
    """The file's last line (without its newline), read from the end; None if empty."""
    with open(path, "rb") as file:
        position = file.seek(0, os.SEEK_END)
        tail = b""
        while position > 0:
            step = min(_TAIL_CHUNK, position)
            position -= step
            file.seek(position)
            tail = file.read(step) + tail
            content = tail.removesuffix(b"\n")
            if b"\n" in content:
                return content.rsplit(b"\n", 1)[1]
        content = tail.removesuffix(b"\n")
        return content if tail else None


def _append_line(path: Path, line: str) -> None:
    """Append with ``O_APPEND`` and fsync; a line cut short before stays a line of its own."""
    descriptor = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        size = os.fstat(descriptor).st_size
        unterminated = size > 0 and os.pread(descriptor, 1, size - 1) != b"\n"
        data = ("\n" if unterminated else "") + line + "\n"
        os.write(descriptor, data.encode("utf-8"))
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _write_head(folder: Path, head: Head) -> None:
    """Replace the head atomically, then make the folder's entries (a new month's file
    and the head) durable."""
    temporary = folder / f"{HEAD_FILE}.tmp"
    document = json.dumps({"records": head.records, "sha256": head.seal.hex()})
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(descriptor, document.encode("ascii") + b"\n")
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    os.replace(temporary, folder / HEAD_FILE)
    directory = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
