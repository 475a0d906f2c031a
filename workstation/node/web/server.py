"""The node's web server in a background thread, and the alert ticker beside it.

:func:`start_web` is what the node core calls when ``--http`` is on: it
listens on the ``--http`` address, serves the page and the API until ``stop()``, and
every ``tick_s`` escalates alerts that waited too long and delivers the outbox. A port
already taken is said in one line, before the node goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from pathlib import Path
from typing import Protocol

from aiohttp import web

from workstation.home import HalongHome
from workstation.net import audit
from workstation.net.delivery import deliver
from workstation.net.destinations import HostPort
from workstation.net.outbox import Outbox, OutboxBusy, OutboxError
from workstation.node.escalation import escalate_due
from workstation.node.web.app import make_app
from workstation.node.web.context import Clock, WebContext
from workstation.node.web.sessions import SessionPolicy

_log = logging.getLogger(__name__)
DEFAULT_TICK_S = 5.0


class WebError(Exception):
    """The web server cannot start; the message says why."""


class WebConfig(Protocol):
    """What the server reads of the node's configuration (:class:`NodeConfig`)."""

    http: HostPort | None
    fhir: str | None


class WebService:
    """A running web server; ``stop()`` ends it (and its ticker)."""

    def __init__(self, context: WebContext, endpoint: HostPort, tick_s: float) -> None:
        self.context, self.tick_s = context, tick_s
        self._endpoint = endpoint
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._error: OSError | None = None
        self._runner = web.AppRunner(make_app(context), access_log=None, handle_signals=False)
        self._thread = threading.Thread(target=self._serve, name="halong-node-web", daemon=True)
        self.port = 0

    @property
    def url(self) -> str:
        host = self._endpoint.host
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.port}"

    def start(self) -> None:
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise WebError(
                f"the web page cannot listen on {self._endpoint}: "
                f"{self._error.strerror or self._error}"
            )

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        loop = self._loop
        loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, self._endpoint.host, self._endpoint.port)
        try:
            loop.run_until_complete(site.start())
        except OSError as error:
            self._error = error
            loop.run_until_complete(self._runner.cleanup())
            loop.close()
            self._ready.set()
            return
        self.port = self._runner.addresses[0][1]
        ticker = loop.create_task(self._tick_forever())
        self._ready.set()
        loop.run_forever()
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            loop.run_until_complete(ticker)
        loop.run_until_complete(self._runner.cleanup())
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(self.tick_s)
            try:
                await asyncio.to_thread(self.tick)
            except Exception:  # a bad pass must not end the ticker: the next one tries again
                _log.exception("the alert ticker failed")

    def tick(self) -> None:
        """Escalate what waited too long, then deliver what the outbox holds."""
        context = self.context
        escalate_due(context.database, context.home, context.clock())
        deliver_outbox(context.home)

    def stop(self) -> None:
        if self._loop.is_closed():
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)


def deliver_outbox(home: HalongHome) -> None:
    """One delivery pass of the outbox, unless another process (the node's sender) is
    delivering it right now."""
    try:
        with Outbox.open(home.outbox) as box:
            deliver(box, lock_timeout_s=0.0, trail=audit.AuditTrail.from_environment(home.audit))
    except OutboxBusy:
        return
    except OutboxError as error:
        _log.error("cannot deliver the outbox: %s", error)


def start_web(
    config: WebConfig,
    node_database_path: Path,
    *,
    clock: Clock = time.time,
    policy: SessionPolicy | None = None,
    tick_s: float = DEFAULT_TICK_S,
) -> WebService:
    """Serve the stroke team's page and the API on ``config.http`` (the node core's hook).

    The node database lies in the data folder (``<home>/node/node.sqlite``), which also
    holds the outbox and the audit trail the alerts use.
    """
    if config.http is None:
        raise WebError("the web page is off (--http off)")
    database = Path(node_database_path)
    home = HalongHome(database.parent.parent)
    if home.node_database != database:
        raise WebError(f"{database} is not a node database inside a Halong data folder")
    context = WebContext(database, home, policy or SessionPolicy(), clock)
    service = WebService(context, config.http, tick_s)
    service.start()
    return service
