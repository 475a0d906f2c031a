"""Emitting Qt signals from Python without wrecking ``True``'s reference count.

PySide6 6.12.0 on CPython 3.11 returns ``True`` from ``SignalInstance.emit`` without
taking a reference, so every Python-side emit leaves ``True`` one reference short;
after a few hundred emits CPython aborts with "bool_dealloc: deallocating True or
False". :func:`emit` gives the reference back when (and only when) the running
PySide6 shows the bug, checked once at import. On CPython 3.12+ ``True`` is immortal
and nothing is done.
"""

from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject, Signal, SignalInstance

_PROBE_EMITS = 8


class _Probe(QObject):
    ping = Signal()


def _emit_drops_a_reference() -> bool:
    probe = _Probe()
    before = sys.getrefcount(True)
    results = [probe.ping.emit() for _ in range(_PROBE_EMITS)]
    del results
    lost = before - sys.getrefcount(True)
    broken = lost >= _PROBE_EMITS
    if broken:
        for _ in range(lost):
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(True))
    return broken


EMIT_DROPS_A_REFERENCE = _emit_drops_a_reference()


def emit(signal: SignalInstance, *args: object) -> None:
    """``signal.emit(*args)``, repairing PySide6 6.12's missing reference on ``True``."""
    result = signal.emit(*args)
    if EMIT_DROPS_A_REFERENCE and result is True:
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(result))
