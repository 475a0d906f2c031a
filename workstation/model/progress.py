"""Progress reporting and cancellation for long work (import, loading, inference, export).

Long work is a plain function that takes a request, a :data:`Progress` callback and a
:class:`CancelToken`. The CLI passes a progress line and cancels on Ctrl-C; the UI runs
the same function on a worker thread and cancels from a button. Nothing here knows
about Qt or terminals.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

#: ``progress(done, total, message)``: ``total`` is ``None`` while it is unknown
#: (e.g. a folder walk that has not finished).
Progress = Callable[[int, int | None, str], None]


class Cancelled(Exception):
    """Raised inside long work when the user asked it to stop."""


class CancelToken:
    """A thread-safe stop flag that the caller sets and the worker polls."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        """Ask the work to stop at its next check."""
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        """Raise :class:`Cancelled` if :meth:`cancel` was called."""
        if self._event.is_set():
            raise Cancelled("cancelled by the user")


def no_progress(done: int, total: int | None, message: str) -> None:
    """The default callback: report nothing."""


def check(cancel: CancelToken | None) -> None:
    """Raise :class:`Cancelled` if ``cancel`` was set; a None token never cancels."""
    if cancel is not None:
        cancel.raise_if_cancelled()
