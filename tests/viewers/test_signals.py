"""viewers.signals.emit keeps ``True`` alive however often signals fire (PySide6 6.12 bug)."""

from __future__ import annotations

import sys

import pytest
from PySide6.QtCore import QObject, Signal

from viewers.signals import emit

pytestmark = pytest.mark.gui


class Source(QObject):
    changed = Signal(float)


def test_emitting_keeps_the_reference_count_of_true(qapp):
    source = Source()
    received = []
    source.changed.connect(received.append)
    before = sys.getrefcount(True)
    for value in range(2000):
        emit(source.changed, float(value))
    assert len(received) == 2000
    assert sys.getrefcount(True) >= before
