"""``halong node user add``, ``halong node token`` and ``halong node alerts``: accounts
with Argon2id hashes (the password asked for on a real terminal, never echoed), tokens
shown once and kept hashed, and the alert settings."""

from __future__ import annotations

import hashlib
import os
import pty
import select
import sqlite3
import sys
from pathlib import Path

from argon2 import PasswordHasher

from workstation.node.accounts import authenticate, token_owner
from workstation.node.alert_settings import load_settings

PASSWORD = "a long passphrase"


def _rows(database: Path, query: str) -> list[tuple]:
    with sqlite3.connect(database) as db:
        return db.execute(query).fetchall()


def _add(halong, name: str, role: str, password_file: Path):
    return halong("node", "user", "add", name, "--role", role, "--password-file", password_file)


def _file_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def test_user_add_keeps_only_an_argon2_hash(halong, halong_home: Path, tmp_path: Path) -> None:
    secret = tmp_path / "password.txt"
    secret.write_text(PASSWORD + "\n")
    run = _add(halong, "dr-a", "physician", secret)
    assert run.status == 0, run.err
    assert PASSWORD not in run.out + run.err
    database = halong_home / "node" / "node.sqlite"
    ((name, role, digest),) = _rows(database, "SELECT name, role, password_hash FROM node_users")
    assert (name, role) == ("dr-a", "physician")
    assert digest.startswith("$argon2id$") and PasswordHasher().verify(digest, PASSWORD)
    assert PASSWORD.encode() not in _file_bytes(halong_home / "node")
    assert authenticate(database, "dr-a", PASSWORD, 0.0) is not None
    assert authenticate(database, "dr-a", PASSWORD + "x", 0.0) is None

    again = _add(halong, "dr-a", "observer", secret)
    assert again.status == 2 and again.err.strip() == (
        "halong node: error: a user named 'dr-a' exists already"
    )
    short = tmp_path / "short.txt"
    short.write_text("2short\n")
    refused = _add(halong, "dr-b", "physician", short)
    assert refused.status == 2 and "at least 10 characters" in refused.err
    missing = _add(halong, "dr-c", "physician", tmp_path / "no")
    assert missing.status == 2 and len(missing.err.strip().splitlines()) == 1
    assert "cannot read the password file" in missing.err


def test_the_password_is_asked_for_without_echo(halong_home: Path) -> None:
    """On a real terminal: typed twice, never shown, never in the output."""
    pid, terminal = pty.fork()
    if pid == 0:  # the child: halong on the terminal
        os.execv(
            sys.executable,
            [
                sys.executable,
                "-m",
                "workstation.cli",
                "--home",
                str(halong_home),
                "node",
                "user",
                "add",
                "dr-t",
                "--role",
                "observer",
            ],
        )
    shown = b""

    def read_until(text: bytes) -> None:
        nonlocal shown
        while text not in shown:
            ready, _, _ = select.select([terminal], [], [], 60)
            assert ready, shown
            shown += os.read(terminal, 1024)

    read_until(b"Password for dr-t: ")
    os.write(terminal, PASSWORD.encode() + b"\n")
    read_until(b"Again: ")
    os.write(terminal, PASSWORD.encode() + b"\n")
    read_until(b"user dr-t added (observer)")
    _, status = os.waitpid(pid, 0)
    os.close(terminal)
    assert os.waitstatus_to_exitcode(status) == 0
    assert PASSWORD.encode() not in shown
    database = halong_home / "node" / "node.sqlite"
    assert authenticate(database, "dr-t", PASSWORD, 0.0).role == "observer"


def test_a_token_is_shown_once_and_kept_as_its_hash(halong, halong_home: Path) -> None:
    first = halong("node", "token", "pager")
    assert first.status == 0
    token = first.out.strip()
    assert len(token) >= 40 and "shown this once" in first.err
    database = halong_home / "node" / "node.sqlite"
    assert token_owner(database, token) == "pager"
    ((stored,),) = _rows(database, "SELECT token_sha256 FROM node_api_tokens")
    assert stored == hashlib.sha256(token.encode()).hexdigest()
    assert token.encode() not in _file_bytes(halong_home / "node")
    second = halong("node", "token", "pager").out.strip()
    assert second != token
    assert token_owner(database, token) is None  # a new token for a name replaces the old
    assert token_owner(database, second) == "pager"
    assert halong("node", "token", "no spaces").status == 2


def test_alert_settings(halong, halong_home: Path, tmp_path: Path) -> None:
    secret = tmp_path / "password.txt"
    secret.write_text(PASSWORD)
    for name in ("dr-a", "dr-b"):
        assert _add(halong, name, "physician", secret).status == 0
    run = halong(
        "node",
        "alerts",
        "--on-call",
        "dr-a,dr-b",
        "--acknowledge-within",
        "5",
        "--fhir",
        "http://emr.test/fhir",
        "--smtp",
        "127.0.0.1:2525",
        "--mail-from",
        "node@hospital.test",
        "--page-url",
        "https://node.test",
    )
    assert run.status == 0, run.err
    settings = load_settings(halong_home / "node" / "node.sqlite")
    assert settings.on_call == ("dr-a", "dr-b") and settings.acknowledge_within_s == 300
    assert settings.fhir.address == "http://emr.test/fhir"
    assert (settings.smtp.kind, settings.smtp.address) == ("smtp", "127.0.0.1:2525")
    assert settings.mail_from == "node@hospital.test"
    unknown = halong("node", "alerts", "--on-call", "dr-a,dr-nobody")
    assert unknown.status == 2 and "not a user: dr-nobody" in unknown.err
    bad_rules = tmp_path / "rules.json"
    bad_rules.write_text("{")
    refused = halong("node", "alerts", "--rules", bad_rules)
    assert refused.status == 2 and "not valid JSON" in refused.err
    assert load_settings(halong_home / "node" / "node.sqlite").rules_file is None
