"""The node's own SQLite database (``<home>/node/node.sqlite``): what arrived and what ran.

Several modules keep their tables in this one file (arrivals, jobs; alerts and accounts
elsewhere), so each part creates its own tables and records its own schema version in
``schema_versions`` under its name. WAL lets the receiver, the scheduler, the sender
and the web page use it at once; ``synchronous=FULL`` makes a committed row survive a
power cut, which the job table's promises (a job runs once, survives a restart) need.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Self


class NodeDatabaseError(Exception):
    """The node database cannot be opened or used; the message says why."""


def connect(path: str | os.PathLike[str]) -> sqlite3.Connection:
    """A new connection (autocommit; use :func:`transaction`), rows readable by name."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        connection = sqlite3.connect(path, timeout=30.0, isolation_level=None)
        connection.row_factory = sqlite3.Row
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = FULL")
    except (OSError, sqlite3.Error) as error:
        raise NodeDatabaseError(f"cannot open the node database {path}: {error}") from error
    return connection


@contextlib.contextmanager
def transaction(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction, durable when the block ends; rolled back on any error."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def create_tables(
    connection: sqlite3.Connection, component: str, version: int, schema: str
) -> None:
    """Create ``component``'s tables once; refuse a file a newer Halong wrote for it."""
    with transaction(connection):
        connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_versions "
            "(component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
        )
        for statement in filter(str.strip, schema.split(";")):
            connection.execute(statement)
        connection.execute(
            "INSERT OR IGNORE INTO schema_versions (component, version) VALUES (?, ?)",
            (component, version),
        )
        (found,) = connection.execute(
            "SELECT version FROM schema_versions WHERE component = ?", (component,)
        ).fetchone()
    if found != version:
        raise NodeDatabaseError(
            f"the node database's {component} tables have version {found}; this Halong "
            f"reads version {version}"
        )


@dataclass(frozen=True)
class Tables:
    """One component's tables: its name, schema version and ``CREATE ... IF NOT EXISTS``."""

    component: str
    version: int
    schema: str


_made: set[tuple[Path, str]] = set()
_made_lock = threading.Lock()


@contextlib.contextmanager
def opened(path: str | os.PathLike[str], tables: Tables) -> Iterator[sqlite3.Connection]:
    """A connection for one piece of work with ``tables`` made, closed afterwards.

    The receiver, the scheduler, the workers and the web page each work on their own
    thread, so each piece of work opens its own connection; the tables are made once per
    process and file.
    """
    connection = connect(path)
    try:
        key = (Path(path).absolute(), tables.component)
        with _made_lock:
            if key not in _made:
                create_tables(connection, tables.component, tables.version, tables.schema)
                _made.add(key)
        yield connection
    finally:
        connection.close()


class TableStore:
    """Access to one set of :class:`Tables` over a connection; ``open`` for a block."""

    TABLES: ClassVar[Tables]

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection

    @classmethod
    @contextlib.contextmanager
    def open(cls, path: Path) -> Iterator[Self]:
        with opened(path, cls.TABLES) as connection:
            yield cls(connection)
