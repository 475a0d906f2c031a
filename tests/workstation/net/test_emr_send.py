"""Reports to the EMR: HL7 v2 over MLLP and FHIR transactions, delivered exactly once.

The receivers are loopback stand-ins (see emr_receivers.py); what is checked is what
they saw: every MSH-10 applied once and every FHIR resource created once, also when
the sender was killed after the receiver had the message but before its answer.
"""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
import threading

from support.emr_receivers import FhirServer
from support.net_fixtures import FAST_RETRY, assert_each_delivered_once, outbox_rows, outcomes
from support.report_files import write_report_folder
from support.tls_certs import make_pki

from workstation.net.delivery import deliver
from workstation.net.destinations import Destination, HttpEndpoint, TlsFiles
from workstation.net.outbox import Outbox
from workstation.net.payloads import collect_payloads


def _reports(tmp_path, count: int) -> list[dict]:
    facts = []
    for number in range(1, count + 1):
        folder = tmp_path / f"report-{number}"
        facts.append(write_report_folder(folder, number, images=0) | {"folder": folder})
    return facts


def _queue(outbox: Outbox, destination: Destination, reports: list[dict], kind: str) -> set[str]:
    payloads = list(collect_payloads([r["folder"] for r in reports], {kind}))
    return {item.key for item in outbox.enqueue(destination, payloads)}


def test_mllp_waits_for_each_ack_and_sends_every_message_once(mllp_listener, tmp_path):
    reports = _reports(tmp_path, 3)
    with Outbox.open(tmp_path / "outbox") as outbox:
        keys = _queue(outbox, Destination.mllp(f"127.0.0.1:{mllp_listener.port}"), reports, "hl7v2")
        report = deliver(outbox)

    assert keys == {r["control_id"] for r in reports}
    assert mllp_listener.received == dict.fromkeys(keys, 1)
    assert len(report.delivered) == 3
    assert_each_delivered_once(tmp_path / "outbox", keys)


def test_mllp_listener_down_then_up_delivers_once_after_retries(mllp_listener, tmp_path):
    reports = _reports(tmp_path, 2)
    mllp_listener.stop()
    with Outbox.open(tmp_path / "outbox") as outbox:
        keys = _queue(outbox, Destination.mllp(f"127.0.0.1:{mllp_listener.port}"), reports, "hl7v2")
        threading.Timer(0.5, mllp_listener.start).start()  # the EMR comes back
        report = deliver(outbox, wait_s=20, policy=FAST_RETRY)

    assert report.failed_attempts  # it was down, and noticed
    assert mllp_listener.received == dict.fromkeys(keys, 1)
    history = assert_each_delivered_once(tmp_path / "outbox", keys)
    first = min(keys)
    assert set(history[first][:-1]) == {"failed"}  # refused while down, then delivered


def _send_and_kill_while_held(receiver, tmp_path, halong_home, option: str, target: str) -> str:
    """Run ``halong send`` on 5 reports; kill -9 it while the 3rd answer is held."""
    reports = _reports(tmp_path, 5)
    receiver.hold.arm(3)
    command = [sys.executable, "-m", "workstation.cli", "send"]
    command += [str(r["folder"]) for r in reports] + [option, target]
    environment = os.environ | {"HALONG_HOME": str(halong_home)}
    process = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL)
    try:
        assert receiver.hold.reached.wait(timeout=20), "the 3rd message never arrived"
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        receiver.hold.at = None
        receiver.hold.release.set()
    sending = "SELECT idempotency_key FROM items WHERE status = 'sending'"
    ((in_doubt,),) = outbox_rows(halong_home / "outbox", sending)
    return in_doubt


def test_mllp_kill_9_after_the_emr_applied_a_message_applies_it_once(
    mllp_listener, halong, halong_home, tmp_path
):
    target = f"127.0.0.1:{mllp_listener.port}"
    in_doubt = _send_and_kill_while_held(mllp_listener, tmp_path, halong_home, "--mllp", target)

    result = halong("outbox", "--retry")

    assert result.status == 0, result.out
    history = assert_each_delivered_once(halong_home / "outbox", set(mllp_listener.received))
    assert len(history) == 5
    assert mllp_listener.applied == dict.fromkeys(history, 1)
    assert mllp_listener.received[in_doubt] == 2  # resent: nothing could tell the sender
    assert history[in_doubt] == ["interrupted", "delivered"]
    for key, attempts in history.items():  # never on the wire more often than written down
        assert mllp_listener.received[key] <= len(attempts)


def test_fhir_kill_9_after_the_emr_committed_a_transaction_creates_nothing_twice(
    fhir_server, halong, halong_home, tmp_path
):
    in_doubt = _send_and_kill_while_held(
        fhir_server, tmp_path, halong_home, "--fhir", fhir_server.url
    )

    result = halong("outbox", "--retry")

    assert result.status == 0, result.out
    history = assert_each_delivered_once(halong_home / "outbox", set(fhir_server.posts))
    assert history[in_doubt] == ["interrupted", "delivered"]
    assert fhir_server.posts[in_doubt] == 2  # posted again ...
    assert len(fhir_server.created) == 5 * 3 - 4  # ... but created nothing twice:
    assert set(fhir_server.created.values()) == {1}  # one Patient, 5 studies, 5 reports


def test_fhir_bearer_token_is_sent_and_a_refused_token_keeps_the_item(tmp_path):
    server = FhirServer(token="s3cret-token")
    server.start()
    try:
        (report,) = _reports(tmp_path, 1)
        token_file = tmp_path / "token"
        token_file.write_text("wrong-token\n")
        destination = Destination.fhir(HttpEndpoint(server.url, token_file=token_file))
        with Outbox.open(tmp_path / "outbox") as outbox:
            (key,) = _queue(outbox, destination, [report], "fhir-bundle")
            first = deliver(outbox)
            (item,) = outbox.items()
            assert (item.status, first.delivered) == ("pending", [])
            assert "credentials refused" in item.last_error
            token_file.write_text("s3cret-token\n")  # rotated: read again at the next try
            second = deliver(outbox, retry_now=True)
        assert second.delivered == [item.id]
        assert server.posts == {key: 1}
        assert "s3cret-token" not in (tmp_path / "outbox" / "outbox.sqlite").read_bytes().decode(
            "latin-1"
        )
    finally:
        server.stop()


def test_fhir_over_mutual_tls_presents_the_workstation_certificate(tmp_path):
    pki = make_pki(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=pki["ca"])
    context.load_cert_chain(pki["server_cert"], pki["server_key"])
    context.verify_mode = ssl.CERT_REQUIRED
    server = FhirServer(tls=context)
    server.start()
    try:
        (report,) = _reports(tmp_path, 1)
        anonymous = HttpEndpoint(
            server.url.replace("/fhir", "/anonymous"), tls=TlsFiles(ca_file=pki["ca"])
        )
        mutual = HttpEndpoint(
            server.url, tls=TlsFiles(pki["ca"], pki["client_cert"], pki["client_key"])
        )
        with Outbox.open(tmp_path / "outbox") as outbox:
            _queue(outbox, Destination.fhir(anonymous), [report], "fhir-bundle")
            _queue(outbox, Destination.fhir(mutual), [report], "fhir-bundle")
            report_ = deliver(outbox)
            statuses = {item.destination.address: item.status for item in outbox.items()}
        assert statuses == {anonymous.url: "pending", mutual.url: "delivered"}
        assert len(report_.delivered) == 1
        assert server.client_subjects == ["halong-test-client"]
    finally:
        server.stop()


def test_an_emr_refusal_is_kept_visible_and_does_not_block_the_next_message(
    mllp_listener, tmp_path
):
    reports = _reports(tmp_path, 2)
    mllp_listener.refuse = {reports[0]["control_id"]}
    with Outbox.open(tmp_path / "outbox") as outbox:
        _queue(outbox, Destination.mllp(f"127.0.0.1:{mllp_listener.port}"), reports, "hl7v2")
        deliver(outbox)
        statuses = {item.key: (item.status, item.last_error) for item in outbox.items()}
    refused, accepted = reports[0]["control_id"], reports[1]["control_id"]
    assert statuses[refused][0] == "rejected" and "AE" in statuses[refused][1]
    assert statuses[accepted] == ("delivered", None)
    assert outcomes(tmp_path / "outbox")[refused] == ["rejected"]
