"""What every request handler of the node's web server shares: the database, the data
folder, the clock and the session policy, kept on the aiohttp application."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from workstation.home import HalongHome
from workstation.node.web.sessions import SessionPolicy, Sessions

Clock = Callable[[], float]


@dataclass(frozen=True)
class WebContext:
    database: Path
    home: HalongHome
    policy: SessionPolicy = field(default_factory=SessionPolicy)
    #: Unix seconds now; a test moves it to expire sessions and escalate alerts.
    clock: Clock = time.time
    #: Mark cookies Secure (when a TLS proxy serves the page as https).
    secure_cookies: bool = False

    @property
    def sessions(self) -> Sessions:
        return Sessions(self.database, self.policy)


CONTEXT = web.AppKey("halong_context", WebContext)


def context_of(request: web.Request) -> WebContext:
    return request.app[CONTEXT]
