"""Docks that analysis panels (stroke, report, lung nodules) add to the main window later.

Such a dock is made on first use, after the window restored its layout, so it is
put back where the user left it (``QMainWindow.restoreDockWidget``); the very first
time, it opens at a usable size instead of the narrowest one.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QMainWindow, QScrollArea, QWidget

from workstation.ui.common.settings import app_settings


def add_panel_dock(
    window: QMainWindow,
    title: str,
    object_name: str,
    content: QWidget,
    *,
    area: Qt.DockWidgetArea = Qt.DockWidgetArea.RightDockWidgetArea,
    tab_with: QDockWidget | None = None,
    size: int = 0,
    scroll: bool = True,
) -> QDockWidget:
    """A dock holding ``content`` (in a scroll area), shown and raised.

    ``size`` is the width (side areas) or height (bottom/top) it opens with the
    first time ever; later it keeps the size the user gave it.
    """
    dock = QDockWidget(title, window)
    dock.setObjectName(object_name)
    if scroll:
        scroller = QScrollArea()
        scroller.setWidget(content)
        scroller.setWidgetResizable(True)
        scroller.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        content = scroller
    dock.setWidget(content)
    window.addDockWidget(area, dock)
    if tab_with is not None:
        window.tabifyDockWidget(tab_with, dock)
    window.restoreDockWidget(dock)
    dock.show()
    dock.raise_()
    settings = app_settings()
    sized_key = f"docks/{object_name}_sized"
    if size and settings.value(sized_key) is None:
        settings.setValue(sized_key, True)
        side = area in (Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea)
        orientation = Qt.Orientation.Horizontal if side else Qt.Orientation.Vertical
        # once the window has laid the new dock out
        QTimer.singleShot(0, dock, lambda: window.resizeDocks([dock], [size], orientation))
    return dock
