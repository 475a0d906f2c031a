"""The node's log: its own lines on stderr (a service's journal) and in ``logs/node.log``.

The node and each of its worker processes log the same way, so one file tells what
arrived, how it was routed, and how each job went; libraries say only their warnings.
Several processes append to the file, so none rotates it: the system's logrotate does,
and each process reopens the file once it was moved.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from logging.handlers import WatchedFileHandler
from pathlib import Path

LOG_NAME = "node.log"
_OWN = ("workstation", "ai")
_FORMAT = "%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s"


def _own_lines_and_library_warnings(record: logging.LogRecord) -> bool:
    own = record.name.split(".")[0] in _OWN
    return record.levelno >= (logging.INFO if own else logging.WARNING)


@contextlib.contextmanager
def node_logging(log_folder: Path) -> Iterator[None]:
    """Log INFO and above of Halong (WARNING of libraries) to stderr and the log file,
    for as long as the block runs."""
    log_folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    handlers = [
        logging.StreamHandler(sys.stderr),
        WatchedFileHandler(log_folder / LOG_NAME, encoding="utf-8"),
    ]
    root = logging.getLogger()
    level = root.level
    for handler in handlers:
        handler.setFormatter(logging.Formatter(_FORMAT))
        handler.addFilter(_own_lines_and_library_warnings)
        root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield
    finally:
        root.setLevel(level)
        for handler in handlers:
            root.removeHandler(handler)
            handler.close()
