"""The durable outbox: everything Halong sends is written down here before it is sent.

An item is one payload for one destination. :meth:`Outbox.enqueue` first copies the
payload into ``payloads/`` under its SHA-256 (read-only, fsynced), then records the
item in SQLite (WAL, ``synchronous=FULL``: a committed row survives a crash or a power
cut). Delivery (:mod:`~workstation.net.delivery`) moves each item through:

``pending`` -> ``sending`` (attempt written down, then the bytes leave) -> ``delivered``;
a transient failure puts it back to ``pending`` (its destination backs off), a refusal
by the receiver makes it ``rejected`` (kept, shown, retried only on request).

A process killed while an item is ``sending`` leaves it there; the next deliverer,
which holds the outbox's delivery lock (an ``flock``, released by the kernel when its
holder dies), finds it, records the attempt as ``interrupted`` and treats the item as
*in doubt*: before sending it again it asks the receiver whether it has the item, or
relies on the receiver's own idempotency (conditional create, MSH-10). Together with
the idempotency key, unique per destination, this is what makes delivery exactly once
as the receiver sees it. The ``attempts`` table keeps every try with its outcome.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import sqlite3
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Self

from workstation.model.durable import sync_folder
from workstation.net.destinations import Destination
from workstation.net.payloads import ACCEPTED_BY, Payload, PayloadKind

Status = Literal["pending", "sending", "delivered", "rejected"]
STATUSES: tuple[Status, ...] = ("pending", "sending", "delivered", "rejected")
#: How an attempt ended; NULL in the table while it runs.
Outcome = Literal["delivered", "already-there", "failed", "rejected", "interrupted"]
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS destinations (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    address TEXT NOT NULL,
    options TEXT NOT NULL,               -- JSON; paths to credentials, never secrets
    failures INTEGER NOT NULL DEFAULT 0, -- consecutive transient failures
    retry_at REAL NOT NULL DEFAULT 0,    -- no attempt before this (Unix time)
    last_error TEXT,
    UNIQUE (kind, address)
);
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY,
    destination_id INTEGER NOT NULL REFERENCES destinations (id),
    kind TEXT NOT NULL,                  -- dicom | fhir-bundle | hl7v2
    idempotency_key TEXT NOT NULL,       -- SOP Instance UID | Bundle identifier | MSH-10
    label TEXT NOT NULL,                 -- the file name it was queued from
    sha256 TEXT NOT NULL,                -- names the immutable copy in payloads/
    size INTEGER NOT NULL,
    meta TEXT NOT NULL,                  -- JSON: study/series UIDs, SOP class, patient ID
    status TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'delivered', 'rejected')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    delivered_at REAL,
    UNIQUE (destination_id, idempotency_key)
);
CREATE INDEX IF NOT EXISTS items_by_status ON items (status, destination_id, id);
CREATE TABLE IF NOT EXISTS attempts (
    item_id INTEGER NOT NULL REFERENCES items (id),
    number INTEGER NOT NULL,
    started_at REAL NOT NULL,
    finished_at REAL,
    outcome TEXT,
    error TEXT,
    PRIMARY KEY (item_id, number)
);
"""

_ITEMS = """
SELECT i.*, d.kind AS destination_kind, d.address, d.options
FROM items i JOIN destinations d ON d.id = i.destination_id
"""


class OutboxError(Exception):
    """The outbox cannot take or give an item; the message says why."""


class OutboxBusy(OutboxError):
    """Another Halong process is delivering this outbox right now."""


@dataclass(frozen=True)
class OutboxItem:
    """One payload for one destination, and where its delivery stands."""

    id: int
    destination_id: int
    destination: Destination
    kind: PayloadKind
    key: str
    label: str
    payload_path: Path
    sha256: str
    size: int
    meta: dict[str, str]
    status: Status
    attempts: int
    last_error: str | None
    created_at: float
    updated_at: float
    delivered_at: float | None

    def read_payload(self) -> bytes:
        """The queued bytes, checked against their SHA-256."""
        data = self.payload_path.read_bytes()
        if hashlib.sha256(data).hexdigest() != self.sha256:
            raise OutboxError(f"outbox item {self.id}: its queued copy changed on disk")
        return data

    def verify_payload(self) -> None:
        """Raise OutboxError if the queued copy is missing or changed (hashed in chunks)."""
        digest = hashlib.sha256()
        try:
            with open(self.payload_path, "rb") as file:
                while chunk := file.read(1 << 20):
                    digest.update(chunk)
        except OSError as error:
            raise OutboxError(f"outbox item {self.id}: its queued copy is unreadable") from error
        if digest.hexdigest() != self.sha256:
            raise OutboxError(f"outbox item {self.id}: its queued copy changed on disk")

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "destination": self.destination.label,
            "kind": self.kind,
            "key": self.key,
            "file": self.label,
            "status": self.status,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "created_at": _iso(self.created_at),
            "delivered_at": _iso(self.delivered_at),
        }


@dataclass(frozen=True)
class Attempt:
    """One try at delivering an item."""

    item_id: int
    number: int
    started_at: float
    finished_at: float | None
    outcome: Outcome | None
    error: str | None


def _iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(timestamp))


class Outbox:
    """An open outbox folder (``outbox.sqlite``, ``payloads/``, ``deliver.lock``)."""

    def __init__(self, connection: sqlite3.Connection, folder: Path) -> None:
        self._db = connection
        self.folder = folder
        self.payloads = folder / "payloads"

    @classmethod
    def open(cls, folder: str | os.PathLike[str]) -> Self:
        """Open (creating if needed) the outbox in ``folder``."""
        folder = Path(folder)
        try:
            (folder / "payloads").mkdir(parents=True, exist_ok=True)
            path = folder / "outbox.sqlite"
            connection = sqlite3.connect(path, timeout=30.0, isolation_level=None)
        except (OSError, sqlite3.Error) as error:
            raise OutboxError(f"cannot open the outbox in {folder}: {error}") from error
        try:
            connection.row_factory = sqlite3.Row
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = FULL")
            connection.execute("PRAGMA foreign_keys = ON")
            _create_schema(connection)
        except (sqlite3.Error, OutboxError) as error:
            connection.close()
            raise OutboxError(f"cannot use the outbox in {folder}: {error}") from error
        return cls(connection, folder)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, durable when it returns."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- queueing -----------------------------------------------------------------

    def enqueue(self, destination: Destination, payloads: Sequence[Payload]) -> list[OutboxItem]:
        """Write the payloads down for ``destination``; all or none. Return their items.

        A payload whose key is already queued for this destination is the same item
        (nothing is sent twice); the same key with other bytes is refused.
        """
        wanted = ACCEPTED_BY[destination.kind]
        for payload in payloads:
            if payload.kind != wanted:
                where = destination.label
                raise OutboxError(f"{payload.path.name}: a {payload.kind} cannot go to {where}")
        copies = [self._keep_copy(payload.path) for payload in payloads]
        now = time.time()
        ids = []
        with self._transaction() as db:
            destination_id = self._destination_id(db, destination)
            for payload, (digest, size) in zip(payloads, copies, strict=True):
                row = db.execute(
                    "SELECT id, sha256 FROM items WHERE destination_id = ? AND idempotency_key = ?",
                    (destination_id, payload.key),
                ).fetchone()
                if row is not None:
                    if row["sha256"] != digest:
                        raise OutboxError(
                            f"{payload.path.name}: {payload.key} is already queued for "
                            f"{destination.label} with other content; a changed object "
                            "needs a new identifier"
                        )
                    ids.append(row["id"])
                    continue
                cursor = db.execute(
                    "INSERT INTO items (destination_id, kind, idempotency_key, label, sha256, "
                    "size, meta, status, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
                    (
                        destination_id,
                        payload.kind,
                        payload.key,
                        payload.path.name,
                        digest,
                        size,
                        json.dumps(payload.meta),
                        now,
                        now,
                    ),
                )
                ids.append(cursor.lastrowid)
        return self.items(ids=ids)

    def _destination_id(self, db: sqlite3.Connection, destination: Destination) -> int:
        """The row of ``destination``, its options updated to the latest given."""
        options = json.dumps(dict(destination.options), sort_keys=True)
        db.execute(
            "INSERT INTO destinations (kind, address, options) VALUES (?, ?, ?) "
            "ON CONFLICT (kind, address) DO UPDATE SET options = excluded.options",
            (destination.kind, destination.address, options),
        )
        row = db.execute(
            "SELECT id FROM destinations WHERE kind = ? AND address = ?",
            (destination.kind, destination.address),
        ).fetchone()
        return int(row["id"])

    def _keep_copy(self, source: Path) -> tuple[str, int]:
        """Copy ``source`` into payloads/ under its SHA-256, durably; return (digest, size)."""
        digest = hashlib.sha256()
        size = 0
        handle, scratch = tempfile.mkstemp(dir=self.payloads, prefix=".incoming-")
        try:
            with open(source, "rb") as reader, os.fdopen(handle, "wb") as writer:
                while chunk := reader.read(1 << 20):
                    digest.update(chunk)
                    writer.write(chunk)
                    size += len(chunk)
                writer.flush()
                os.fsync(writer.fileno())
            os.chmod(scratch, 0o400)  # a read-only copy only its owner reads
            target = self.payloads / digest.hexdigest()
            if target.exists():
                os.unlink(scratch)
            else:
                os.replace(scratch, target)
                sync_folder(self.payloads)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(scratch)
            raise
        return digest.hexdigest(), size

    # -- reading ------------------------------------------------------------------

    def items(
        self, *, status: Status | None = None, ids: Sequence[int] | None = None
    ) -> list[OutboxItem]:
        """Items in queue order, optionally only those with ``status`` or ``ids``."""
        clauses, values = [], []
        if status is not None:
            clauses.append("i.status = ?")
            values.append(status)
        if ids is not None:
            clauses.append(f"i.id IN ({', '.join('?' * len(ids))})")
            values.extend(ids)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._db.execute(f"{_ITEMS}{where} ORDER BY i.id", values).fetchall()
        return [self._item(row) for row in rows]

    def _item(self, row: sqlite3.Row) -> OutboxItem:
        destination = Destination(
            row["destination_kind"], row["address"], json.loads(row["options"])
        )
        return OutboxItem(
            id=row["id"],
            destination_id=row["destination_id"],
            destination=destination,
            kind=row["kind"],
            key=row["idempotency_key"],
            label=row["label"],
            payload_path=self.payloads / row["sha256"],
            sha256=row["sha256"],
            size=row["size"],
            meta=json.loads(row["meta"]),
            status=row["status"],
            attempts=row["attempts"],
            last_error=row["last_error"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            delivered_at=row["delivered_at"],
        )

    def counts(self) -> dict[Status, int]:
        """How many items are in each status."""
        counts = dict.fromkeys(STATUSES, 0)
        for row in self._db.execute("SELECT status, COUNT(*) FROM items GROUP BY status"):
            counts[row[0]] = row[1]
        return counts

    def attempts(self, item_id: int) -> list[Attempt]:
        """Every try at delivering one item, oldest first."""
        rows = self._db.execute(
            "SELECT * FROM attempts WHERE item_id = ? ORDER BY number", (item_id,)
        ).fetchall()
        return [Attempt(**dict(row)) for row in rows]

    # -- delivery bookkeeping (under the delivery lock) ---------------------------

    @contextlib.contextmanager
    def delivery_lock(self, timeout_s: float = 0.0) -> Iterator[None]:
        """Be the only deliverer of this outbox; OutboxBusy after ``timeout_s``."""
        with open(self.folder / "deliver.lock", "a+b") as lock:
            deadline = time.monotonic() + timeout_s
            while True:
                try:
                    fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise OutboxBusy(
                            "another Halong process is delivering the outbox; "
                            "the items are queued and it will send them"
                        ) from None
                    time.sleep(0.1)
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def recover_interrupted(self) -> int:
        """Put items left ``sending`` by a dead deliverer back in line, marked in doubt."""
        now = time.time()
        with self._transaction() as db:
            db.execute(
                "UPDATE attempts SET outcome = 'interrupted', finished_at = ? "
                "WHERE outcome IS NULL",
                (now,),
            )
            return db.execute(
                "UPDATE items SET status = 'pending', updated_at = ?, "
                "last_error = 'interrupted while sending; will check the receiver' "
                "WHERE status = 'sending'",
                (now,),
            ).rowcount

    def reopen_rejected(self) -> int:
        """Give rejected items another try (after someone fixed the cause)."""
        with self._transaction() as db:
            return db.execute(
                "UPDATE items SET status = 'pending', updated_at = ? WHERE status = 'rejected'",
                (time.time(),),
            ).rowcount

    def clear_backoff(self) -> None:
        """Make every destination due now."""
        with self._transaction() as db:
            db.execute("UPDATE destinations SET retry_at = 0")

    def due_destinations(self, now: float) -> list[int]:
        """Destinations with pending items whose backoff has passed, oldest item first."""
        rows = self._db.execute(
            "SELECT d.id FROM destinations d JOIN items i ON i.destination_id = d.id "
            "WHERE i.status = 'pending' AND d.retry_at <= ? GROUP BY d.id ORDER BY MIN(i.id)",
            (now,),
        ).fetchall()
        return [row[0] for row in rows]

    def pending_items(self, destination_id: int) -> list[OutboxItem]:
        rows = self._db.execute(
            f"{_ITEMS} WHERE i.status = 'pending' AND i.destination_id = ? ORDER BY i.id",
            (destination_id,),
        ).fetchall()
        return [self._item(row) for row in rows]

    def next_retry_at(self) -> float | None:
        """When the earliest destination with pending items may be tried again."""
        row = self._db.execute(
            "SELECT MIN(d.retry_at) FROM destinations d JOIN items i ON i.destination_id = d.id "
            "WHERE i.status = 'pending'"
        ).fetchone()
        return row[0]

    def begin_attempt(self, item: OutboxItem) -> int:
        """Write down that a try starts (before any byte leaves); return its number."""
        now = time.time()
        with self._transaction() as db:
            changed = db.execute(
                "UPDATE items SET status = 'sending', attempts = attempts + 1, updated_at = ? "
                "WHERE id = ? AND status = 'pending'",
                (now, item.id),
            ).rowcount
            if not changed:
                raise OutboxError(f"outbox item {item.id} is no longer pending")
            number = db.execute("SELECT attempts FROM items WHERE id = ?", (item.id,)).fetchone()[0]
            db.execute(
                "INSERT INTO attempts (item_id, number, started_at) VALUES (?, ?, ?)",
                (item.id, number, now),
            )
        return int(number)

    def finish_attempt(self, item: OutboxItem, outcome: Outcome, error: str | None = None) -> None:
        """Record how the running try ended and move the item to its next status."""
        status: Status = {
            "delivered": "delivered",
            "already-there": "delivered",
            "rejected": "rejected",
        }.get(outcome, "pending")
        now = time.time()
        delivered_at = now if status == "delivered" else None
        with self._transaction() as db:
            db.execute(
                "UPDATE attempts SET outcome = ?, error = ?, finished_at = ? "
                "WHERE item_id = ? AND outcome IS NULL",
                (outcome, error, now, item.id),
            )
            db.execute(
                "UPDATE items SET status = ?, last_error = ?, updated_at = ?, delivered_at = ? "
                "WHERE id = ? AND status = 'sending'",
                (status, error, now, delivered_at, item.id),
            )

    def destination_failures(self, destination_id: int) -> int:
        """Consecutive transient failures of a destination (0 once it worked)."""
        row = self._db.execute("SELECT failures FROM destinations WHERE id = ?", (destination_id,))
        return int(row.fetchone()[0])

    def note_destination_working(self, destination_id: int) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE destinations SET failures = 0, retry_at = 0, last_error = NULL "
                "WHERE id = ?",
                (destination_id,),
            )

    def note_destination_failing(self, destination_id: int, retry_at: float, error: str) -> None:
        """Back the destination off until ``retry_at`` after a transient failure."""
        with self._transaction() as db:
            db.execute(
                "UPDATE destinations SET failures = failures + 1, retry_at = ?, last_error = ? "
                "WHERE id = ?",
                (retry_at, error, destination_id),
            )


def _create_schema(connection: sqlite3.Connection) -> None:
    connection.executescript(
        f"BEGIN IMMEDIATE; {_SCHEMA}"
        f"INSERT INTO schema_version SELECT {SCHEMA_VERSION} "
        "WHERE NOT EXISTS (SELECT 1 FROM schema_version); COMMIT;"
    )
    (version,) = connection.execute("SELECT MAX(version) FROM schema_version").fetchone()
    if version != SCHEMA_VERSION:
        raise OutboxError(f"outbox schema version {version}; this Halong reads {SCHEMA_VERSION}")
