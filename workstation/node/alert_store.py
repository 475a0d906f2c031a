"""Alerts and every step of their closed loop, in the node database.

An alert keeps the six elements the ACR practice parameter on communicating critical
results asks to document: the finding; when it was identified; by what (algorithm and
version); the recipient; when it was received and acknowledged; and how (the channel).
Each step (created, notified, received, escalated, acknowledged, no one left) is also a
row of ``node_alert_steps``, so the loop can be replayed. Times are Unix seconds.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workstation.model.report import Patient, SeriesRef, Study
from workstation.node.database import Tables, opened, transaction

_SCHEMA = """
CREATE TABLE IF NOT EXISTS node_alerts (
    id INTEGER PRIMARY KEY,
    uid TEXT NOT NULL UNIQUE,              -- names the alert outside (FHIR, e-mail)
    alert_key TEXT NOT NULL UNIQUE,        -- series and result folder: one alert each
    kind TEXT NOT NULL,                    -- lung | perfusion
    rule_ids TEXT NOT NULL,                -- JSON list of the rules met
    finding TEXT NOT NULL,
    patient_id TEXT NOT NULL,
    study_uid TEXT NOT NULL,
    series_uid TEXT NOT NULL,
    patient TEXT NOT NULL,                 -- JSON: as the result's DICOM names them
    study TEXT NOT NULL,                   -- JSON
    result_folder TEXT NOT NULL,
    summary_image TEXT,                    -- a file of the (sealed) result folder
    numbers TEXT NOT NULL,                 -- JSON: the result's key numbers
    lines TEXT NOT NULL,                   -- JSON: the same, as people read them
    algorithm TEXT NOT NULL,
    algorithm_version TEXT NOT NULL,
    identified_at REAL NOT NULL,           -- when the engine finished
    last_instance_at REAL,                 -- when the study's last image arrived
    created_at REAL NOT NULL,
    recipient TEXT NOT NULL,               -- the on-call person it is with now
    escalation_level INTEGER NOT NULL,     -- index of the recipient in the on-call list
    notified_at REAL NOT NULL,             -- when the recipient got it
    exhausted INTEGER NOT NULL DEFAULT 0,  -- escalated past the end of the list
    received_at REAL,
    received_by TEXT,
    received_via TEXT,
    acknowledged_at REAL,
    acknowledged_by TEXT,
    acknowledged_via TEXT
);
CREATE TABLE IF NOT EXISTS node_alert_steps (
    alert_id INTEGER NOT NULL REFERENCES node_alerts (id),
    number INTEGER NOT NULL,
    at REAL NOT NULL,
    step TEXT NOT NULL,    -- created | notified | received | escalated | acknowledged | exhausted
    actor TEXT NOT NULL,   -- who did it: a user, an API token, or the node
    channel TEXT NOT NULL, -- how: web page, api, fhir, e-mail, node
    detail TEXT NOT NULL,
    PRIMARY KEY (alert_id, number)
);
CREATE INDEX IF NOT EXISTS node_alerts_open ON node_alerts (acknowledged_at, notified_at);
"""
TABLES = Tables("alerts", 1, _SCHEMA)
#: Who the node itself is when it takes a step.
NODE = "halong-node"


@dataclass(frozen=True)
class AlertFacts:
    """What a result says, as an alert keeps it: the finding, whose, and by what."""

    kind: str
    rule_ids: tuple[str, ...]
    finding: str
    patient: Patient
    study: Study
    series_uid: str
    result_folder: Path
    summary_image: Path | None
    numbers: dict[str, Any]
    lines: tuple[str, ...]
    algorithm: str
    algorithm_version: str
    identified_at: float
    last_instance_at: float | None
    recipient: str


@dataclass(frozen=True)
class AlertDraft(AlertFacts):
    """An alert as :func:`workstation.node.alerts.on_result` makes it, before it is stored."""

    alert_key: str


@dataclass(frozen=True)
class Step:
    number: int
    at: float
    step: str
    actor: str
    channel: str
    detail: str


@dataclass(frozen=True)
class Alert(AlertFacts):
    """A stored alert and where its closed loop stands."""

    id: int
    uid: str
    created_at: float
    escalation_level: int
    notified_at: float
    exhausted: bool
    received_at: float | None
    received_by: str | None
    received_via: str | None
    acknowledged_at: float | None
    acknowledged_by: str | None
    acknowledged_via: str | None
    steps: tuple[Step, ...] = field(default=())

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_at is not None

    @property
    def patient_name(self) -> str:
        """``Family Given`` from the DICOM ``Family^Given``."""
        return " ".join(part for part in self.patient.name.split("^") if part)


def _alert(row: sqlite3.Row, steps: tuple[Step, ...]) -> Alert:
    values = dict(row)
    for column in ("alert_key", "patient_id", "study_uid"):
        values.pop(column)
    values["patient"] = Patient(**json.loads(values["patient"]))
    study = json.loads(values["study"])
    study["series"] = tuple(SeriesRef(**series) for series in study["series"])
    values["study"] = Study(**study)
    values["rule_ids"] = tuple(json.loads(values["rule_ids"]))
    values["numbers"] = json.loads(values["numbers"])
    values["lines"] = tuple(json.loads(values["lines"]))
    values["result_folder"] = Path(values["result_folder"])
    values["summary_image"] = Path(values["summary_image"]) if values["summary_image"] else None
    values["exhausted"] = bool(values["exhausted"])
    return Alert(**values, steps=steps)


class AlertStore:
    """The alert tables of one node database; every method is one short transaction."""

    def __init__(self, database: Path) -> None:
        self.database = database

    def create(self, draft: AlertDraft, now: float) -> tuple[Alert, bool]:
        """Store ``draft`` (with its created step); the same key again is the same alert.

        Returns the alert and whether it is new.
        """
        with opened(self.database, TABLES) as db, transaction(db):
            row = db.execute(
                "SELECT id FROM node_alerts WHERE alert_key = ?", (draft.alert_key,)
            ).fetchone()
            if row is not None:
                return self._read(db, row["id"]), False
            cursor = db.execute(
                "INSERT INTO node_alerts (uid, alert_key, kind, rule_ids, finding, patient_id, "
                "study_uid, series_uid, patient, study, result_folder, "
                "summary_image, numbers, lines, algorithm, algorithm_version, identified_at, "
                "last_instance_at, created_at, recipient, escalation_level, notified_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)",
                (
                    str(uuid.uuid4()),
                    draft.alert_key,
                    draft.kind,
                    json.dumps(list(draft.rule_ids)),
                    draft.finding,
                    draft.patient.patient_id,
                    draft.study.study_uid,
                    draft.series_uid,
                    json.dumps(dataclasses.asdict(draft.patient)),
                    json.dumps(dataclasses.asdict(draft.study)),
                    str(draft.result_folder),
                    str(draft.summary_image) if draft.summary_image else None,
                    json.dumps(draft.numbers),
                    json.dumps(list(draft.lines)),
                    draft.algorithm,
                    draft.algorithm_version,
                    draft.identified_at,
                    draft.last_instance_at,
                    now,
                    draft.recipient,
                    now,
                ),
            )
            alert_id = int(cursor.lastrowid or 0)
            detail = f"{draft.finding}; identified by {draft.algorithm} {draft.algorithm_version}"
            _add_step(db, alert_id, now, "created", NODE, "node", detail)
            return self._read(db, alert_id), True

    def get(self, alert_id: int) -> Alert | None:
        with opened(self.database, TABLES) as db:
            return self._read(db, alert_id)

    def recent(self, limit: int = 200) -> list[Alert]:
        """Open alerts first, then acknowledged ones, newest first within each; at most
        ``limit`` (the oldest acknowledged ones stay in the table, not on the page)."""
        with opened(self.database, TABLES) as db:
            rows = db.execute(
                "SELECT id FROM node_alerts "
                "ORDER BY acknowledged_at IS NOT NULL, created_at DESC LIMIT ?",
                (limit,),
            ).fetchall()
            return [alert for row in rows if (alert := self._read(db, row["id"]))]

    def due_for_escalation(self, now: float, within_s: float) -> list[Alert]:
        """Open alerts whose recipient has had them ``within_s`` or longer."""
        with opened(self.database, TABLES) as db:
            rows = db.execute(
                "SELECT id FROM node_alerts WHERE acknowledged_at IS NULL AND exhausted = 0 "
                "AND notified_at <= ? ORDER BY id",
                (now - within_s,),
            ).fetchall()
            return [alert for row in rows if (alert := self._read(db, row["id"]))]

    def add_step(
        self, alert_id: int, now: float, step: str, actor: str, channel: str, detail: str
    ) -> None:
        with opened(self.database, TABLES) as db, transaction(db):
            _add_step(db, alert_id, now, step, actor, channel, detail)

    def mark_received(self, alert_id: int, now: float, by: str, via: str) -> bool:
        """The first time the alert was shown to someone; False if it was before."""
        with opened(self.database, TABLES) as db, transaction(db):
            changed = db.execute(
                "UPDATE node_alerts SET received_at = ?, received_by = ?, received_via = ? "
                "WHERE id = ? AND received_at IS NULL",
                (now, by, via, alert_id),
            ).rowcount
            if changed:
                _add_step(db, alert_id, now, "received", by, via, f"shown to {by}")
            return bool(changed)

    def acknowledge(self, alert_id: int, now: float, by: str, via: str) -> bool:
        """Record the acknowledgement; False if the alert was acknowledged already."""
        with opened(self.database, TABLES) as db, transaction(db):
            changed = db.execute(
                "UPDATE node_alerts SET acknowledged_at = ?, acknowledged_by = ?, "
                "acknowledged_via = ?, received_at = COALESCE(received_at, ?), "
                "received_by = COALESCE(received_by, ?), received_via = COALESCE(received_via, ?) "
                "WHERE id = ? AND acknowledged_at IS NULL",
                (now, by, via, now, by, via, alert_id),
            ).rowcount
            if changed:
                _add_step(db, alert_id, now, "acknowledged", by, via, f"acknowledged by {by}")
            return bool(changed)

    def escalate(
        self, alert: Alert, now: float, recipient: str | None, level: int, waited_s: float
    ) -> bool:
        """Hand an open alert to ``recipient``, ``level`` in the on-call list (None: nobody
        is left); False if it was acknowledged or escalated meanwhile."""
        with opened(self.database, TABLES) as db, transaction(db):
            if recipient is None:
                changed = db.execute(
                    "UPDATE node_alerts SET exhausted = 1 "
                    "WHERE id = ? AND acknowledged_at IS NULL AND escalation_level = ?",
                    (alert.id, alert.escalation_level),
                ).rowcount
                detail = f"not acknowledged by {alert.recipient or 'anyone'} within "
                detail += f"{waited_s:.0f} s; no one left on the on-call list"
                step = "exhausted"
            else:
                changed = db.execute(
                    "UPDATE node_alerts SET recipient = ?, escalation_level = ?, notified_at = ? "
                    "WHERE id = ? AND acknowledged_at IS NULL AND escalation_level = ?",
                    (recipient, level, now, alert.id, alert.escalation_level),
                ).rowcount
                detail = f"not acknowledged by {alert.recipient or 'anyone'} within "
                detail += f"{waited_s:.0f} s; handed to {recipient}"
                step = "escalated"
            if changed:
                _add_step(db, alert.id, now, step, NODE, "node", detail)
            return bool(changed)

    def _read(self, db: sqlite3.Connection, alert_id: int) -> Alert | None:
        row = db.execute("SELECT * FROM node_alerts WHERE id = ?", (alert_id,)).fetchone()
        if row is None:
            return None
        steps = db.execute(
            "SELECT number, at, step, actor, channel, detail FROM node_alert_steps "
            "WHERE alert_id = ? ORDER BY number",
            (alert_id,),
        ).fetchall()
        return _alert(row, tuple(Step(**dict(step)) for step in steps))


def _add_step(
    db: sqlite3.Connection,
    alert_id: int,
    now: float,
    step: str,
    actor: str,
    channel: str,
    detail: str,
) -> None:
    db.execute(
        "INSERT INTO node_alert_steps (alert_id, number, at, step, actor, channel, detail) "
        "SELECT ?, COALESCE(MAX(number), 0) + 1, ?, ?, ?, ?, ? FROM node_alert_steps "
        "WHERE alert_id = ?",
        (alert_id, now, step, actor, channel, detail, alert_id),
    )
