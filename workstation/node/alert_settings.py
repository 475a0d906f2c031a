"""Where alerts go and who answers them, kept in the node database.

The on-call list changes more often than the node restarts, and the workers that call
:func:`workstation.node.alerts.on_result` need the same settings as the web page, so
they live in one row of the node database: ``halong node alerts`` sets them, the node
core may set the FHIR destination it was started with (:func:`save_settings`). Only
addresses and the *paths* of credentials are kept, never a secret.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workstation.net.destinations import Destination, HttpEndpoint
from workstation.node.database import Tables, opened, transaction

#: How long an alert waits for its acknowledgement before the next on-call person gets it.
DEFAULT_ACKNOWLEDGE_WITHIN_S = 600.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS node_alert_settings (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    document TEXT NOT NULL,
    updated_at REAL NOT NULL
);
"""
TABLES = Tables("alert-settings", 1, _SCHEMA)


@dataclass(frozen=True)
class AlertSettings:
    """Delivery and escalation of alerts."""

    #: The EMR's FHIR base (a Destination of kind ``fhir``) for Communication resources.
    fhir: Destination | None = None
    #: The mail server (kind ``smtp``) and the sender's address, for e-mail notices.
    smtp: Destination | None = None
    mail_from: str = ""
    #: User names, in escalation order; the first gets each new alert.
    on_call: tuple[str, ...] = ()
    acknowledge_within_s: float = DEFAULT_ACKNOWLEDGE_WITHIN_S
    #: A hospital's own rules file (default: resources/rules/node_alerts.json).
    rules_file: Path | None = None
    #: The web page's address as the stroke team reaches it, for links in e-mails.
    page_url: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "fhir": _destination_json(self.fhir),
            "smtp": _destination_json(self.smtp),
            "mail_from": self.mail_from,
            "on_call": list(self.on_call),
            "acknowledge_within_s": self.acknowledge_within_s,
            "rules_file": str(self.rules_file) if self.rules_file else None,
            "page_url": self.page_url,
        }

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> AlertSettings:
        rules = document.get("rules_file")
        return cls(
            fhir=_destination(document.get("fhir")),
            smtp=_destination(document.get("smtp")),
            mail_from=str(document.get("mail_from") or ""),
            on_call=tuple(document.get("on_call") or ()),
            acknowledge_within_s=float(
                document.get("acknowledge_within_s") or DEFAULT_ACKNOWLEDGE_WITHIN_S
            ),
            rules_file=Path(rules) if rules else None,
            page_url=str(document.get("page_url") or ""),
        )


def _destination_json(destination: Destination | None) -> dict[str, Any] | None:
    if destination is None:
        return None
    return {
        "kind": destination.kind,
        "address": destination.address,
        "options": dict(destination.options),
    }


def _destination(document: dict[str, Any] | None) -> Destination | None:
    if not document:
        return None
    return Destination(document["kind"], document["address"], document.get("options") or {})


def load_settings(database: Path) -> AlertSettings:
    """The saved settings, or the defaults (nothing sent, nobody on call)."""
    with opened(database, TABLES) as db:
        row = db.execute("SELECT document FROM node_alert_settings WHERE id = 1").fetchone()
    return AlertSettings.from_json(json.loads(row["document"])) if row else AlertSettings()


def save_settings(database: Path, settings: AlertSettings) -> None:
    document = json.dumps(settings.to_json(), sort_keys=True)
    with opened(database, TABLES) as db, transaction(db):
        db.execute(
            "INSERT INTO node_alert_settings (id, document, updated_at) VALUES (1, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET document = excluded.document, "
            "updated_at = excluded.updated_at",
            (document, time.time()),
        )


def use_node_fhir(database: Path, url: str) -> None:
    """The node's ``--fhir`` base becomes where alerts go; the credentials saved for that
    same base (``halong node alerts --fhir URL --token-file F``) are kept."""
    destination = Destination.fhir(HttpEndpoint(url))
    settings = load_settings(database)
    if settings.fhir is None or settings.fhir.address != destination.address:
        save_settings(database, dataclasses.replace(settings, fhir=destination))
