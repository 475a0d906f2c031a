"""The outbox's own guarantees: written down first, immutable copies, one deliverer,
recovery after a crash, backoff, and order — checked against a real MLLP listener."""

from __future__ import annotations

import json
import stat
import threading

import pytest
from support.net_fixtures import outcomes
from support.report_files import write_report_folder

from workstation.net.delivery import RetryPolicy, deliver
from workstation.net.destinations import Destination
from workstation.net.outbox import Outbox, OutboxBusy, OutboxError
from workstation.net.payloads import Payload, collect_payloads


def _messages(tmp_path, count: int) -> list[Payload]:
    folders = []
    for number in range(1, count + 1):
        folder = tmp_path / f"report-{number}"
        write_report_folder(folder, number, images=0)
        folders.append(folder)
    return list(collect_payloads(folders, {"hl7v2"}))


@pytest.fixture
def outbox(tmp_path):
    with Outbox.open(tmp_path / "outbox") as opened:
        yield opened


def test_queueing_the_same_payload_twice_is_one_item(outbox, tmp_path, mllp_listener):
    destination = Destination.mllp(f"127.0.0.1:{mllp_listener.port}")
    payloads = _messages(tmp_path, 2)
    first = outbox.enqueue(destination, payloads)
    again = outbox.enqueue(destination, payloads)
    assert [i.id for i in again] == [i.id for i in first]
    deliver(outbox)
    outbox.enqueue(destination, payloads)  # after delivery too: nothing is sent twice
    deliver(outbox)
    assert mllp_listener.received == {p.key: 1 for p in payloads}


def test_the_same_key_with_other_content_is_refused(outbox, tmp_path):
    destination = Destination.mllp("127.0.0.1:9")
    (payload,) = _messages(tmp_path, 1)
    outbox.enqueue(destination, [payload])
    payload.path.write_bytes(payload.path.read_bytes().replace(b"No suspicious", b"A suspicious"))
    with pytest.raises(OutboxError, match="other content"):
        outbox.enqueue(destination, [payload])
    with pytest.raises(OutboxError, match="cannot go to"):
        outbox.enqueue(Destination.pacs("PACS@127.0.0.1:104"), [payload])


def test_the_queued_copy_is_immutable_and_outlives_the_original(outbox, tmp_path, mllp_listener):
    (payload,) = _messages(tmp_path, 1)
    original = payload.path.read_bytes()
    (item,) = outbox.enqueue(Destination.mllp(f"127.0.0.1:{mllp_listener.port}"), [payload])
    payload.path.unlink()
    assert item.payload_path.read_bytes() == original
    # read-only, and its owner's only
    assert stat.S_IMODE(item.payload_path.stat().st_mode) == 0o400
    assert deliver(outbox).delivered == [item.id]


def test_a_copy_changed_on_disk_is_never_sent(outbox, tmp_path, mllp_listener):
    (payload,) = _messages(tmp_path, 1)
    (item,) = outbox.enqueue(Destination.mllp(f"127.0.0.1:{mllp_listener.port}"), [payload])
    item.payload_path.chmod(0o644)
    item.payload_path.write_bytes(item.payload_path.read_bytes().replace(b"No ", b"A "))
    report = deliver(outbox)
    assert report.rejected == [item.id] and not mllp_listener.received
    (after,) = outbox.items()
    assert after.status == "rejected" and "changed on disk" in after.last_error


def test_an_item_left_sending_by_a_dead_process_is_recovered_in_doubt(tmp_path, mllp_listener):
    destination = Destination.mllp(f"127.0.0.1:{mllp_listener.port}")
    with Outbox.open(tmp_path / "outbox") as outbox:
        (item,) = outbox.enqueue(destination, _messages(tmp_path, 1))
        outbox.begin_attempt(item)  # ... and the process dies here
    with Outbox.open(tmp_path / "outbox") as outbox:
        assert outbox.items()[0].status == "sending"
        report = deliver(outbox)
    assert report.recovered == 1 and report.delivered == [item.id]
    assert outcomes(tmp_path / "outbox") == {item.key: ["interrupted", "delivered"]}


def test_one_deliverer_at_a_time(outbox):
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with Outbox.open(outbox.folder) as other, other.delivery_lock():
            holding.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert holding.wait(10)
        with pytest.raises(OutboxBusy):
            deliver(outbox, lock_timeout_s=0.2)
    finally:
        release.set()
        thread.join()
    deliver(outbox, lock_timeout_s=0.2)  # free again


def test_a_down_destination_backs_off_and_keeps_the_order(outbox, tmp_path, mllp_listener):
    port = mllp_listener.port
    mllp_listener.stop()
    payloads = _messages(tmp_path, 3)
    outbox.enqueue(Destination.mllp(f"127.0.0.1:{port}"), payloads)
    policy = RetryPolicy(first_s=60)

    deliver(outbox, policy=policy)
    deliver(outbox, policy=policy)  # within the backoff: no new attempt

    tries = {item.key: item.attempts for item in outbox.items()}
    assert tries == {payloads[0].key: 1, payloads[1].key: 0, payloads[2].key: 0}
    assert outbox.next_retry_at() is not None
    mllp_listener.start()
    report = deliver(outbox, retry_now=True, policy=policy)
    assert len(report.delivered) == 3
    assert list(mllp_listener.received) == [p.key for p in payloads]  # in queue order


def test_backoff_grows_exponentially_up_to_its_cap():
    policy = RetryPolicy(first_s=5, factor=2, max_s=60)
    assert 4.0 <= policy.delay_s(1) <= 5.0
    assert 16.0 <= policy.delay_s(3) <= 20.0
    assert 48.0 <= policy.delay_s(30) <= 60.0


def test_items_serialise_for_halong_outbox_json(outbox, tmp_path):
    (item,) = outbox.enqueue(Destination.mllp("127.0.0.1:9"), _messages(tmp_path, 1))
    document = json.loads(json.dumps(item.to_json()))
    assert document["status"] == "pending" and document["destination"] == "mllp:127.0.0.1:9"
    assert document["key"] == "HALONG00000001" and document["file"] == "oru.hl7"
