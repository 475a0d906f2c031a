"""Deliver the outbox: each pending item to its destination, once, in queue order.

One deliverer at a time holds the outbox's lock. It first recovers items a dead
deliverer left ``sending``; any item tried before is *in doubt* and the receiver is
asked first (C-FIND, QIDO-RS) where the protocol allows it, or the receiver's own
idempotency is relied on (FHIR conditional create, HL7 MSH-10). A transient failure
stops that destination for this pass and backs it off exponentially; items behind it
wait, so messages keep their order. Delivered items are written to the audit trail.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from workstation.model.progress import CancelToken, Progress, no_progress
from workstation.net import audit
from workstation.net.destinations import Destination
from workstation.net.dicomweb import StowSender
from workstation.net.dimse import DimseSender
from workstation.net.errors import RejectedError, TransientError
from workstation.net.fhir_client import FhirSender
from workstation.net.mllp import MllpSender
from workstation.net.outbox import Outbox, OutboxError, OutboxItem
from workstation.net.smtp import SmtpEndpoint, SmtpSender

_log = logging.getLogger(__name__)


class Transport(Protocol):
    """A connection to one destination, used for a run of its items, then closed."""

    def already_delivered(self, item: OutboxItem) -> bool:
        """Whether the receiver holds the item already (False when it cannot be told)."""
        ...

    def send(self, item: OutboxItem) -> None:
        """Deliver, or raise TransientError / RejectedError."""
        ...

    def close(self) -> None: ...


def open_transport(destination: Destination, items: Sequence[OutboxItem]) -> Transport:
    """The sender for ``destination``, prepared for ``items``; it connects on first use."""
    if destination.kind == "dimse":
        return DimseSender(destination.node(), destination.calling_aet, items)
    if destination.kind == "dicomweb":
        return StowSender(destination.http())
    if destination.kind == "fhir":
        return FhirSender(destination.http())
    if destination.kind == "smtp":
        return SmtpSender(SmtpEndpoint.from_options(destination.address, destination.options))
    return MllpSender(destination.host_port())


Connect = Callable[[Destination, Sequence[OutboxItem]], Transport]


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff per destination: ``first_s * factor**(n-1)``, capped, jittered."""

    first_s: float = 5.0
    factor: float = 2.0
    max_s: float = 900.0

    def delay_s(self, failures: int) -> float:
        base = min(self.max_s, self.first_s * self.factor ** max(0, failures - 1))
        return base * random.uniform(0.8, 1.0)  # spread many workstations' retries


@dataclass
class DeliveryReport:
    """What one delivery run did, by item ID."""

    delivered: list[int] = field(default_factory=list)
    already_there: list[int] = field(default_factory=list)
    rejected: list[int] = field(default_factory=list)
    failed_attempts: list[int] = field(default_factory=list)
    recovered: int = 0
    cancelled: bool = False


@dataclass
class Deliverer:
    """Delivers an outbox's pending items; see :func:`deliver`."""

    outbox: Outbox
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    connect: Connect = open_transport
    trail: audit.AuditTrail | None = None
    progress: Progress = no_progress
    cancel: CancelToken | None = None
    report: DeliveryReport = field(default_factory=DeliveryReport)
    _done: int = 0
    _total: int = 0

    @property
    def cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.cancelled

    def run(self, *, retry_now: bool, wait_s: float) -> DeliveryReport:
        self.report.recovered = self.outbox.recover_interrupted()
        if retry_now:
            self.outbox.reopen_rejected()
            self.outbox.clear_backoff()
        deadline = time.monotonic() + wait_s
        self._total = self.outbox.counts()["pending"]
        while not self.cancelled:
            for destination_id in self.outbox.due_destinations(time.time()):
                if self.cancelled:
                    break
                self._deliver_to(destination_id)
            next_retry = self.outbox.next_retry_at()
            if next_retry is None or self.cancelled:
                break
            pause = max(0.0, next_retry - time.time())
            if time.monotonic() + pause > deadline:
                break
            self._sleep(pause)
        self.report.cancelled = self.cancelled
        return self.report

    def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while not self.cancelled and (left := end - time.monotonic()) > 0:
            time.sleep(min(left, 0.1))

    def _deliver_to(self, destination_id: int) -> None:
        items = self.outbox.pending_items(destination_id)
        if not items:
            return
        destination = items[0].destination
        try:
            transport = self.connect(destination, items)
        except Exception as error:  # e.g. an address this Halong cannot parse any more
            _log.exception("cannot open a connection for destination %d", destination_id)
            self._back_off_destination(destination_id, f"cannot connect: {error}")
            return
        delivered: list[tuple[OutboxItem, bool]] = []
        try:
            for item in items:
                if self.cancelled:
                    break
                self.progress(self._done, self._total, f"Sending to {destination.label}")
                outcome = self._deliver_item(transport, item)
                if outcome is None:  # the destination failed: stop here, keep the order
                    break
                self._done += 1
                if outcome != "rejected":
                    delivered.append((item, outcome == "already-there"))
        finally:
            transport.close()
            if delivered:
                self.outbox.note_destination_working(destination_id)
                self._audit(destination, delivered)

    def _deliver_item(self, transport: Transport, item: OutboxItem) -> str | None:
        """Try one item; return its outcome, or None after a transient failure."""
        self.outbox.begin_attempt(item)
        try:
            item.verify_payload()
            in_doubt = item.attempts > 0
            if in_doubt and transport.already_delivered(item):
                outcome = "already-there"
            else:
                transport.send(item)
                outcome = "delivered"
        except (RejectedError, OutboxError) as error:
            self.outbox.finish_attempt(item, "rejected", str(error))
            self.report.rejected.append(item.id)
            return "rejected"
        except TransientError as error:
            self._back_off(item, str(error))
            return None
        except Exception as error:  # a bug or a library surprise: keep the item, say so
            _log.exception("unexpected error sending outbox item %d", item.id)
            self._back_off(item, f"unexpected {type(error).__name__}: {error}")
            return None
        self.outbox.finish_attempt(item, outcome)
        (self.report.already_there if outcome == "already-there" else self.report.delivered).append(
            item.id
        )
        return outcome

    def _back_off(self, item: OutboxItem, error: str) -> None:
        self.outbox.finish_attempt(item, "failed", error)
        self.report.failed_attempts.append(item.id)
        _log.info("outbox item %d not delivered: %s", item.id, error)
        self._back_off_destination(item.destination_id, error)

    def _back_off_destination(self, destination_id: int, error: str) -> None:
        """No attempt at this destination before its exponentially growing delay."""
        failures = self.outbox.destination_failures(destination_id) + 1
        retry_at = time.time() + self.policy.delay_s(failures)
        self.outbox.note_destination_failing(destination_id, retry_at, error)

    def _audit(self, destination: Destination, delivered: list[tuple[OutboxItem, bool]]) -> None:
        """One audit message per delivery run for DICOM, one per exported document."""
        if self.trail is None:
            return
        try:
            if destination.kind in ("dimse", "dicomweb"):
                items = [item for item, _ in delivered]
                dimse = destination.kind == "dimse"
                audit.record_transfer(
                    self.trail,
                    source=destination.calling_aet if dimse else self.trail.source_id,
                    destination=destination.address,
                    patient_ids=[item.meta.get("patient_id", "") for item in items],
                    study_uids=[item.meta.get("study_uid", "") for item in items],
                    sop_instance_count=len(items),
                    receiver_had_them=all(had for _, had in delivered),
                )
                return
            for item, _ in delivered:
                audit.record_export(
                    self.trail,
                    destination=destination.label,
                    patient_id=item.meta.get("patient_id", ""),
                    study_uid=item.meta.get("study_uid", ""),
                    documents=[item.key],
                )
        except OSError:
            _log.exception("cannot write the audit trail")


def deliver(
    outbox: Outbox,
    *,
    retry_now: bool = False,
    wait_s: float = 0.0,
    lock_timeout_s: float = 10.0,
    policy: RetryPolicy | None = None,
    connect: Connect = open_transport,
    trail: audit.AuditTrail | None = None,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
) -> DeliveryReport:
    """Deliver every due item; keep retrying due ones for up to ``wait_s`` seconds.

    ``retry_now`` ignores backoff and gives rejected items another try. Raises
    :class:`~workstation.net.outbox.OutboxBusy` when another process delivers.
    """
    deliverer = Deliverer(
        outbox,
        policy or RetryPolicy(),
        connect,
        trail,
        progress or no_progress,
        cancel,
    )
    with outbox.delivery_lock(lock_timeout_s):
        return deliverer.run(retry_now=retry_now, wait_s=wait_s)
