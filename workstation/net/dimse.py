"""DICOM networking with pynetdicom: C-STORE to a PACS, and C-FIND / C-MOVE / C-GET from it.

Files are sent byte for byte from the outbox's copy (no decoding, no re-encoding), so a
signed object reaches the PACS exactly as it was signed; each presentation context
offers the file's own transfer syntax. Retrieval writes what arrives into a folder;
:mod:`~workstation.net.retrieve` imports it. With C-MOVE the PACS opens a second
association to Halong's storage SCP, which it must know by AE title, host and port, and
which admits only that PACS (:mod:`~workstation.net.receiver`); C-GET needs no such
setup and returns the files on the same association. A node with TLS files is reached
over DICOM TLS, its certificate and host verified (:mod:`~workstation.net.tls`).
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydicom import uid
from pydicom.dataset import Dataset
from pynetdicom import AE, AllStoragePresentationContexts, _config, build_role, evt
from pynetdicom.association import Association
from pynetdicom.sop_class import (
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelMove,
)

from workstation.model.progress import Cancelled, CancelToken, Progress
from workstation.net import tls
from workstation.net.destinations import DicomNode
from workstation.net.errors import NetworkError, RejectedError, TransientError
from workstation.net.receiver import Refusals, StudyWriter, local_address_towards, serve_move
from workstation.net.retrieve import STUDY_RETURN_KEYS, StudyQuery

if TYPE_CHECKING:
    from workstation.net.audit import AuditTrail
    from workstation.net.outbox import OutboxItem

# Stream files from disk as they are: never re-encode (signatures), never hold them in memory.
_config.STORE_SEND_CHUNKED_DATASET = True

DEFAULT_TIMEOUT_S = 30.0
RetrieveMethod = Literal["move", "get"]

#: What the storage side accepts: uncompressed and the compressions pydicom can decode.
RECEIVE_TRANSFER_SYNTAXES = [
    uid.ExplicitVRLittleEndian,
    uid.ImplicitVRLittleEndian,
    uid.DeflatedExplicitVRLittleEndian,
    uid.ExplicitVRBigEndian,
    uid.JPEGBaseline8Bit,
    uid.JPEGExtended12Bit,
    uid.JPEGLossless,
    uid.JPEGLosslessSV1,
    uid.JPEGLSLossless,
    uid.JPEGLSNearLossless,
    uid.JPEG2000Lossless,
    uid.JPEG2000,
    uid.RLELossless,
]
#: Storage classes offered for C-GET (one association holds at most 128 contexts).
GET_STORAGE_CLASSES = [
    "1.2.840.10008.5.1.4.1.1.2",  # CT Image
    "1.2.840.10008.5.1.4.1.1.2.1",  # Enhanced CT Image
    "1.2.840.10008.5.1.4.1.1.4",  # MR Image
    "1.2.840.10008.5.1.4.1.1.4.1",  # Enhanced MR Image
    "1.2.840.10008.5.1.4.1.1.128",  # PET Image
    "1.2.840.10008.5.1.4.1.1.130",  # Enhanced PET Image
    "1.2.840.10008.5.1.4.1.1.7",  # Secondary Capture Image
    "1.2.840.10008.5.1.4.1.1.1",  # Computed Radiography Image
    "1.2.840.10008.5.1.4.1.1.1.1",  # Digital X-Ray Image (presentation)
    "1.2.840.10008.5.1.4.1.1.30",  # Parametric Map
    "1.2.840.10008.5.1.4.1.1.66.4",  # Segmentation
    "1.2.840.10008.5.1.4.1.1.88.22",  # Enhanced SR
    "1.2.840.10008.5.1.4.1.1.88.33",  # Comprehensive SR
    "1.2.840.10008.5.1.4.1.1.88.34",  # Comprehensive 3D SR
    "1.2.840.10008.5.1.4.1.1.104.1",  # Encapsulated PDF
    "1.2.840.10008.5.1.4.1.1.11.1",  # Grayscale Softcopy Presentation State
    "1.2.840.10008.5.1.4.1.1.481.3",  # RT Structure Set
]
#: C-STORE statuses meaning the PACS now holds the instance.
_STORED = {0x0000, 0x0111, 0xB000, 0xB006, 0xB007}


def _new_ae(calling_aet: str, timeout_s: float) -> AE:
    ae = AE(ae_title=calling_aet)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = timeout_s
    ae.connection_timeout = timeout_s
    return ae


#: Associations a storage SCP serves at once (scanners, modalities, port probes).
MAX_STORAGE_ASSOCIATIONS = 64


def storage_scp_ae(ae_title: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> AE:
    """An AE accepting every storage class in the transfer syntaxes Halong can read,
    from up to :data:`MAX_STORAGE_ASSOCIATIONS` peers at once (pynetdicom's default of 10
    lets a few port probes, each held until the ACSE timeout, lock the scanners out)."""
    ae = _new_ae(ae_title, timeout_s)
    ae.maximum_associations = MAX_STORAGE_ASSOCIATIONS
    for context in AllStoragePresentationContexts:
        ae.add_supported_context(context.abstract_syntax, RECEIVE_TRANSFER_SYNTAXES)
    return ae


def _associate(ae: AE, node: DicomNode, **options: object) -> Association:
    """An established association (over TLS when the node has TLS files), or
    TransientError saying why not."""
    context = tls.client_context(node.tls) if node.tls.enabled else None
    if context is not None:
        options["tls_args"] = (context, node.host)  # the host name is checked too
    assoc = ae.associate(node.host, node.port, ae_title=node.ae_title, **options)
    if assoc.is_established:
        return assoc
    if assoc.is_rejected:
        raise TransientError(f"the PACS {node} refused the association (check the AE titles)")
    reason = _connection_failure(node, context, ae.connection_timeout)
    raise TransientError(f"the PACS {node} could not be reached: {reason}")


def _connection_failure(node: DicomNode, context: ssl.SSLContext | None, timeout_s: float) -> str:
    """Why connecting to ``node`` fails, found by trying once more (pynetdicom only logs it)."""
    try:
        with socket.create_connection((node.host, node.port), timeout=timeout_s) as raw:
            if context is not None:
                context.wrap_socket(raw, server_hostname=node.host).close()
    except OSError as error:
        return tls.describe_failure(error, "it") or error.strerror or str(error)
    if context is not None and not node.tls.cert_file:
        return "no answer over TLS (if it requires Halong's certificate: --tls-cert, --tls-key)"
    return "no answer to the association request"


def _status_code(status: Dataset) -> int | None:
    """The Status of a response, or None when none came (aborted, timed out)."""
    return int(status.Status) if "Status" in status else None


class DimseSender:
    """Sends queued DICOM files to one PACS over one association, opened when needed."""

    def __init__(
        self,
        node: DicomNode,
        calling_aet: str,
        items: Iterable[OutboxItem],
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self.node = node
        self._ae = _new_ae(calling_aet, timeout_s)
        syntaxes = {(i.meta["sop_class_uid"], i.meta["transfer_syntax_uid"]) for i in items}
        for sop_class, transfer_syntax in sorted(syntaxes)[:127]:
            self._ae.add_requested_context(sop_class, [transfer_syntax])
        self._ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
        self._assoc: Association | None = None

    def _association(self) -> Association:
        if self._assoc is None or not self._assoc.is_established:
            self._assoc = _associate(self._ae, self.node)
        return self._assoc

    def already_delivered(self, item: OutboxItem) -> bool:
        """Ask the PACS (C-FIND, IMAGE level) whether it holds the instance already."""
        query = Dataset()
        query.QueryRetrieveLevel = "IMAGE"
        query.StudyInstanceUID = item.meta["study_uid"]
        query.SeriesInstanceUID = item.meta["series_uid"]
        query.SOPInstanceUID = item.key
        model = StudyRootQueryRetrieveInformationModelFind
        try:
            responses = list(self._association().send_c_find(query, model))
        except (RuntimeError, ValueError):  # no Find context accepted: cannot tell
            return False
        self._check_alive()
        return any(_status_code(status) in (0xFF00, 0xFF01) for status, _ in responses)

    def send(self, item: OutboxItem) -> None:
        assoc = self._association()
        try:
            status = assoc.send_c_store(item.payload_path)
        except ValueError as error:  # no accepted presentation context for this object
            name = uid.UID(item.meta["sop_class_uid"]).name
            syntax = uid.UID(item.meta["transfer_syntax_uid"]).name
            message = f"the PACS {self.node} does not accept {name} in {syntax}"
            raise RejectedError(message) from error
        code = _status_code(status)
        if code is None:
            self._check_alive()
            raise TransientError(f"the PACS {self.node} gave no answer to C-STORE")
        if code in _STORED:
            return
        message = f"the PACS {self.node} answered C-STORE with status 0x{code:04X}"
        if code & 0xFF00 == 0xA700:  # out of resources
            raise TransientError(message)
        raise RejectedError(message)

    def _check_alive(self) -> None:
        if self._assoc is not None and not self._assoc.is_established:
            self._assoc = None
            raise TransientError(f"the association with {self.node} was lost")

    def close(self) -> None:
        if self._assoc is not None and self._assoc.is_established:
            self._assoc.release()
        self._assoc = None
        self._ae.shutdown()


class DimseSource:
    """A PACS queried with C-FIND and retrieved from with C-MOVE or C-GET."""

    def __init__(
        self,
        node: DicomNode,
        calling_aet: str,
        *,
        method: RetrieveMethod = "move",
        listen: tuple[str | None, int] = (None, 11112),
        audit: AuditTrail | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        """``listen`` is where the C-MOVE receiver binds: with no host, the local address
        that reaches the PACS. Refused peers and instances go to the ``audit`` trail."""
        self.node = node
        self.calling_aet = calling_aet
        self.method = method
        self.listen = listen
        self.audit = audit
        self.timeout_s = timeout_s

    def find_studies(self, query: StudyQuery) -> list[Dataset]:
        identifier = Dataset()
        identifier.SpecificCharacterSet = "ISO_IR 192"  # answers in UTF-8: Vietnamese names
        identifier.QueryRetrieveLevel = "STUDY"
        for keyword in STUDY_RETURN_KEYS:
            setattr(identifier, keyword, "")
        for keyword, value in query.matching_keys().items():
            setattr(identifier, keyword, value)
        ae = _new_ae(self.calling_aet, self.timeout_s)
        ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
        with _released(_associate(ae, self.node)) as assoc:
            model = StudyRootQueryRetrieveInformationModelFind
            responses = list(assoc.send_c_find(identifier, model))
        matches = [ds for status, ds in responses if _status_code(status) in (0xFF00, 0xFF01)]
        final = _status_code(responses[-1][0]) if responses else None
        if final != 0x0000:
            raise NetworkError(f"the PACS {self.node} failed the query ({_describe(final)})")
        return [ds for ds in matches if ds is not None]

    def fetch_study(
        self, study_uid: str, folder: Path, progress: Progress, cancel: CancelToken | None
    ) -> int:
        identifier = Dataset()
        identifier.QueryRetrieveLevel = "STUDY"
        identifier.StudyInstanceUID = study_uid
        writer = StudyWriter(folder, study_uid, Refusals(self.audit, self.calling_aet))
        if self.method == "get":
            self._get(identifier, writer, progress, cancel)
        else:
            self._move(identifier, writer, progress, cancel)
        return writer.received

    def _move(
        self,
        identifier: Dataset,
        writer: StudyWriter,
        progress: Progress,
        cancel: CancelToken | None,
    ) -> None:
        scp_ae = storage_scp_ae(self.calling_aet, self.timeout_s)
        with serve_move(scp_ae, self.node, self._listen_address(), writer):
            ae = _new_ae(self.calling_aet, self.timeout_s)
            ae.add_requested_context(StudyRootQueryRetrieveInformationModelMove)
            with _released(_associate(ae, self.node)) as assoc:
                model = StudyRootQueryRetrieveInformationModelMove
                responses = assoc.send_c_move(identifier, self.calling_aet, model)
                self._follow(assoc, responses, progress, cancel)

    def _listen_address(self) -> tuple[str, int]:
        host, port = self.listen
        return host or local_address_towards(self.node.host, self.node.port), port

    def _get(
        self,
        identifier: Dataset,
        writer: StudyWriter,
        progress: Progress,
        cancel: CancelToken | None,
    ) -> None:
        ae = _new_ae(self.calling_aet, self.timeout_s)
        ae.add_requested_context(StudyRootQueryRetrieveInformationModelGet)
        for sop_class in GET_STORAGE_CLASSES:
            ae.add_requested_context(sop_class, RECEIVE_TRANSFER_SYNTAXES)
        roles = [build_role(sop_class, scp_role=True) for sop_class in GET_STORAGE_CLASSES]
        handlers = [(evt.EVT_C_STORE, writer)]
        with _released(_associate(ae, self.node, ext_neg=roles, evt_handlers=handlers)) as assoc:
            responses = assoc.send_c_get(identifier, StudyRootQueryRetrieveInformationModelGet)
            self._follow(assoc, responses, progress, cancel)

    def _follow(
        self,
        assoc: Association,
        responses: Iterator[tuple[Dataset, Dataset | None]],
        progress: Progress,
        cancel: CancelToken | None,
    ) -> None:
        """Report sub-operation progress; raise unless the retrieve ended in success."""
        code = None
        for status, _ in responses:
            if cancel is not None and cancel.cancelled:
                assoc.abort()
                raise Cancelled("retrieve cancelled by the user")
            code = _status_code(status)
            done = sum(int(status.get(k) or 0) for k in _DONE_COUNTERS)
            remaining = int(status.get("NumberOfRemainingSuboperations") or 0)
            progress(done, done + remaining if code == 0xFF00 else done, "Retrieving")
        if code in (0x0000, 0xB000):
            return
        message = f"the PACS {self.node} failed the retrieve ({_describe(code)})"
        if self.method == "move" and code in (None, 0xA801):  # most often not registered
            host, port = self._listen_address()
            message += (
                f"; it may not know {self.calling_aet}: register it there as a DICOM modality "
                f"(AE title {self.calling_aet}, host {host}, port {port})"
            )
        raise NetworkError(message)


_DONE_COUNTERS = (
    "NumberOfCompletedSuboperations",
    "NumberOfFailedSuboperations",
    "NumberOfWarningSuboperations",
)


def _describe(code: int | None) -> str:
    return "no answer" if code is None else f"status 0x{code:04X}"


@contextmanager
def _released(assoc: Association) -> Iterator[Association]:
    """Use an association and release it (or abort it if it broke) afterwards."""
    try:
        yield assoc
    finally:
        if assoc.is_established:
            assoc.release()
