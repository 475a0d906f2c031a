"""``halong send`` and ``halong outbox`` as a user runs them, against real receivers."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from support.net_fixtures import fhir_server, halong_scp_port, mllp_listener, orthanc
from support.report_files import write_report_folder

__all__ = ["fhir_server", "halong_scp_port", "mllp_listener", "orthanc"]  # fixtures used here


def _event_codes(home: Path) -> list[str]:
    paths = sorted((home / "audit").glob("audit-*.log"))
    messages = [ET.fromstring(line) for path in paths for line in path.read_text().splitlines()]
    return [message.find("EventIdentification/EventID").get("csd-code") for message in messages]


def test_send_delivers_a_report_folder_to_pacs_and_emr_and_never_twice(
    halong,
    halong_home,
    orthanc,
    mllp_listener,
    fhir_server,
    tmp_path,
):
    facts = write_report_folder(tmp_path / "report", 1, images=3)
    destinations = ["--pacs", orthanc.node, "--dicomweb", orthanc.dicomweb_url]
    destinations += ["--fhir", fhir_server.url, "--mllp", f"127.0.0.1:{mllp_listener.port}"]

    result = halong("send", tmp_path / "report", *destinations, "--json")

    assert result.status == 0, result.out + result.err
    items = result.json()
    assert len(items) == 3 + 3 + 1 + 1
    assert {item["status"] for item in items} == {"delivered"}
    assert orthanc.instance_count() == 3
    assert mllp_listener.received == {facts["control_id"]: 1}
    assert fhir_server.posts == {facts["bundle_key"]: 1}
    assert sorted(_event_codes(halong_home)) == ["110104", "110104", "110106", "110106"]

    again = halong("send", tmp_path / "report", *destinations)

    assert again.status == 0
    assert "8 of 8 delivered." in again.out
    assert mllp_listener.received == {facts["control_id"]: 1}  # nothing went out again
    assert fhir_server.posts == {facts["bundle_key"]: 1}
    listed = halong("outbox", "--json").json()
    assert [item["attempts"] for item in listed] == [1] * 8


def test_a_destination_that_is_down_keeps_the_report_until_outbox_retry(
    halong,
    mllp_listener,
    tmp_path,
):
    facts = write_report_folder(tmp_path / "report", 2, images=0)
    mllp_listener.stop()
    target = f"127.0.0.1:{mllp_listener.port}"

    sent = halong("send", tmp_path / "report", "--mllp", target)

    assert sent.status == 1
    assert "0 of 1 delivered. The rest stays queued" in sent.out
    (waiting,) = halong("outbox", "--json").json()
    assert (waiting["status"], waiting["key"]) == ("pending", facts["control_id"])
    assert "Connection refused" in waiting["last_error"]
    assert halong("outbox", "--retry").status == 1  # still down

    mllp_listener.start()
    retried = halong("outbox", "--retry", "--json")

    assert retried.status == 0
    assert [item["status"] for item in retried.json()] == ["delivered"]
    assert mllp_listener.received == {facts["control_id"]: 1}


def test_send_explains_what_is_wrong_without_a_traceback(halong, tmp_path):
    write_report_folder(tmp_path / "report", 3, images=0)
    assert halong("send", tmp_path / "report").status == 2
    nothing = halong("send", tmp_path / "report", "--pacs", "PACS@127.0.0.1:104")
    assert nothing.status == 2 and "nothing to send to dimse:PACS@127.0.0.1:104" in nothing.err
    bad = halong("send", tmp_path / "report", "--pacs", "PACS-no-port")
    assert bad.status == 2 and "AET@HOST:PORT" in bad.err
    assert halong("outbox").out.strip() == "The outbox is empty."
