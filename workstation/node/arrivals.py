"""What the node received, series by series, and when a series is complete.

DICOM has no "end of series" message: a series is complete once no instance of it has
arrived for a while (``--stable-seconds``). Every arrival is written to the node
database as it is accepted, with what routing needs from its header, so completion and
routing survive a restart: a series that was still arriving when the node stopped is
complete on the next start as soon as its quiet time has passed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from workstation.dicom.instance import InstanceHeader
from workstation.node.database import Tables, TableStore, transaction
from workstation.node.routing import Arrival, SeriesFeatures, arrival_of, features_of

SeriesState = Literal["receiving", "routed", "ignored"]
_SCHEMA = """
CREATE TABLE IF NOT EXISTS received_series (
    series_uid TEXT PRIMARY KEY,
    study_uid TEXT NOT NULL,
    patient_id TEXT NOT NULL,
    calling_aet TEXT NOT NULL,          -- who sent it (the last sender)
    first_arrival_at REAL NOT NULL,     -- Unix time
    last_arrival_at REAL NOT NULL,
    instances INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('receiving', 'routed', 'ignored')),
    rule TEXT,                          -- the routing rule that took it
    note TEXT                           -- why it was ignored
);
CREATE INDEX IF NOT EXISTS received_by_state ON received_series (state, last_arrival_at);
CREATE TABLE IF NOT EXISTS received_instances (
    sop_instance_uid TEXT PRIMARY KEY,
    series_uid TEXT NOT NULL REFERENCES received_series (series_uid),
    arrived_at REAL NOT NULL,
    modality TEXT NOT NULL,
    body_part TEXT NOT NULL,
    series_description TEXT NOT NULL,
    study_description TEXT NOT NULL,
    slice_thickness_mm REAL,
    position TEXT,
    temporal_position INTEGER
);
CREATE INDEX IF NOT EXISTS received_by_series ON received_instances (series_uid);
"""
TABLES = Tables("arrivals", 1, _SCHEMA)
_ARRIVAL_FIELDS = tuple(Arrival.__dataclass_fields__)


@dataclass(frozen=True)
class ReceivedSeries:
    """One series as received."""

    series_uid: str
    study_uid: str
    patient_id: str
    calling_aet: str
    first_arrival_at: float
    last_arrival_at: float
    instances: int
    state: SeriesState
    rule: str | None
    note: str | None


class Arrivals(TableStore):
    """The received series and instances tables of the node database."""

    TABLES = TABLES

    def record(self, header: InstanceHeader, calling_aet: str, at: float) -> bool:
        """Note one accepted instance; False when it had arrived before (a resend).

        A new instance of a series already routed opens it again: it is routed anew once
        quiet, and a job that had started on it runs again on all its images.
        """
        arrival = arrival_of(header)
        with transaction(self._db) as db:
            added = db.execute(
                f"INSERT OR IGNORE INTO received_instances (sop_instance_uid, series_uid, "
                f"arrived_at, {', '.join(_ARRIVAL_FIELDS)}) "
                f"VALUES (?, ?, ?, {', '.join('?' * len(_ARRIVAL_FIELDS))})",
                (
                    header.sop_instance_uid,
                    header.series_uid,
                    at,
                    *(getattr(arrival, name) for name in _ARRIVAL_FIELDS),
                ),
            ).rowcount
            if not added:
                return False
            db.execute(
                "INSERT INTO received_series (series_uid, study_uid, patient_id, calling_aet, "
                "first_arrival_at, last_arrival_at, instances, state) "
                "VALUES (?, ?, ?, ?, ?, ?, 1, 'receiving') "
                "ON CONFLICT (series_uid) DO UPDATE SET "
                "last_arrival_at = excluded.last_arrival_at, instances = instances + 1, "
                "calling_aet = excluded.calling_aet, state = 'receiving'",
                (header.series_uid, header.study_uid, header.patient_id, calling_aet, at, at),
            )
        return True

    def complete(self, quiet_since: float) -> list[ReceivedSeries]:
        """Series still receiving whose last instance arrived at ``quiet_since`` or before."""
        rows = self._db.execute(
            "SELECT * FROM received_series WHERE state = 'receiving' AND last_arrival_at <= ? "
            "ORDER BY last_arrival_at",
            (quiet_since,),
        ).fetchall()
        return [ReceivedSeries(**dict(row)) for row in rows]

    def series(self, series_uid: str) -> ReceivedSeries | None:
        row = self._db.execute(
            "SELECT * FROM received_series WHERE series_uid = ?", (series_uid,)
        ).fetchone()
        return None if row is None else ReceivedSeries(**dict(row))

    def features(self, series_uid: str) -> SeriesFeatures:
        rows = self._db.execute(
            f"SELECT {', '.join(_ARRIVAL_FIELDS)} FROM received_instances WHERE series_uid = ?",
            (series_uid,),
        ).fetchall()
        return features_of(Arrival(**dict(row)) for row in rows)

    def settle(
        self, series: ReceivedSeries, state: SeriesState, rule: str | None, note: str | None = None
    ) -> None:
        """Record what routing decided for a complete series (unless an instance arrived
        meanwhile: then it stays receiving, to be routed again when quiet)."""
        with transaction(self._db) as db:
            db.execute(
                "UPDATE received_series SET state = ?, rule = ?, note = ? "
                "WHERE series_uid = ? AND state = 'receiving' AND last_arrival_at = ?",
                (state, rule, note, series.series_uid, series.last_arrival_at),
            )
