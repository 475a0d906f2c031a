"""The node's storage SCP: what a scanner sends is stored whole, owner-only and indexed;
strangers and impostors are refused and audited; what is not an image is refused, saying
why. The scanner is dcmtk's storescu; spoofers are pynetdicom peers on loopback (all of
127/8 is local, so a peer can call from 127.0.0.2 as a host other than the scanner's).
"""

from __future__ import annotations

import sqlite3
import stat
import xml.etree.ElementTree as ET
from pathlib import Path

import pydicom
import pytest
from pynetdicom import AE
from support.audit_trails import read_chain
from support.dicom_validation import small_ct
from support.net_fixtures import wait_for
from support.node_runs import received_series, running_node, send_folder
from support.orthanc_server import free_port

#: Never reached: no series completes within the test (the quiet time is an hour).
QUIET = {"stable_seconds": 3600, "pacs": ["PACS@127.0.0.1:9"], "http": "off"}


@pytest.fixture
def node(tmp_path: Path):
    port = free_port()
    values = {"aet": "HALONG", "port": port, "listen": "127.0.0.1", **QUIET}
    values["allow"] = ["STORESCU@127.0.0.1"]
    with running_node(tmp_path / "home", values) as service:
        yield service, port


def _events(home: Path, code: str) -> list[ET.Element]:
    messages = [record.message for record in read_chain(home / "audit")]
    return [m for m in messages if m.find("EventIdentification/EventID").get("csd-code") == code]


def _requestors(message: ET.Element) -> list[tuple[str, str]]:
    return [
        (p.get("UserID"), p.get("NetworkAccessPointID"))
        for p in message.iter("ActiveParticipant")
        if p.get("UserIsRequestor") == "true"
    ]


def test_a_sent_series_is_stored_whole_owner_only_indexed_and_audited(node, tmp_path) -> None:
    service, port = node
    _, headers = small_ct(tmp_path / "sent")
    send_folder(tmp_path / "sent", port)

    sent = {p.name: pydicom.dcmread(p) for p in (tmp_path / "sent").iterdir()}
    with sqlite3.connect(service.home.database_path) as db:
        indexed = dict(db.execute("SELECT sop_instance_uid, path FROM instances"))
    assert set(indexed) == {ds.SOPInstanceUID for ds in sent.values()}
    for original in sent.values():
        stored = Path(indexed[original.SOPInstanceUID])
        assert stored.is_relative_to(service.home.store)
        assert pydicom.dcmread(stored).PixelData == original.PixelData
        assert stat.S_IMODE(stored.stat().st_mode) == 0o600
        assert stat.S_IMODE(stored.parent.stat().st_mode) == 0o700
    assert not list(service.home.store.rglob(".*"))  # no half-written file left

    (series,) = received_series(service.home.root)
    assert (series["instances"], series["state"], series["calling_aet"]) == (
        24,
        "receiving",
        "STORESCU",
    )
    (transfer,) = _events(service.home.root, "110104")  # DICOM Instances Transferred
    participants = {p.get("UserID") for p in transfer.iter("ActiveParticipant")}
    assert {"STORESCU@127.0.0.1", "HALONG"} <= participants
    subjects = {
        o.get("ParticipantObjectID") for o in transfer.iter("ParticipantObjectIdentification")
    }
    assert headers[0].StudyInstanceUID in subjects


def _associate(port: int, ae_title: str, source_host: str):
    ae = AE(ae_title)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 60  # generous on a busy machine
    ae.add_requested_context(
        "1.2.840.10008.5.1.4.1.1.2", ["1.2.840.10008.1.2.1"]
    )  # CT, explicit LE
    return ae.associate("127.0.0.1", port, ae_title="HALONG", bind_address=(source_host, 0))


def test_a_stranger_and_an_impostor_are_refused_and_audited(node) -> None:
    service, port = node
    stranger = _associate(port, "INTRUDER", "127.0.0.1")
    impostor = _associate(port, "STORESCU", "127.0.0.2")  # the scanner's title, another host
    assert stranger.is_rejected and impostor.is_rejected

    wait_for(lambda: len(_events(service.home.root, "110113")) == 2, what="two audit records")
    alerts = _events(service.home.root, "110113")  # Security Alert
    assert sorted(r for m in alerts for r in _requestors(m)) == [
        ("INTRUDER", "127.0.0.1"),
        ("STORESCU", "127.0.0.2"),
    ]
    assert {m.find("EventIdentification").get("EventOutcomeIndicator") for m in alerts} == {"4"}
    assert not received_series(service.home.root)


def test_an_object_that_is_not_an_image_is_refused_with_its_reason(node, tmp_path) -> None:
    service, port = node
    small_ct(tmp_path / "ct")
    dataset = pydicom.dcmread(next((tmp_path / "ct").iterdir()))
    del dataset.PixelData
    assoc = _associate(port, "STORESCU", "127.0.0.1")
    assert assoc.is_established
    status = assoc.send_c_store(dataset)
    assoc.release()
    assert status.Status == 0xC000  # PS3.4 C-STORE "Error: Cannot understand"
    assert "pixel data" in status.ErrorComment
    assert not received_series(service.home.root)
