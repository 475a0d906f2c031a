"""The node's sender: delivers the outbox while the node runs, and stamps sent jobs.

Jobs queue their results in the durable outbox (:mod:`workstation.net.outbox`); this
thread delivers it as ``halong outbox --retry`` would, respecting each destination's
backoff, so a PACS that is down gets the results when it is back and never twice. Once
every item a job queued is delivered, the job's ``sent_at`` is written.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from pathlib import Path

from workstation.home import HalongHome
from workstation.model.progress import CancelToken
from workstation.net.audit import AuditTrail
from workstation.net.delivery import deliver
from workstation.net.outbox import Outbox, OutboxBusy, OutboxError
from workstation.node.jobs import JobError, JobTable

#: The longest pause between two delivery passes (new items wake the sender at once).
MAX_PAUSE_S = 5.0
_log = logging.getLogger(__name__)


class Sender:
    """A thread delivering ``home``'s outbox until :meth:`stop`."""

    def __init__(self, home: HalongHome, node_database: Path) -> None:
        self.home = home
        self.node_database = node_database
        self._wake = threading.Event()
        self._cancel = CancelToken()
        self._thread = threading.Thread(target=self._run, name="node-sender", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        """Deliver now: a job queued something."""
        self._wake.set()

    def stop(self) -> None:
        self._cancel.cancel()
        self._wake.set()
        self._thread.join()

    def _run(self) -> None:
        trail = AuditTrail.from_environment(self.home.audit)
        while not self._cancel.cancelled:
            self._wake.clear()
            pause = MAX_PAUSE_S
            try:
                with Outbox.open(self.home.outbox) as outbox:
                    self._deliver(outbox, trail)
                    self._stamp_sent(outbox)
                    next_retry = outbox.next_retry_at()
                if next_retry is not None:
                    pause = min(MAX_PAUSE_S, max(0.1, next_retry - time.time()))
            except Exception:  # the node keeps running; the items stay queued
                _log.exception("delivering the outbox failed; trying again")
            self._wake.wait(pause)

    def _deliver(self, outbox: Outbox, trail: AuditTrail) -> None:
        try:
            report = deliver(outbox, lock_timeout_s=1.0, trail=trail, cancel=self._cancel)
        except OutboxBusy:
            return  # another Halong process delivers it now
        for item_id in report.rejected:
            _log.error("the PACS refused outbox item %d; see 'halong outbox'", item_id)

    def _stamp_sent(self, outbox: Outbox) -> None:
        with JobTable.open(self.node_database) as jobs:
            for job in jobs.unsent():
                try:
                    items = outbox.items(ids=job.outbox_items)
                except OutboxError:
                    continue
                if all(item.status == "delivered" for item in items):
                    sent_at = max((item.delivered_at or 0.0 for item in items), default=time.time())
                    with contextlib.suppress(JobError):  # requeued meanwhile
                        jobs.mark_sent(job.id, sent_at)
                    _log.info("job %d: %d result object(s) delivered", job.id, len(items))
