"""The node's people and programs: per-user accounts for the web page, tokens for the API.

Passwords are kept only as Argon2id hashes (argon2-cffi's defaults, RFC 9106), and a
run of failed logins locks the account for a while, so a guessed password takes
ages. API tokens are 256-bit random strings shown once; only their SHA-256 is kept
(a hash that fast is safe for a secret that random, and lets a request be checked in
microseconds). A new token for a name replaces the old one.

Roles: ``physician`` sees and acknowledges alerts; ``observer`` only sees them.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from workstation.node.database import Tables, opened, transaction
from workstation.node.roles import ACKNOWLEDGING_ROLES, ROLES

MIN_PASSWORD_LENGTH = 10
#: Failed logins in a row that lock an account, and for how long.
LOCK_AFTER_FAILURES = 5
LOCK_FOR_S = 300.0
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_HASHER = PasswordHasher()
#: Verified against when the user is unknown, so a wrong name costs what a wrong password does.
_DUMMY_HASH = _HASHER.hash(secrets.token_hex(16))

_SCHEMA = """
CREATE TABLE IF NOT EXISTS node_users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    email TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until REAL NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS node_api_tokens (
    name TEXT PRIMARY KEY,
    token_sha256 TEXT NOT NULL UNIQUE,
    created_at REAL NOT NULL
);
"""
TABLES = Tables("accounts", 1, _SCHEMA)


class AccountError(ValueError):
    """An account or token cannot be made as asked; the message says why."""


@dataclass(frozen=True)
class User:
    name: str
    role: str
    email: str

    @property
    def can_acknowledge(self) -> bool:
        return self.role in ACKNOWLEDGING_ROLES


def check_name(name: str) -> str:
    """A user or token name: letters, digits and ``._@-``, 1-64 characters."""
    if not _NAME.match(name):
        raise AccountError(
            f"{name!r} is not a valid name (letters, digits and . _ @ -, up to 64 characters)"
        )
    return name


def add_user(database: Path, name: str, role: str, password: str, email: str = "") -> User:
    """Create an account; refused for a taken name, an unknown role or a short password."""
    check_name(name)
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}: one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    if email and ("@" not in email or any(c.isspace() for c in email)):
        raise AccountError(f"{email!r} is not an e-mail address")
    digest = _HASHER.hash(password)
    with opened(database, TABLES) as db, transaction(db):
        try:
            db.execute(
                "INSERT INTO node_users (name, role, password_hash, email, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (name, role, digest, email, time.time()),
            )
        except sqlite3.IntegrityError:
            raise AccountError(f"a user named {name!r} exists already") from None
    return User(name, role, email)


def find_user(database: Path, name: str) -> User | None:
    with opened(database, TABLES) as db:
        row = db.execute("SELECT name, role, email FROM node_users WHERE name = ?", (name,))
        found = row.fetchone()
    return User(found["name"], found["role"], found["email"]) if found else None


def authenticate(database: Path, name: str, password: str, now: float) -> User | None:
    """The user when ``password`` is theirs and the account is not locked; else None."""
    with opened(database, TABLES) as db:
        row = db.execute("SELECT * FROM node_users WHERE name = ?", (name,)).fetchone()
        if row is None:
            _verify(_DUMMY_HASH, password)
            return None
        if row["locked_until"] > now:
            _verify(_DUMMY_HASH, password)
            return None
        good = _verify(row["password_hash"], password)
        with transaction(db):
            if good:
                db.execute("UPDATE node_users SET failed_logins = 0 WHERE name = ?", (name,))
            else:
                failures = row["failed_logins"] + 1
                locked = now + LOCK_FOR_S if failures >= LOCK_AFTER_FAILURES else 0.0
                db.execute(
                    "UPDATE node_users SET failed_logins = ?, locked_until = ? WHERE name = ?",
                    (0 if locked else failures, locked, name),
                )
    return User(row["name"], row["role"], row["email"]) if good else None


def _verify(digest: str, password: str) -> bool:
    try:
        return _HASHER.verify(digest, password)
    except (VerificationError, InvalidHashError):
        return False


def new_token(database: Path, name: str) -> str:
    """A fresh API token for ``name`` (replacing its previous one); shown once, kept hashed."""
    check_name(name)
    token = secrets.token_urlsafe(32)
    with opened(database, TABLES) as db, transaction(db):
        db.execute(
            "INSERT INTO node_api_tokens (name, token_sha256, created_at) VALUES (?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET token_sha256 = excluded.token_sha256, "
            "created_at = excluded.created_at",
            (name, _token_digest(token), time.time()),
        )
    return token


def token_owner(database: Path, token: str) -> str | None:
    """The name a presented API token was made for, or None."""
    with opened(database, TABLES) as db:
        row = db.execute(
            "SELECT name FROM node_api_tokens WHERE token_sha256 = ?", (_token_digest(token),)
        ).fetchone()
    return row["name"] if row else None


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def users(database: Path) -> list[User]:
    """Every account, by name."""
    with opened(database, TABLES) as db:
        rows = db.execute("SELECT name, role, email FROM node_users ORDER BY name").fetchall()
    return [User(row["name"], row["role"], row["email"]) for row in rows]
