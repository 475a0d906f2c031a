"""Sending DICOM to a real Orthanc: C-STORE and STOW-RS deliver, and exactly once.

Orthanc itself ignores a second copy of a SOP Instance UID, so counting its instances
cannot reveal a duplicate send; these tests therefore also check the outbox: every item
has exactly one successful attempt, none is lost, and none is marked delivered that
Orthanc does not hold.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from pydicom import dcmread
from support.net_fixtures import (
    FAST_RETRY,
    assert_each_delivered_once,
    delivered_count,
    outbox_rows,
    outcomes,
    wait_for,
)
from support.report_files import write_report_folder
from support.tcp_gate import TcpGate

from workstation.net.delivery import deliver
from workstation.net.destinations import Destination, HttpEndpoint
from workstation.net.outbox import Outbox
from workstation.net.payloads import collect_payloads


def _dataset_bytes(part10: bytes) -> bytes:
    """The encoded dataset after the file meta (which a PACS may rewrite)."""
    group_length = int.from_bytes(part10[140:144], "little")  # (0002,0000) UL after "DICM"
    return part10[144 + group_length :]


def _queue(outbox: Outbox, destination: Destination, folder: Path) -> set[str]:
    payloads = list(collect_payloads([folder], {"dicom"}))
    return {item.key for item in outbox.enqueue(destination, payloads)}


SENDING = "SELECT idempotency_key FROM items WHERE status = 'sending'"
FAILED = "SELECT COUNT(*) FROM attempts WHERE outcome = 'failed'"


def _frozen_item(outbox_folder: Path, orthanc, *, stored: bool) -> str:
    """The key of the item the held gate froze in flight: still ``sending`` a moment
    later, and held by Orthanc (``stored``) or not, so that no answer is on its way."""

    def frozen() -> str | None:
        rows = outbox_rows(outbox_folder, SENDING)
        return rows[0][0] if len(rows) == 1 and orthanc.holds(rows[0][0]) == stored else None

    def stays_frozen() -> bool:
        key = frozen()
        time.sleep(0.3)
        return key is not None and frozen() == key

    wait_for(stays_frozen, what="an object frozen in flight")
    return outbox_rows(outbox_folder, SENDING)[0][0]


def _start_sender(home: Path, folder: Path, *destination: str) -> subprocess.Popen[bytes]:
    """``halong send FOLDER DESTINATION`` in its own process, to be killed."""
    command = [sys.executable, "-m", "workstation.cli", "send", str(folder), *destination]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    return subprocess.Popen(command, env=os.environ | {"HALONG_HOME": str(home)}, **quiet)


def _destination(kind: str, orthanc, port: int | None = None) -> Destination:
    if kind == "dimse":
        return Destination.pacs(f"ORTHANC@127.0.0.1:{port or orthanc.dicom_port}")
    return Destination.dicomweb(
        HttpEndpoint(f"http://127.0.0.1:{port or orthanc.http_port}/dicom-web")
    )


@pytest.mark.parametrize("kind", ["dimse", "dicomweb"])
def test_c_store_and_stow_deliver_every_instance_byte_for_byte(kind, orthanc, tmp_path):
    facts = write_report_folder(tmp_path / "report", 1, images=4)
    with Outbox.open(tmp_path / "outbox") as outbox:
        keys = _queue(outbox, _destination(kind, orthanc), tmp_path / "report")
        report = deliver(outbox)

    assert sorted(orthanc.sop_instance_uids()) == sorted(keys)
    assert len(report.delivered) == 4 and not report.failed_attempts
    assert_each_delivered_once(tmp_path / "outbox", keys)
    for path in facts["files"]:  # the dataset Orthanc stored is the one written, to the byte
        uid = dcmread(path, stop_before_pixels=True).SOPInstanceUID
        assert _dataset_bytes(orthanc.stored_file(uid)) == _dataset_bytes(path.read_bytes())


@pytest.mark.parametrize("kind", ["dimse", "dicomweb"])
def test_stopping_orthanc_mid_send_then_restarting_delivers_everything_once(
    kind, orthanc, tmp_path
):
    write_report_folder(tmp_path / "report", 2, images=12)
    gate = TcpGate(orthanc.dicom_port if kind == "dimse" else orthanc.http_port)
    outbox_folder = tmp_path / "outbox"
    with Outbox.open(outbox_folder) as outbox:
        keys = _queue(outbox, _destination(kind, orthanc, gate.port), tmp_path / "report")
    result = {}

    def sender() -> None:
        with Outbox.open(outbox_folder) as outbox:
            result["report"] = deliver(outbox, wait_s=60, policy=FAST_RETRY)

    thread = threading.Thread(target=sender)
    thread.start()
    try:
        wait_for(lambda: delivered_count(outbox_folder) >= 4, what="4 delivered")
        gate.requests.clear()  # the next object stalls on its way
        in_flight = _frozen_item(outbox_folder, orthanc, stored=False)
        gate.refusing.set()  # Orthanc serves open associations until it exits: cut the link
        orthanc.terminate()
        gate.cut()
        gate.requests.set()
        orthanc.wait_stopped()
        failed_before = outbox_rows(outbox_folder, FAILED)[0][0]
        gate.refusing.clear()  # from now on the sender reaches the stopped Orthanc itself
        wait_for(
            lambda: outbox_rows(outbox_folder, FAILED)[0][0] >= failed_before + 2,
            what="retries refused by the stopped Orthanc",
        )
        orthanc.start()
        thread.join(timeout=60)
    finally:
        gate.close()
    assert not thread.is_alive()

    assert sorted(orthanc.sop_instance_uids()) == sorted(keys)  # no duplicate, none lost
    history = assert_each_delivered_once(outbox_folder, keys)
    assert history[in_flight][:3] == ["failed"] * 3  # cut, then refused while Orthanc was down
    assert result["report"].recovered == 0


def test_killing_the_sender_while_orthanc_holds_an_unacknowledged_object(
    orthanc, halong, halong_home, tmp_path
):
    """kill -9 after Orthanc stored an object but before its C-STORE response arrived."""
    facts = write_report_folder(tmp_path / "report", 3, images=12)
    gate = TcpGate(orthanc.dicom_port)
    outbox_folder = halong_home / "outbox"
    process = _start_sender(
        halong_home, tmp_path / "report", "--pacs", f"ORTHANC@127.0.0.1:{gate.port}"
    )
    try:
        wait_for(lambda: delivered_count(outbox_folder) >= 4, what="4 delivered")
        gate.responses.clear()  # Orthanc stores the next object; the sender never hears so
        in_doubt = _frozen_item(outbox_folder, orthanc, stored=True)
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(timeout=10) == -signal.SIGKILL
    finally:
        gate.close()
    keys = {k for (k,) in outbox_rows(outbox_folder, "SELECT idempotency_key FROM items")}
    assert len(keys) == len(facts["files"]) == 12  # queued whole before the first send

    result = halong("outbox", "--retry", "--json")

    assert result.status == 0, result.out + result.err
    assert sorted(orthanc.sop_instance_uids()) == sorted(keys)
    history = assert_each_delivered_once(outbox_folder, keys)
    assert history[in_doubt] == ["interrupted", "already-there"]  # asked, not resent


def test_killing_the_sender_before_orthanc_has_the_object_loses_nothing(
    orthanc, halong, halong_home, tmp_path
):
    """kill -9 while an object is on its way over STOW-RS: the retry sends it, once."""
    write_report_folder(tmp_path / "report", 4, images=12)
    gate = TcpGate(orthanc.http_port)
    outbox_folder = halong_home / "outbox"
    url = f"http://127.0.0.1:{gate.port}/dicom-web"
    process = _start_sender(halong_home, tmp_path / "report", "--dicomweb", url)
    try:
        wait_for(lambda: delivered_count(outbox_folder) >= 4, what="4 delivered")
        gate.requests.clear()
        in_doubt = _frozen_item(outbox_folder, orthanc, stored=False)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        gate.cut()  # what the gate held never arrives
    finally:
        gate.requests.set()
    keys = {k for (k,) in outbox_rows(outbox_folder, "SELECT idempotency_key FROM items")}
    assert not orthanc.holds(in_doubt)

    result = halong("outbox", "--retry")

    gate.close()
    assert result.status == 0, result.out + result.err
    assert sorted(orthanc.sop_instance_uids()) == sorted(keys)
    assert outcomes(outbox_folder)[in_doubt] == ["interrupted", "delivered"]
    assert_each_delivered_once(outbox_folder, keys)
