"""While a real C-MOVE from Orthanc runs, Halong's receiver admits Orthanc and its study only.

A second pynetdicom peer plays the spoofer, over real associations on loopback, which has
the whole of 127/8: Orthanc, so the PACS's address, is 127.0.0.1; the spoofer calls from
127.0.0.2 with Orthanc's AE title, from 127.0.0.1 with another title, and from 127.0.0.1
as ORTHANC with an instance of another patient's study; over TLS, with a certificate
another CA signed, and with Orthanc's own pair from another address. It strikes from the
retrieve's first progress report, so the receiver is up and the real transfer under way.
"""

from __future__ import annotations

import socket
import ssl
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from pydicom import dcmread
from pynetdicom import AE
from support.tls_certs import make_pki

from workstation.dicom.database import Database
from workstation.dicom.image_writer import SeriesInfo, write_volume
from workstation.model.volume import Volume
from workstation.net.audit import AuditTrail
from workstation.net.destinations import DicomNode, TlsFiles
from workstation.net.dimse import DimseSource
from workstation.net.receiver import local_address_towards
from workstation.net.retrieve import retrieve_study

ROOT = "1.2.826.0.1.3680043.10.511.89"
WANTED = SeriesInfo(patient_id="PAT-M", study_uid=f"{ROOT}.1", series_uid=f"{ROOT}.1.1")
SPOOFED = SeriesInfo(
    patient_id="SPOOF-1",
    patient_name="Spoofed^Patient",
    study_uid=f"{ROOT}.9",
    series_uid=f"{ROOT}.9.1",
)
NOT_AUTHORISED = 0x0124  # PS3.7 C-STORE "Refused: Not Authorized", from the standard


class OnFirstProgress:
    """A progress callback that runs the ``attacks`` once, while the receiver is up."""

    def __init__(self, attacks: dict[str, Callable[[], object]]) -> None:
        self.attacks = attacks
        self.outcomes: dict[str, object] = {}

    def __call__(self, done: int, total: int, text: str) -> None:
        if not self.outcomes:
            self.outcomes = {name: attack() for name, attack in self.attacks.items()}


def _associate(
    port: int, ae_title: str, source_host: str, file: Path, tls: ssl.SSLContext | None = None
):
    """An association to Halong's receiver on 127.0.0.1, offering what ``file`` needs."""
    meta = dcmread(file, stop_before_pixels=True).file_meta
    ae = AE(ae_title)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 10
    ae.add_requested_context(meta.MediaStorageSOPClassUID, [meta.TransferSyntaxUID])
    return ae.associate(
        "127.0.0.1",
        port,
        ae_title="HALONG",
        bind_address=(source_host, 0),
        tls_args=(tls, "127.0.0.1") if tls else None,
    )


def associating(*args, **kwargs) -> Callable[[], str]:
    def attack() -> str:
        assoc = _associate(*args, **kwargs)
        if assoc.is_established:
            assoc.release()
            return "established"
        return "rejected" if assoc.is_rejected else "failed"

    return attack


def storing(port: int, ae_title: str, source_host: str, file: Path) -> Callable[[], object]:
    def attack() -> object:
        assoc = _associate(port, ae_title, source_host, file)
        if not assoc.is_established:
            return "not established"
        status = assoc.send_c_store(file)
        assoc.release()
        return int(status.Status) if "Status" in status else None

    return attack


def connecting(host: str, port: int) -> Callable[[], str]:
    def attack() -> str:
        try:
            socket.create_connection((host, port), timeout=5).close()
        except ConnectionRefusedError:
            return "refused"
        return "connected"

    return attack


def _put_studies(pacs, folder: Path) -> Path:
    """``pacs`` holding the wanted 3-slice CT; a file of another patient's study, kept aside."""
    for path in write_volume(Volume(np.ones((3, 8, 6), np.int16)), folder / "wanted", WANTED):
        pacs.upload(path)
    (spoofed, *_) = write_volume(Volume(np.ones((1, 8, 6), np.int16)), folder / "spoof", SPOOFED)
    return spoofed


@pytest.fixture
def studies(orthanc, tmp_path) -> Path:
    return _put_studies(orthanc, tmp_path)


def _retrieve(source: DimseSource, home: Path, spoofer: OnFirstProgress):
    """Retrieve the wanted study into ``home``; the report and the studies then indexed."""
    with Database.open(home / "halong.sqlite") as db:
        report = retrieve_study(db, home / "store", source, WANTED.study_uid, progress=spoofer)
        return report, [(s.study_uid, s.patient_id) for s in db.studies()]


def _audit_events(folder: Path, event_code: str) -> list[ET.Element]:
    lines = [
        line
        for path in sorted(folder.glob("audit-*.log"))
        for line in path.read_text().split("\n")
        if line
    ]
    messages = [ET.fromstring(line) for line in lines]
    return [
        m for m in messages if m.find("EventIdentification/EventID").get("csd-code") == event_code
    ]


def _requestor(message: ET.Element) -> tuple[str, str]:
    (peer,) = [p for p in message.iter("ActiveParticipant") if p.get("UserIsRequestor") == "true"]
    return peer.get("UserID"), peer.get("NetworkAccessPointID")


def test_a_spoofing_peer_stores_nothing_during_a_real_c_move(
    orthanc, studies, halong_scp_port, tmp_path
):
    audit_folder = tmp_path / "audit"
    source = DimseSource(
        DicomNode.parse(orthanc.node),
        "HALONG",
        listen=(None, halong_scp_port),
        audit=AuditTrail(audit_folder),
    )
    port = halong_scp_port
    spoofer = OnFirstProgress(
        {
            "ORTHANC from 127.0.0.2": associating(port, "ORTHANC", "127.0.0.2", studies),
            "INTRUDER from 127.0.0.1": associating(port, "INTRUDER", "127.0.0.1", studies),
            "another study from ORTHANC": storing(port, "ORTHANC", "127.0.0.1", studies),
            "on 127.0.0.2": connecting("127.0.0.2", port),
        }
    )

    report, indexed = _retrieve(source, tmp_path / "home", spoofer)

    assert spoofer.outcomes == {
        "ORTHANC from 127.0.0.2": "rejected",
        "INTRUDER from 127.0.0.1": "rejected",
        "another study from ORTHANC": NOT_AUTHORISED,
        "on 127.0.0.2": "refused",  # bound to the address that reaches the PACS only
    }
    assert (report.received, report.imported.imported) == (3, 3)  # the real transfer whole
    assert indexed == [(WANTED.study_uid, "PAT-M")]
    files = [path for path in (tmp_path / "home" / "store").rglob("*") if path.is_file()]
    stored = [dcmread(path, stop_before_pixels=True) for path in files]
    assert len(stored) == 3 and {ds.PatientID for ds in stored} == {"PAT-M"}

    alerts = _audit_events(audit_folder, "110113")
    assert sorted(_requestor(m) for m in alerts) == [
        ("INTRUDER", "127.0.0.1"),
        ("ORTHANC", "127.0.0.2"),
    ]
    assert {m.find("EventIdentification").get("EventOutcomeIndicator") for m in alerts} == {"4"}
    (refused,) = _audit_events(audit_folder, "110104")
    assert refused.find("EventIdentification").get("EventOutcomeIndicator") == "4"
    subjects = {
        o.get("ParticipantObjectID") for o in refused.iter("ParticipantObjectIdentification")
    }
    assert {"SPOOF-1", SPOOFED.study_uid} <= subjects and WANTED.study_uid not in subjects


def test_the_default_listen_address_is_the_interface_that_reaches_the_pacs():
    assert local_address_towards("127.0.0.1", 104) == "127.0.0.1"
    assert local_address_towards("127.0.0.5", 104) == "127.0.0.1"  # the route is loopback's


def test_a_refused_c_move_names_the_listen_address_to_register(
    orthanc, studies, halong, halong_scp_port
):
    source = ["--pacs", orthanc.node, "--port", str(halong_scp_port), "--calling-aet", "STRANGER"]
    result = halong("retrieve", WANTED.study_uid, *source, "--listen", "127.0.0.1")
    assert result.status == 2
    assert f"host 127.0.0.1, port {halong_scp_port}" in result.err


def test_over_tls_a_peer_needs_a_certificate_the_ca_signed_and_the_pacs_address(
    orthanc_tls, pki, halong_scp_port, tmp_path
):
    spoofed = _put_studies(orthanc_tls, tmp_path)
    (tmp_path / "stranger").mkdir()
    stranger = make_pki(tmp_path / "stranger")
    stolen = _spoofer_context(pki["server_cert"], pki["server_key"])  # Orthanc's own pair
    forged = _spoofer_context(stranger["server_cert"], stranger["server_key"])
    port, audit_folder = halong_scp_port, tmp_path / "audit"
    spoofer = OnFirstProgress(
        {
            "forged certificate": associating(port, "ORTHANC", "127.0.0.1", spoofed, forged),
            "stolen certificate, other address": associating(
                port, "ORTHANC", "127.0.0.2", spoofed, stolen
            ),
        }
    )
    tls = TlsFiles(pki["ca"], pki["client_cert"], pki["client_key"])
    source = DimseSource(
        DicomNode.parse(orthanc_tls.node, tls),
        "HALONG",
        listen=(None, port),
        audit=AuditTrail(audit_folder),
    )

    report, indexed = _retrieve(source, tmp_path / "home", spoofer)

    assert spoofer.outcomes == {
        "forged certificate": "failed",  # the handshake fails: no association at all
        "stolen certificate, other address": "rejected",
    }
    assert report.received == 3 and indexed == [(WANTED.study_uid, "PAT-M")]
    alerts = _audit_events(audit_folder, "110113")
    assert sorted(_requestor(m) for m in alerts) == [
        ("ORTHANC", "127.0.0.2"),
        ("unknown", "127.0.0.1"),
    ]


def _spoofer_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A TLS client showing ``cert`` and trusting anything, as an attacker would."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.load_cert_chain(cert, key)
    return context
