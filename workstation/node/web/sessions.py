"""Login sessions of the stroke-team page: random, hashed at rest, expiring, CSRF-bound.

The browser holds a 256-bit random session id in an HttpOnly, SameSite=Strict cookie;
the node keeps only its SHA-256, so a copy of the database opens no session. A session
ends after ``idle_s`` without a request or ``max_s`` after login, whichever comes
first, and on logout. Each carries its own CSRF token, which every form repeats: a
POST without it, or from another origin, is refused.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path

from workstation.node.database import Tables, opened, transaction

DEFAULT_IDLE_S = 30 * 60.0
DEFAULT_MAX_S = 12 * 3600.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS node_web_sessions (
    id_sha256 TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created_at REAL NOT NULL,
    seen_at REAL NOT NULL
);
"""
TABLES = Tables("web-sessions", 1, _SCHEMA)


@dataclass(frozen=True)
class Session:
    user: str
    csrf: str


@dataclass(frozen=True)
class SessionPolicy:
    idle_s: float = DEFAULT_IDLE_S
    max_s: float = DEFAULT_MAX_S


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


class Sessions:
    """The sessions table of one node database."""

    def __init__(self, database: Path, policy: SessionPolicy) -> None:
        self.database, self.policy = database, policy

    def start(self, user: str, now: float) -> tuple[str, Session]:
        """A new session for ``user``: (the id for the cookie, the session)."""
        session_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        with opened(self.database, TABLES) as db, transaction(db):
            db.execute(
                "DELETE FROM node_web_sessions WHERE seen_at < ? OR created_at < ?",
                (now - self.policy.idle_s, now - self.policy.max_s),
            )
            db.execute(
                "INSERT INTO node_web_sessions (id_sha256, user, csrf, created_at, seen_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (_digest(session_id), user, csrf, now, now),
            )
        return session_id, Session(user, csrf)

    def find(self, session_id: str, now: float, touch: bool = True) -> Session | None:
        """The live session with this id, else None; ``touch`` starts its idle time again
        (a person's request does, the page's own reloading does not)."""
        key = _digest(session_id)
        with opened(self.database, TABLES) as db, transaction(db):
            row = db.execute(
                "SELECT user, csrf, created_at, seen_at FROM node_web_sessions WHERE id_sha256 = ?",
                (key,),
            ).fetchone()
            if row is None:
                return None
            if now - row["seen_at"] > self.policy.idle_s or now - row["created_at"] > (
                self.policy.max_s
            ):
                db.execute("DELETE FROM node_web_sessions WHERE id_sha256 = ?", (key,))
                return None
            if touch:
                db.execute(
                    "UPDATE node_web_sessions SET seen_at = ? WHERE id_sha256 = ?", (now, key)
                )
        return Session(row["user"], row["csrf"])

    def end(self, session_id: str) -> None:
        with opened(self.database, TABLES) as db, transaction(db):
            db.execute("DELETE FROM node_web_sessions WHERE id_sha256 = ?", (_digest(session_id),))
