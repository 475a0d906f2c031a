"""Fixtures for the UI tests: a temp home and settings, and the window.

Every test gets its own ``$HALONG_HOME`` and ``$HALONG_SETTINGS_DIR``; the window
fixture fails the test when a background thread survives the window's close.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QEvent


@pytest.fixture
def gui_env(halong_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temp ``$HALONG_HOME`` and a temp QSettings folder; returns the home.

    The settings start with the single-view layout: one view renders faster than four
    under Xvfb's software OpenGL (the 2x2 layout is covered by the screenshot test).
    """
    settings = tmp_path / "settings"
    monkeypatch.setenv("HALONG_SETTINGS_DIR", str(settings))
    settings.mkdir()
    (settings / "Halong.ini").write_text("[viewer]\nlayout=1x1\n")
    return halong_home


def _unattended(window) -> None:
    window.interactive = False


@pytest.fixture
def make_window(qtbot, gui_env: Path) -> Iterator[Callable]:
    """Build main windows on the temp home; each must end with no background thread alive."""
    from workstation.home import resolve_home
    from workstation.ui.window import build_window

    windows = []

    def make():
        window = build_window(resolve_home())
        windows.append(window)
        # unattended at teardown: no "save your decisions?" question when it closes them
        qtbot.addWidget(window, before_close_func=_unattended)
        with qtbot.waitSignal(window.browser.refreshed, timeout=10_000):
            window.show()
        return window

    yield make
    for window in windows:
        window.close()
        assert window.background_threads() == 0
        # Delete now, while Xvfb is still up: render windows destroyed at interpreter
        # exit, after pytest-xvfb stopped the display, make Xlib exit with status 1.
        window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


@pytest.fixture
def window(make_window: Callable):
    return make_window()
