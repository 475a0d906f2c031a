"""Terminal output shared by the subcommands: a progress line, tables, Ctrl-C as cancel."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from types import FrameType
from typing import Self, TextIO

from workstation.model.progress import CancelToken


class ProgressLine:
    """A :data:`~workstation.model.progress.Progress` callback that writes to stderr.

    On a terminal it redraws one line in place a few times a second; in a log or a
    pipe it writes a plain line every few seconds, so logs stay readable.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.interactive = self.stream.isatty()
        self.interval = 0.1 if self.interactive else 5.0
        self._last_shown = time.monotonic()
        self._width = 0

    def __call__(self, done: int, total: int | None, message: str) -> None:
        now = time.monotonic()
        if now - self._last_shown < self.interval:
            return
        self._last_shown = now
        count = f"{done}/{total}" if total is not None else str(done)
        text = f"{message} [{count}]"
        if self.interactive:
            self.stream.write("\r" + text.ljust(self._width))
            self._width = len(text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Erase the progress line so the summary starts on a clean line."""
        if self.interactive and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()


@contextlib.contextmanager
def cancel_on_interrupt(token: CancelToken) -> Iterator[None]:
    """Make the first Ctrl-C cancel ``token`` (work stops cleanly); a second one aborts."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        if token.cancelled:
            raise KeyboardInterrupt
        token.cancel()
        sys.stderr.write("\nStopping after the current file (Ctrl-C again to abort)...\n")

    previous = signal.signal(signal.SIGINT, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Left-aligned columns separated by two spaces, under a header line."""
    cells = [list(headers), *([("" if v is None else str(v)) for v in row] for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in cells
    )
