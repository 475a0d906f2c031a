"""Running a triage node in the tests, sending to it like a scanner, and watching it.

The node runs for real: in a thread of the test (:func:`running_node`) or as its own
``python -m workstation.cli node`` process (:class:`NodeProcess`) that a test can kill.
Scanners are real too: dcmtk's ``storescu`` or an Orthanc (``/modalities/{id}/store``).
What the node did is read from its database with plain SQL and from the PACS's REST
API, never through the node's own classes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx

from support import real_parts
from support.net_fixtures import wait_for
from support.orthanc_server import OrthancServer
from workstation.home import HalongHome
from workstation.node.config import build_config
from workstation.node.service import NodeService

REPO_ROOT = Path(__file__).resolve().parents[2]
#: Generous: a worker process starts, imports the engines and analyses on two busy cores.
JOB_TIMEOUT_S = 240.0


def storescu() -> str:
    """dcmtk's storescu (not pynetdicom's script of the same name in the venv)."""
    for candidate in ("/usr/bin/storescu", shutil.which("storescu")):
        if candidate and "dcmtk" in _version(candidate):
            return candidate
    real_parts.missing("dcmtk storescu", "dcmtk")


def _version(command: str) -> str:
    done = subprocess.run([command, "--version"], capture_output=True, text=True, check=False)
    return done.stdout + done.stderr


def send_folder(folder: Path, port: int, calling_aet: str = "STORESCU") -> None:
    """Send every file under ``folder`` to the node on loopback, as a scanner does."""
    command = [storescu(), "+sd", "+r", "-aet", calling_aet, "-aec", "HALONG"]
    done = subprocess.run(
        [*command, "127.0.0.1", str(port), str(folder)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def node_values(port: int, pacs: OrthancServer, **more: Any) -> dict[str, Any]:
    """Settings of a node on ``port`` sending to ``pacs``, accepting storescu and Orthanc
    from loopback; quick to call a series complete."""
    values = {
        "aet": "HALONG",
        "port": port,
        "listen": "127.0.0.1",
        "http": "off",
        "pacs": [pacs.node],
        "allow": ["STORESCU@127.0.0.1", "ORTHANC@127.0.0.1"],
        "stable_seconds": 1.0,
    }
    return values | more


@contextlib.contextmanager
def running_node(home: Path, values: Mapping[str, Any]) -> Iterator[NodeService]:
    """A node serving in a thread of the test until the block ends."""
    service = NodeService(build_config(values), HalongHome(home))
    stop = threading.Event()
    failure: list[BaseException] = []

    def serve() -> None:
        try:
            service.run(stop)
        except BaseException as error:
            failure.append(error)

    thread = threading.Thread(target=serve, name="test-node")
    thread.start()
    wait_for(lambda: service.ready.is_set() or failure, what="the node to listen")
    try:
        assert not failure, failure
        yield service
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not failure, failure


class NodeProcess:
    """``python -m workstation.cli --home HOME node ...`` as a process of its own."""

    def __init__(self, home: Path, values: Mapping[str, Any], log: Path) -> None:
        self.command = [sys.executable, "-m", "workstation.cli", "--home", str(home), "node"]
        for key, value in values.items():
            option = "--" + key.replace("_", "-")
            for item in value if isinstance(value, list) else [value]:
                self.command += [option, str(item)]
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, port: int) -> None:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                self.command, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT
            )
        wait_for(lambda: _listening(port) or self.process.poll() is not None, what="the node")
        assert self.process.poll() is None, self.log.read_text()

    def kill(self) -> None:
        """SIGKILL, as the OOM killer or a power cut would end it."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> int:
        """SIGTERM, as systemd stops a service; the exit status."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def jobs(home: Path) -> list[dict[str, Any]]:
    """The node's job table as plain rows (empty before the node made it)."""
    return table_rows(HalongHome(home).node_database, "SELECT * FROM jobs ORDER BY id")


def received_series(home: Path) -> list[dict[str, Any]]:
    return table_rows(HalongHome(home).node_database, "SELECT * FROM received_series")


def table_rows(database: Path, query: str) -> list[dict[str, Any]]:
    """Rows of the node database as dicts, by plain SQL (none before the table exists)."""
    if not database.exists():
        return []
    with contextlib.closing(sqlite3.connect(database, timeout=30)) as connection:
        connection.row_factory = sqlite3.Row
        try:
            return [dict(row) for row in connection.execute(query)]
        except sqlite3.OperationalError as error:
            if "no such table" in str(error):
                return []
            raise


def wait_for_jobs(home: Path, count: int, *, sent: bool = True) -> list[dict[str, Any]]:
    """Wait until ``count`` jobs ended (and, if ``sent``, the done ones were delivered)."""

    def ended(row: dict[str, Any]) -> bool:
        if row["status"] == "failed":
            return True
        return row["status"] == "done" and (row["sent_at"] is not None or not sent)

    wait_for(lambda: sum(map(ended, jobs(home))) >= count, JOB_TIMEOUT_S, f"{count} job(s) to end")
    return jobs(home)


def pacs_series(pacs: OrthancServer) -> dict[str, list[dict[str, str]]]:
    """Series description -> the simplified tags of each of its instances in the PACS."""
    found: dict[str, list[dict[str, str]]] = {}
    for identifier in httpx.get(f"{pacs.url}/instances").json():
        tags = httpx.get(f"{pacs.url}/instances/{identifier}/simplified-tags").json()
        found.setdefault(tags.get("SeriesDescription", ""), []).append(tags)
    return found


def store_from_orthanc(scanner: OrthancServer, study_uid: str, modality: str = "halong") -> None:
    """The scanner (an Orthanc) sends a study it holds to the node, and waits till done."""
    (match,) = [
        m
        for m in httpx.post(f"{scanner.url}/tools/lookup", content=study_uid).json()
        if m["Type"] == "Study"
    ]
    answer = httpx.post(
        f"{scanner.url}/modalities/{modality}/store",
        json={"Resources": [match["ID"]], "Synchronous": True},
        timeout=300,
    )
    assert answer.status_code == 200, answer.text
