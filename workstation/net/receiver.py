"""What Halong's storage SCPs accept: the peers allowed, each from its own host.

While Halong retrieves a study it accepts the PACS it asked and the study it asked for;
the triage node (:mod:`workstation.node`) accepts its allowed scanners through the same
:func:`serve_storage` and :class:`Admission`.

For a C-MOVE the PACS opens an association back to a storage SCP Halong runs for the
length of the retrieve. Trusting the calling AE title alone let any peer that knew it
inject a patient, so :func:`serve_move` binds to one address, admits only the PACS's AE
title calling from one of the PACS's own IP addresses (and, with TLS, showing a
certificate the CA signed), and :class:`StudyWriter` stores only instances of the
requested study; C-GET arrives on Halong's own association, and the same writer guards
it. Each refusal is written to the audit trail.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
import ssl
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from pynetdicom import AE, evt

from workstation.net import audit, tls
from workstation.net.destinations import DestinationError, DicomNode, TlsFiles, check_ae_title
from workstation.net.errors import NetworkError

#: C-STORE "Refused: Not Authorized" (PS3.7 C.4): this peer may not store this instance.
NOT_AUTHORISED = 0x0124
_OUT_OF_RESOURCES = 0xA700
#: A-ASSOCIATE-RJ: rejected permanently, by the service user, no reason given (PS3.8 9.3.4).
_REJECT_PERMANENT, _BY_USER, _NO_REASON = 0x01, 0x01, 0x01
_REJECT_REASONS = {0x03: "calling AE title not recognised", 0x07: "called AE title not ours"}
_SAFE_NAME = re.compile(r"[0-9.]{1,64}")
_log = logging.getLogger(__name__)

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def local_address_towards(host: str, port: int) -> str:
    """The address of the local interface that reaches ``host`` (no packet is sent)."""
    try:
        family, kind, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
        with socket.socket(family, kind) as probe:
            probe.connect(address)  # UDP: only picks the route and so the local address
            return str(probe.getsockname()[0])
    except OSError as error:
        raise NetworkError(
            f"cannot tell which local address reaches {host} ({error}); give it with --listen"
        ) from error


def host_addresses(host: str) -> frozenset[IpAddress]:
    """Every IP address ``host`` names (itself when it is one)."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError as error:
        raise NetworkError(f"cannot resolve the host {host} ({error})") from error
    return frozenset(_ip(str(info[4][0])) for info in infos)


def _ip(text: str) -> IpAddress:
    """An address, IPv4-mapped IPv6 (``::ffff:10.0.0.5``) taken as the IPv4 it is."""
    address = ipaddress.ip_address(text.partition("%")[0])
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


class Refusals:
    """Logs and audits what the receiver turns away; called from pynetdicom's threads."""

    def __init__(self, trail: audit.AuditTrail | None, receiver_aet: str) -> None:
        self.trail = trail
        self.receiver_aet = receiver_aet
        self._lock = threading.Lock()  # one audit record at a time

    def peer(self, ae_title: str, address: str, reason: str) -> None:
        _log.warning("refused an association from %s at %s: %s", ae_title, address, reason)
        if self.trail is not None:
            with self._lock:
                audit.record_refused_peer(
                    self.trail,
                    peer_ae=ae_title,
                    peer_address=address,
                    receiver=self.receiver_aet,
                    reason=reason,
                )

    def instance(self, ae_title: str, address: str, patient_id: str, study_uid: str) -> None:
        _log.warning("refused an instance of another study from %s at %s", ae_title, address)
        if self.trail is not None:
            with self._lock:
                audit.record_transfer(
                    self.trail,
                    source=f"{ae_title}@{address}",
                    destination=self.receiver_aet,
                    patient_ids=[patient_id],
                    study_uids=[study_uid],
                    sop_instance_count=1,
                    outcome=4,
                )


class StudyWriter:
    """An EVT_C_STORE handler writing each instance of one study into a folder as is."""

    def __init__(self, folder: Path, study_uid: str, refusals: Refusals) -> None:
        self.folder = folder
        self.study_uid = study_uid
        self.refusals = refusals
        self.received = 0

    def __call__(self, event: evt.Event) -> int:
        dataset = event.dataset
        study_uid = str(dataset.get("StudyInstanceUID", ""))
        if study_uid != self.study_uid:
            remote, patient_id = event.assoc.remote, str(dataset.get("PatientID", ""))
            self.refusals.instance(remote["ae_title"], remote["address"], patient_id, study_uid)
            return NOT_AUTHORISED
        sop_uid = str(event.request.AffectedSOPInstanceUID)
        name = sop_uid if _SAFE_NAME.fullmatch(sop_uid) else f"instance-{self.received}"
        try:
            with open(self.folder / f"{name}.dcm", "wb") as file:
                file.write(event.encoded_dataset(include_meta=True))
        except OSError:
            _log.exception("cannot write a received instance")
            return _OUT_OF_RESOURCES  # the PACS reports the sub-operation failed
        self.received += 1
        return 0x0000


@dataclass(frozen=True)
class Peer:
    """A DICOM peer that may open associations: its AE title, calling from ``host`` only."""

    ae_title: str
    host: str

    @classmethod
    def parse(cls, text: str) -> Self:
        """``AET@HOST`` (the host an IP address or a name), as ``--allow`` takes it."""
        title, at, host = text.strip().partition("@")
        if not at or not host or any(c.isspace() for c in host):
            raise DestinationError(f"{text!r} is not AET@HOST (e.g. CTSCANNER@10.0.0.7)")
        return cls(check_ae_title(title), host.strip("[]"))

    def __str__(self) -> str:
        return f"{self.ae_title}@{self.host}"


class Admission:
    """Admits associations from the allowed peers only: each AE title from its own host."""

    def __init__(self, peers: Sequence[Peer], refusals: Refusals) -> None:
        self.peers = {peer: host_addresses(peer.host) for peer in peers}
        self.refusals = refusals

    def requested(self, event: evt.Event) -> None:
        """EVT_REQUESTED: reject a calling AE title that is not allowed from this address."""
        address = str(event.assoc.requestor.address)
        calling = str(event.assoc.requestor.primitive.calling_ae_title).strip()
        hosts = [peer.host for peer in self.peers if peer.ae_title == calling]
        if any(_ip(address) in self.peers[Peer(calling, host)] for host in hosts):
            return  # pynetdicom then checks the called AE title
        event.assoc.acse.send_reject(_REJECT_PERMANENT, _BY_USER, _NO_REASON)
        if hosts:
            reason = f"calling from {address}, not from its allowed host {' or '.join(hosts)}"
        else:
            reason = _REJECT_REASONS[0x03]
        self.refusals.peer(calling, address, reason)

    def rejected(self, event: evt.Event) -> None:
        """EVT_REJECTED: pynetdicom refused the called AE title (or was too busy)."""
        requestor = event.assoc.requestor
        diagnostic = getattr(event.assoc.acceptor.primitive, "diagnostic", None)
        reason = _REJECT_REASONS.get(diagnostic, "too many associations")
        self.refusals.peer(str(requestor.ae_title).strip(), str(requestor.address), reason)


@contextmanager
def serve_storage(
    ae: AE,
    peers: Sequence[Peer],
    listen: tuple[str, int],
    handlers: Sequence[tuple[evt.EventType, Callable[..., object]]],
    refusals: Refusals,
    tls_files: TlsFiles | None = None,
) -> Iterator[None]:
    """Run ``ae`` (its storage contexts added) as a storage SCP while in the block.

    It listens on ``listen`` only and admits only ``peers``, each from its own host;
    with ``tls_files`` naming any file it speaks TLS and requires a certificate their CA signed.
    """
    admission = Admission(peers, refusals)
    ae.require_called_aet = True
    handlers = [
        (evt.EVT_REQUESTED, admission.requested),
        (evt.EVT_REJECTED, admission.rejected),
        *handlers,
    ]
    context = None
    if tls_files is not None and tls_files.enabled:
        context = _audited(tls.server_context(tls_files), refusals, ae.acse_timeout)
    try:
        server = ae.start_server(listen, block=False, evt_handlers=handlers, ssl_context=context)
    except OSError as error:
        where = f"{listen[0]}:{listen[1]}"
        raise NetworkError(f"cannot listen for DICOM on {where}: {error}") from error
    try:
        yield
    finally:
        server.shutdown()


@contextmanager
def serve_move(
    ae: AE, node: DicomNode, listen: tuple[str, int], writer: StudyWriter
) -> Iterator[None]:
    """Run ``ae`` (its storage contexts added) as the C-MOVE destination while in the block.

    It listens on ``listen`` only, admits only ``node`` and, when the node uses TLS,
    speaks TLS and requires the PACS's certificate.
    """
    peer = Peer(node.ae_title, node.host)
    handlers = [(evt.EVT_C_STORE, writer)]
    with serve_storage(ae, [peer], listen, handlers, writer.refusals, node.tls):
        yield


def _audited(context: ssl.SSLContext, refusals: Refusals, timeout_s: float) -> ssl.SSLContext:
    """The receiver's context, its handshakes time-limited (they run in the accepting
    thread) and their failures audited: a peer without a trusted certificate is refused
    before pynetdicom sees an association, so no event handler would hear of it."""

    class HandshakeSocket(ssl.SSLSocket):
        def do_handshake(self, block: bool = False) -> None:
            address, previous = str(self.getpeername()[0]), self.gettimeout()
            self.settimeout(timeout_s)
            try:
                super().do_handshake(block)
            except OSError as error:
                reason = tls.describe_failure(error, "the peer", advise=False) or str(error)
                refusals.peer("unknown", address, reason)
                raise
            finally:
                self.settimeout(previous)

    context.sslsocket_class = HandshakeSocket
    return context
