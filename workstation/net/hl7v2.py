"""The little of HL7 v2 that sending needs: segments, a field, the control ID, an ACK.

Messages are built elsewhere (``workstation.reporting``) and sent as they are; here we
only read the Message Control ID (MSH-10, the idempotency key), the patient ID for the
audit trail, and the acknowledgment code. Segments end with a carriage return as the
standard says; files written with newlines are read the same.
"""

from __future__ import annotations

from dataclasses import dataclass


class Hl7FormatError(ValueError):
    """Not an HL7 v2 message in ER7 encoding."""


def normalise(message: bytes) -> bytes:
    """Segments joined by CR, as MLLP receivers expect, whatever the file's line ends."""
    lines = message.replace(b"\r\n", b"\r").replace(b"\n", b"\r").split(b"\r")
    return b"\r".join(line for line in lines if line.strip()) + b"\r"


def segments(message: bytes) -> list[list[str]]:
    """Each segment as its fields; index ``n`` is field ``n`` (MSH counts its separator)."""
    text = normalise(message).decode("utf-8", "replace")
    if not text.startswith("MSH") or len(text) < 8:
        raise Hl7FormatError("an HL7 v2 message starts with an MSH segment")
    separator = text[3]
    result = []
    for line in filter(None, text.split("\r")):
        fields = line.split(separator)
        if fields[0] == "MSH":  # MSH-1 is the separator itself
            fields.insert(1, separator)
        result.append(fields)
    return result


def field(message_segments: list[list[str]], segment: str, number: int) -> str:
    """The first ``segment``'s field ``number`` (empty when absent)."""
    for fields in message_segments:
        if fields[0] == segment:
            return fields[number] if number < len(fields) else ""
    return ""


def first_component(value: str, message_segments: list[list[str]]) -> str:
    """The part of a field before its first component separator (MSH-2's first character)."""
    separator = field(message_segments, "MSH", 2)[:1] or "^"
    return value.split(separator, 1)[0]


def control_id(message: bytes) -> str:
    """MSH-10, the Message Control ID; required, since it is the idempotency key."""
    value = field(segments(message), "MSH", 10).strip()
    if not value:
        raise Hl7FormatError("the message has no Message Control ID (MSH-10)")
    return value


@dataclass(frozen=True)
class Acknowledgment:
    """MSA-1 and MSA-2 of an ACK, and the error text the receiver gave, if any."""

    code: str
    control_id: str
    text: str

    @property
    def accepted(self) -> bool:
        return self.code in ("AA", "CA")

    @property
    def retryable(self) -> bool:
        """AR/CR: rejected for reasons unrelated to content (e.g. receiver busy or down)."""
        return self.code in ("AR", "CR")


def parse_ack(message: bytes) -> Acknowledgment:
    """The acknowledgment in an ACK message, or Hl7FormatError."""
    parsed = segments(message)
    code = field(parsed, "MSA", 1).strip()
    if not code:
        raise Hl7FormatError("the answer has no MSA segment")
    text = field(parsed, "MSA", 3) or field(parsed, "ERR", 8)
    return Acknowledgment(code, field(parsed, "MSA", 2).strip(), text)
