"""E-mail through the durable outbox: a queued .eml reaches a real (aiosmtpd) server once;
a server that is down leaves it queued; a message without a Message-ID is refused."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest
from support.mail_server import MailServer
from support.orthanc_server import free_port

from workstation.net.delivery import deliver
from workstation.net.destinations import Destination
from workstation.net.outbox import Outbox
from workstation.net.payloads import PayloadError, collect_payloads


def _write(folder: Path, message_id: str | None = "<one@halong.test>") -> Path:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@test", "b@test", "hello"
    if message_id:
        message["Message-ID"] = message_id
    message.set_content("body")
    path = folder / "notice.eml"
    path.write_bytes(message.as_bytes())
    return path


def test_a_queued_email_is_delivered_once(tmp_path: Path) -> None:
    payloads = list(collect_payloads([_write(tmp_path)], {"email"}))
    assert [p.key for p in payloads] == ["<one@halong.test>"]
    with MailServer() as mail, Outbox.open(tmp_path / "outbox") as box:
        destination = Destination.smtp(mail.address)
        box.enqueue(destination, payloads)
        box.enqueue(destination, payloads)  # the same Message-ID is the same item
        report = deliver(box)
        assert len(report.delivered) == 1
        assert [to for to, _ in mail.messages] == [["b@test"]]
        assert mail.messages[0][1]["Subject"] == "hello"


def test_a_server_that_is_down_leaves_the_email_queued(tmp_path: Path) -> None:
    payloads = list(collect_payloads([_write(tmp_path)], {"email"}))
    with Outbox.open(tmp_path / "outbox") as box:
        box.enqueue(Destination.smtp(f"127.0.0.1:{free_port()}"), payloads)
        report = deliver(box)
        assert report.delivered == [] and len(report.failed_attempts) == 1
        (item,) = box.items()
        assert item.status == "pending" and "SMTP" in item.last_error


def test_an_email_without_message_id_cannot_be_queued(tmp_path: Path) -> None:
    with pytest.raises(PayloadError, match="Message-ID"):
        list(collect_payloads([_write(tmp_path, None)], {"email"}))
