"""The node's C-STORE SCP: each instance kept durably, indexed, and its arrival noted.

The scanner hears "success" only once the instance is safe: its header read as the
importer reads a file (so what the node accepts is what ``halong import`` would), its
file written beside its place in the store, fsync'ed and renamed into place with the
folder synced, indexed in Halong's database, and its arrival recorded in the node's
database. Anything short of that is answered with a failure status, so the scanner
keeps the instance and sends it again. Which peers may connect is the job of
:func:`workstation.net.receiver.serve_storage`; each association that stored
something is audited as one DICOM Instances Transferred.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset
from pynetdicom import evt

from workstation.dicom.database import Database, DatabaseError, index_row
from workstation.dicom.headers import InstanceHeader, UnusableFile, header_from_dataset
from workstation.dicom.importer import store_path
from workstation.home import HalongHome
from workstation.model.durable import sync_folder, write_atomically
from workstation.net import audit
from workstation.node.arrivals import Arrivals
from workstation.node.database import NodeDatabaseError

#: C-STORE statuses (PS3.4 GG.4): out of resources (try again), cannot understand.
OUT_OF_RESOURCES = 0xA700
CANNOT_UNDERSTAND = 0xC000
#: What a DICOM UID is (PS3.5 9.1); the node files results under them, so nothing else.
_UID = re.compile(r"[0-9]+(\.[0-9]+)*")
_log = logging.getLogger(__name__)


@dataclass
class _Transfer:
    """What one association stored, for its audit record."""

    source: str
    patient_ids: set[str] = field(default_factory=set)
    study_uids: set[str] = field(default_factory=set)
    count: int = 0


class Transfers:
    """Counts what each association stores; audits it when the connection closes."""

    def __init__(self, trail: audit.AuditTrail | None, receiver_aet: str) -> None:
        self.trail = trail
        self.receiver_aet = receiver_aet
        self._open: dict[int, _Transfer] = {}
        self._lock = threading.Lock()

    def stored(self, event: evt.Event, header: InstanceHeader) -> None:
        remote = event.assoc.remote
        with self._lock:
            transfer = self._open.setdefault(
                id(event.assoc), _Transfer(f"{remote['ae_title'].strip()}@{remote['address']}")
            )
            transfer.patient_ids.add(header.patient_id)
            transfer.study_uids.add(header.study_uid)
            transfer.count += 1

    def closed(self, event: evt.Event) -> None:
        """EVT_CONN_CLOSE: one audit record of what the association stored, if anything."""
        with self._lock:
            transfer = self._open.pop(id(event.assoc), None)
            if transfer is None or self.trail is None:
                return
            try:
                audit.record_transfer(
                    self.trail,
                    source=transfer.source,
                    destination=self.receiver_aet,
                    patient_ids=sorted(transfer.patient_ids),
                    study_uids=sorted(transfer.study_uids),
                    sop_instance_count=transfer.count,
                )
            except OSError:
                _log.exception("cannot write the audit trail")


class NodeStorage:
    """The EVT_C_STORE handler: keep, index, record; the status says whether it is safe."""

    def __init__(
        self,
        home: HalongHome,
        node_database: Path,
        transfers: Transfers,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.home = home
        self.node_database = node_database
        self.transfers = transfers
        self.clock = clock

    def __call__(self, event: evt.Event) -> int | Dataset:
        try:
            header = self._keep(event)
            with Database.open(self.home.database_path) as db:
                db.add([index_row(header, header.path)])
            with Arrivals.open(self.node_database) as arrivals:
                arrivals.record(header, event.assoc.remote["ae_title"].strip(), self.clock())
        except UnusableFile as error:
            _log.warning("refused an instance: %s", error.reason)
            return _status(CANNOT_UNDERSTAND, error.reason)
        except (OSError, DatabaseError, NodeDatabaseError, sqlite3.Error) as error:
            _log.error("cannot keep a received instance: %s", error)
            return _status(OUT_OF_RESOURCES, "the node cannot store it now; send it again")
        self.transfers.stored(event, header)
        return 0x0000

    def _keep(self, event: evt.Event) -> InstanceHeader:
        """The instance's file in the store, durably; its header (path: the stored file).

        The header is read from the bytes about to be written, as the importer reads a
        file: what it would refuse is refused before anything is stored.
        """
        data = event.encoded_dataset(include_meta=True)
        label = f"instance {event.request.AffectedSOPInstanceUID}"
        try:
            dataset = pydicom.dcmread(io.BytesIO(data))
        except Exception as error:  # pydicom raises many kinds on corrupt input
            raise UnusableFile(label, f"corrupt DICOM ({error})") from error
        header = header_from_dataset(dataset, label, len(data))
        uids = (header.study_uid, header.series_uid, header.sop_instance_uid)
        if not all(len(uid) <= 64 and _UID.fullmatch(uid) for uid in uids):
            raise UnusableFile(label, "its study, series or instance UID is not a DICOM UID")
        target = store_path(self.home.store, header)
        _make_folders(target.parent)
        write_atomically(target, data)
        header.path = str(target)
        return header


def _make_folders(folder: Path) -> None:
    """Create ``folder`` and its missing parents, each creation made durable."""
    if folder.is_dir():
        return
    _make_folders(folder.parent)
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=0o700)
        sync_folder(folder.parent)


def _status(code: int, comment: str) -> Dataset:
    status = Dataset()
    status.Status = code
    status.ErrorComment = comment[:64]
    return status
