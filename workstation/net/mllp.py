"""HL7 v2 over MLLP: frame a message, send it, and wait for the receiver's ACK.

An item counts as delivered only when an ACK arrives whose MSA-2 names our MSH-10 and
whose code accepts it. HL7 v2 has no way to ask a receiver whether it already holds a
message, so a resend after a crash relies on the receiver recognising the repeated
MSH-10: the Message Control ID identifies the message uniquely.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

from workstation.net.destinations import HostPort
from workstation.net.errors import RejectedError, TransientError
from workstation.net.hl7v2 import Hl7FormatError, control_id, normalise, parse_ack

if TYPE_CHECKING:
    from workstation.net.outbox import OutboxItem

START_BLOCK = b"\x0b"
END_BLOCK = b"\x1c\x0d"
DEFAULT_TIMEOUT_S = 30.0
_MAX_ACK_BYTES = 1 << 20


def frame(message: bytes) -> bytes:
    """``<VT> message <FS><CR>``: the MLLP block around one message."""
    return START_BLOCK + message + END_BLOCK


class MllpSender:
    """Sends queued HL7 messages to one listener over one kept-open connection."""

    def __init__(self, endpoint: HostPort, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.endpoint = endpoint
        self.timeout_s = timeout_s
        self._socket: socket.socket | None = None

    def already_delivered(self, item: OutboxItem) -> bool:
        """Unknowable over HL7 v2: always resend, the receiver matches the MSH-10."""
        return False

    def send(self, item: OutboxItem) -> None:
        message = normalise(item.read_payload())
        expected = control_id(message)
        try:
            answer = self._exchange(frame(message))
        except OSError as error:
            self.close()
            raise TransientError(f"MLLP {self.endpoint}: {error.strerror or error}") from error
        try:
            ack = parse_ack(answer)
        except Hl7FormatError as error:
            raise TransientError(f"MLLP {self.endpoint}: unreadable ACK ({error})") from error
        if ack.control_id != expected:
            self.close()
            raise TransientError(f"MLLP {self.endpoint}: the ACK is for another message")
        if ack.accepted:
            return
        reason = f"MLLP {self.endpoint}: {ack.code} {ack.text}".rstrip()
        if ack.retryable:
            raise TransientError(reason)
        raise RejectedError(reason)

    def _exchange(self, block: bytes) -> bytes:
        """Send one block and read the answer block; OSError on any network trouble."""
        if self._socket is None:
            address = (self.endpoint.host, self.endpoint.port)
            self._socket = socket.create_connection(address, timeout=self.timeout_s)
        self._socket.sendall(block)
        received = bytearray()
        while END_BLOCK not in received:
            chunk = self._socket.recv(65536)
            if not chunk:
                raise ConnectionResetError("the listener closed the connection before its ACK")
            received += chunk
            if len(received) > _MAX_ACK_BYTES:
                raise ConnectionAbortedError("the ACK is too long")
        start = received.find(START_BLOCK)
        return bytes(received[start + 1 : received.index(END_BLOCK)])

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
