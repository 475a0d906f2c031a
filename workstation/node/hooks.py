"""The node's optional parts, found by name: alerts after each result, the web page.

They are built beside the node's core and may be missing from an installation; the
core runs without them and calls each one it finds. A part that is present but cannot
be loaded is named in an error line and left out: results still reach the PACS.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from collections.abc import Callable
from typing import Any

#: ``on_result(node_database_path, home, job)`` after every finished job.
ALERTS = ("workstation.node.alerts", "on_result")
#: ``start_web(config, node_database_path) -> object with .stop()``.
WEB = ("workstation.node.web", "start_web")
_log = logging.getLogger(__name__)


def optional_function(module: str, name: str) -> Callable[..., Any] | None:
    """``module.name`` when the module is installed and loads, else None."""
    try:
        if importlib.util.find_spec(module) is None:
            return None
        return getattr(importlib.import_module(module), name, None)
    except Exception as error:  # a broken part must not stop the analyses
        _log.error(
            "%s is left out: it cannot be loaded (%s: %s)", module, type(error).__name__, error
        )
        return None
