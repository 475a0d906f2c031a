"""E-mail over SMTP as an outbox destination: queued RFC 5322 messages, sent once.

A message is queued as a ``.eml`` file whose Message-ID is its idempotency key. SMTP
cannot be asked whether a message arrived, so a resend after a crash may deliver a
second copy; it carries the same Message-ID, by which mail programs recognise it.
The password, like every secret the outbox knows of, is only a file's path: read at
the moment of use, never stored or logged. STARTTLS verifies the server's certificate
and name the way every Halong TLS connection does (:mod:`~workstation.net.tls`).
"""

from __future__ import annotations

import email
import email.policy
import smtplib
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Self

from workstation.net import tls
from workstation.net.destinations import HostPort, TlsFiles
from workstation.net.errors import RejectedError, TransientError

if TYPE_CHECKING:
    from workstation.net.outbox import OutboxItem

DEFAULT_TIMEOUT_S = 30.0


class EmailFormatError(ValueError):
    """Not a message that can be queued for SMTP; says why."""


def parse_message(data: bytes) -> EmailMessage:
    """An RFC 5322 message with a Message-ID, a sender and at least one recipient."""
    message = email.message_from_bytes(data, policy=email.policy.SMTP)
    assert isinstance(message, EmailMessage)  # policy.SMTP builds EmailMessage objects
    missing = [name for name in ("Message-ID", "From", "To") if not message.get(name)]
    if missing:
        raise EmailFormatError(f"an e-mail to queue needs {', '.join(missing)}")
    return message


@dataclass(frozen=True)
class SmtpEndpoint:
    """A mail server and how to talk to it: STARTTLS, and optionally a login."""

    server: HostPort
    starttls: bool = False
    user: str = ""
    password_file: Path | None = None
    tls: TlsFiles = field(default_factory=TlsFiles)

    def options(self) -> dict[str, str]:
        """Non-secret settings for the outbox (the password stays in its file)."""
        options = {"starttls": "1"} if self.starttls else {}
        if self.user:
            options["user"] = self.user
        if self.password_file:
            options["password_file"] = str(Path(self.password_file).absolute())
        return options | self.tls.options()

    @classmethod
    def from_options(cls, address: str, options: Mapping[str, str]) -> Self:
        password = options.get("password_file")
        return cls(
            HostPort.parse(address),
            options.get("starttls") == "1",
            options.get("user", ""),
            Path(password) if password else None,
            TlsFiles.from_options(options),
        )


class SmtpSender:
    """Sends queued e-mails to one server over one kept-open connection."""

    def __init__(self, endpoint: SmtpEndpoint, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.endpoint = endpoint
        self.timeout_s = timeout_s
        self._client: smtplib.SMTP | None = None

    def already_delivered(self, item: OutboxItem) -> bool:
        """Unknowable over SMTP: a resend carries the same Message-ID."""
        return False

    def send(self, item: OutboxItem) -> None:
        what = f"SMTP {self.endpoint.server}"
        try:
            message = parse_message(item.read_payload())
        except EmailFormatError as error:
            raise RejectedError(f"{what}: {error}") from error
        try:
            refused = self._connected().send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            raise RejectedError(f"{what}: every recipient was refused") from error
        except smtplib.SMTPResponseException as error:
            self.close()
            reason = f"{what}: {error.smtp_code} {_text(error.smtp_error)}"
            permanent = 500 <= error.smtp_code < 600
            raise (RejectedError if permanent else TransientError)(reason) from error
        except (smtplib.SMTPException, OSError) as error:
            self.close()
            raise TransientError(f"{what}: {error}") from error
        if refused:
            raise RejectedError(f"{what}: refused {', '.join(sorted(refused))}")

    def _connected(self) -> smtplib.SMTP:
        if self._client is None:
            endpoint, server = self.endpoint, self.endpoint.server
            client = smtplib.SMTP(server.host, server.port, timeout=self.timeout_s)
            try:
                if endpoint.starttls:
                    client.starttls(context=tls.client_context(endpoint.tls))
                if endpoint.user:
                    client.login(endpoint.user, _password(endpoint.password_file))
            except BaseException:
                client.close()
                raise
            self._client = client
        return self._client

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.quit()
            except (smtplib.SMTPException, OSError):
                self._client.close()
            self._client = None


def _password(path: Path | None) -> str:
    if path is None:
        raise TransientError("an SMTP login needs a password file")
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise TransientError(f"cannot read the SMTP password file {path}: {error}") from error


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
