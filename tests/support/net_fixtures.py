"""Fixtures for the network tests: a real Orthanc, the EMR stand-ins, an outbox.

Shared by ``tests/workstation/net`` (through its conftest) and the ``halong send`` tests.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from support import real_parts
from support.emr_receivers import FhirServer, MllpListener
from support.orthanc_server import OrthancServer, find_orthanc, free_port, https_front
from support.tls_certs import make_pki
from workstation.net.delivery import RetryPolicy

#: Retries fast enough for tests, still exponential.
FAST_RETRY = RetryPolicy(first_s=0.05, factor=2.0, max_s=0.4)


@pytest.fixture
def halong_scp_port() -> int:
    """The port Halong's C-MOVE storage SCP listens on, known to Orthanc."""
    return free_port()


def _running_orthanc(
    folder: Path, halong_scp_port: int, tls: dict[str, Path] | None = None
) -> Iterator[OrthancServer]:
    """Start Orthanc, hand it to the test, kill it; skip only when it is not installed."""
    binary = find_orthanc()
    if binary is None:
        real_parts.missing("Orthanc", "orthanc and orthanc-dicomweb")
    folder.mkdir()
    server = OrthancServer(binary, folder, halong_scp_port, tls)
    server.start()
    yield server
    server.kill()


@pytest.fixture
def orthanc(tmp_path: Path, halong_scp_port: int) -> Iterator[OrthancServer]:
    """A running Orthanc, DICOM and HTTP in clear."""
    yield from _running_orthanc(tmp_path / "orthanc", halong_scp_port)


@pytest.fixture
def pki(tmp_path: Path) -> dict[str, Path]:
    """A test CA with a certificate for the PACS ("server") and one for Halong ("client")."""
    folder = tmp_path / "pki"
    folder.mkdir()
    return make_pki(folder)


@pytest.fixture
def orthanc_tls(tmp_path: Path, halong_scp_port: int, pki) -> Iterator[OrthancServer]:
    """A running Orthanc that speaks DICOM TLS only and trusts ``pki``'s CA."""
    yield from _running_orthanc(tmp_path / "orthanc-tls", halong_scp_port, pki)


@pytest.fixture
def orthanc_https(orthanc, pki) -> Iterator[str]:
    """The DICOMweb base URL of ``orthanc`` over HTTPS, with ``pki``'s server certificate."""
    front = https_front(orthanc, pki)
    yield f"https://127.0.0.1:{front.port}/dicom-web"
    front.close()


@pytest.fixture
def mllp_listener() -> Iterator[MllpListener]:
    listener = MllpListener()
    listener.start()
    yield listener
    listener.hold.release.set()
    listener.stop()


@pytest.fixture
def fhir_server() -> Iterator[FhirServer]:
    server = FhirServer()
    server.start()
    yield server
    server.hold.release.set()
    server.stop()


def wait_for(condition: Callable[[], object], timeout_s: float = 20.0, what: str = "") -> None:
    """Poll ``condition`` until it is true; fail the test after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what or condition}")
        time.sleep(0.02)


def outbox_rows(outbox_folder: Path, query: str, *values: object) -> list[tuple]:
    """Read the outbox database directly, as an observer independent of the Outbox class
    (no rows while the sender has not created it yet)."""
    path = outbox_folder / "outbox.sqlite"
    if not path.exists():
        return []
    with contextlib.closing(sqlite3.connect(path, timeout=10)) as connection:
        try:
            return connection.execute(query, values).fetchall()
        except sqlite3.OperationalError as error:
            if "no such table" in str(error):
                return []
            raise


def delivered_count(outbox_folder: Path) -> int:
    rows = outbox_rows(outbox_folder, "SELECT COUNT(*) FROM items WHERE status = 'delivered'")
    return rows[0][0] if rows else 0


def outcomes(outbox_folder: Path) -> dict[str, list[str | None]]:
    """Each item's attempt outcomes in order, by idempotency key."""
    rows = outbox_rows(
        outbox_folder,
        "SELECT i.idempotency_key, a.outcome FROM attempts a JOIN items i ON i.id = a.item_id "
        "ORDER BY a.item_id, a.number",
    )
    result: dict[str, list[str | None]] = {}
    for key, outcome in rows:
        result.setdefault(key, []).append(outcome)
    return result


def assert_each_delivered_once(outbox_folder: Path, keys: set[str]) -> dict[str, list]:
    """Every key queued, delivered, with exactly one successful attempt; nothing else queued."""
    statuses = dict(outbox_rows(outbox_folder, "SELECT idempotency_key, status FROM items"))
    assert set(statuses) == keys
    assert set(statuses.values()) == {"delivered"}
    history = outcomes(outbox_folder)
    for key in keys:
        successes = [o for o in history[key] if o in ("delivered", "already-there")]
        assert len(successes) == 1 and history[key][-1] == successes[0], (key, history[key])
    return history
