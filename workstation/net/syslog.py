"""Forward audit messages to an audit record repository over syslog (RFC 5424).

DICOM PS3.15 A.7 (and IHE ATNA) carry each audit message as the MSG of one RFC 5424
syslog message: PRI ``<85>`` (facility 10 security/authorization, severity 5 notice),
MSGID ``DICOM+RFC3881``, the XML in UTF-8 after a byte order mark. Over UDP (RFC 5426)
one datagram is one message; over TCP the message is framed by its length (RFC 6587
octet counting, as RFC 5425 does over TLS). Forwarding is best effort: the local
append-only log in :mod:`~workstation.net.audit` is the record that must not fail.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from dataclasses import dataclass
from typing import Literal, Self
from urllib.parse import urlsplit

from workstation.net.destinations import DestinationError

PRI_SECURITY_NOTICE = 10 * 8 + 5
MSGID = "DICOM+RFC3881"
APP_NAME = "halong"
_BOM = "\ufeff".encode()


@dataclass(frozen=True)
class SyslogTarget:
    """Where audit messages are forwarded: ``udp://HOST:PORT`` or ``tcp://HOST:PORT``."""

    transport: Literal["udp", "tcp"]
    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> Self:
        parts = urlsplit(text.strip())
        try:
            port = parts.port
        except ValueError:
            port = None
        if parts.scheme not in ("udp", "tcp") or not parts.hostname or not port:
            raise DestinationError(f"{text!r} is not udp://HOST:PORT or tcp://HOST:PORT")
        return cls(parts.scheme, parts.hostname, port)  # type: ignore[arg-type]


def format_message(
    xml: str, *, hostname: str | None = None, when: dt.datetime | None = None
) -> bytes:
    """One RFC 5424 syslog message carrying ``xml``."""
    timestamp = (when or dt.datetime.now(dt.UTC)).astimezone().isoformat(timespec="milliseconds")
    host = (hostname or socket.gethostname() or "-")[:255].replace(" ", "_")
    header = f"<{PRI_SECURITY_NOTICE}>1 {timestamp} {host} {APP_NAME} {os.getpid()} {MSGID} - "
    return header.encode("ascii", "replace") + _BOM + xml.encode("utf-8")


def send(target: SyslogTarget, message: bytes, timeout_s: float = 2.0) -> None:
    """Send one formatted message; OSError when the repository cannot be reached."""
    address = (target.host, target.port)
    if target.transport == "udp":
        family = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_DGRAM)[0][0]
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.sendto(message, address)
        return
    with socket.create_connection(address, timeout=timeout_s) as sock:
        sock.sendall(f"{len(message)} ".encode() + message)
