"""Alerts leave the node through the durable outbox: the FHIR Communication, the e-mails.

Each notice is written to a scratch file and queued (the outbox keeps its own durable,
read-only copy under its idempotency key: the Bundle identifier, the Message-ID). The
node's sender delivers the outbox within seconds, and so does the web server's alert
ticker; neither the job loop nor a web request ever waits
on a slow EMR. What cannot go now is retried with backoff. Every notice queued is a
step of the alert and a line of the audit trail.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from workstation.home import HalongHome
from workstation.net import audit
from workstation.net.destinations import Destination
from workstation.net.outbox import Outbox, OutboxError
from workstation.net.payloads import read_payload
from workstation.node.accounts import find_user
from workstation.node.alert_settings import AlertSettings
from workstation.node.alert_store import NODE, Alert, AlertStore
from workstation.node.communication import acknowledgement_bundle, alert_bundle, bundle_bytes
from workstation.node.mail import alert_email

_log = logging.getLogger(__name__)


def audit_step(home: HalongHome, alert: Alert, step: str, user: str, description: str) -> None:
    """One step of ``alert`` in the audit trail (kept going if the trail cannot be written)."""
    try:
        audit.record_critical_result(
            audit.AuditTrail.from_environment(home.audit),
            step=step,
            patient_id=alert.patient.patient_id,
            study_uid=alert.study.study_uid,
            alert_id=alert.uid,
            user=user,
            description=description,
        )
    except OSError:
        _log.exception("cannot write the audit trail for alert %d", alert.id)


class AlertDelivery:
    """Queues the notices of one node's alerts."""

    def __init__(self, home: HalongHome, store: AlertStore, settings: AlertSettings) -> None:
        self.home, self.store, self.settings = home, store, settings

    def alert_created(self, alert: Alert, now: float) -> None:
        """The Communication to the EMR and an e-mail to the first recipient."""
        if self.settings.fhir is not None:
            bundle = alert_bundle(alert, alert.summary_image, now)
            self._queue(alert, now, self.settings.fhir, "alert.json", bundle_bytes(bundle))
        self._mail(alert, now, "alert")

    def escalated(self, alert: Alert, now: float, note: str) -> None:
        """An e-mail to the person the alert was handed to."""
        self._mail(alert, now, "escalated", note)

    def acknowledged(self, alert: Alert, now: float) -> None:
        """The acknowledging Communication to the EMR."""
        if self.settings.fhir is not None:
            data = bundle_bytes(acknowledgement_bundle(alert))
            self._queue(alert, now, self.settings.fhir, "acknowledged.json", data)

    def _mail(self, alert: Alert, now: float, step: str, note: str = "") -> None:
        settings = self.settings
        if settings.smtp is None or not alert.recipient:
            return
        user = find_user(self.store.database, alert.recipient)
        if user is None or not user.email:
            self.store.add_step(
                alert.id, now, "notified", NODE, "e-mail", f"{alert.recipient} has no address"
            )
            return
        message = alert_email(alert, step, user.email, settings.mail_from, settings.page_url, note)
        self._queue(alert, now, settings.smtp, f"{step}.eml", message.as_bytes(), user.name)

    def _queue(
        self,
        alert: Alert,
        now: float,
        destination: Destination,
        name: str,
        data: bytes,
        to: str = "",
    ) -> None:
        channel = "fhir" if destination.kind == "fhir" else "e-mail"
        where = f"{to} by e-mail ({destination.address})" if to else destination.label
        try:
            with tempfile.TemporaryDirectory() as scratch, Outbox.open(self.home.outbox) as box:
                path = Path(scratch) / name
                path.write_bytes(data)
                payload = read_payload(path, "fhir-bundle" if channel == "fhir" else "email")
                box.enqueue(destination, [payload])
        except (OutboxError, OSError, ValueError) as error:
            _log.error("alert %d: cannot queue for %s: %s", alert.id, where, error)
            self.store.add_step(alert.id, now, "notified", NODE, channel, f"failed: {error}")
            return
        self.store.add_step(alert.id, now, "notified", NODE, channel, f"queued for {where}")
        audit_step(self.home, alert, "notified", NODE, f"queued for {where}")
