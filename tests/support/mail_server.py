"""A local SMTP server (aiosmtpd) on loopback that keeps every message it accepts."""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass, field
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from support.orthanc_server import free_port


@dataclass
class _Keeper:
    messages: list[tuple[list[str], EmailMessage]] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


class MailServer:
    """``with MailServer() as mail:`` an SMTP server at ``mail.address`` (HOST:PORT)."""

    def __init__(self) -> None:
        self._keeper = _Keeper()
        self._controller = Controller(self._keeper, hostname="127.0.0.1", port=free_port())

    @property
    def messages(self) -> list[tuple[list[str], EmailMessage]]:
        """(envelope recipients, message) of everything accepted, in order."""
        return self._keeper.messages

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self._controller.port}"

    def __enter__(self) -> MailServer:
        self._controller.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._controller.stop()
