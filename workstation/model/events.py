"""Events without Qt: what the reading context tells the panels that follow it.

In the spirit of napari's evented models: the model emits, views connect. Callbacks run
synchronously in connection order; one that raises does not stop the others, so a
broken panel never leaves another showing stale data; the first error is raised again
once every callback has run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


class Event:
    """One kind of event: ``event.connect(callback)``, ``event.emit(value)``."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._callbacks: list[Callable[..., Any]] = []

    def connect(self, callback: Callable[..., Any]) -> Callable[..., Any]:
        """Call ``callback`` on every emission (once, however often connected)."""
        if callback not in self._callbacks:
            self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Callable[..., Any]) -> None:
        if callback in self._callbacks:
            self._callbacks.remove(callback)

    def emit(self, *args: Any) -> None:
        first: Exception | None = None
        for callback in list(self._callbacks):
            try:
                callback(*args)
            except Exception as error:  # one failing view must not stop the others
                log.exception("%s: a subscriber failed", self.name)
                first = first or error
        if first is not None:
            raise first
