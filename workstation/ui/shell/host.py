"""What a panel may ask of the window: the narrow host protocol.

Panels (lung, perfusion, report) never import the main window; they are given a
:class:`PanelHost` and use only this: the data folder and settings, the reading
context, background jobs and their progress, messages, actions and docks, and the
viewer of the series shown. :class:`~workstation.ui.shell.main_window.MainWindow`
implements it; a test may implement it with anything else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QWidget

if TYPE_CHECKING:
    from viewers.mpr_viewer import MprViewer
    from workstation.dicom.series_input import LoadedSeries
    from workstation.home import HalongHome
    from workstation.model.context import ReadingContext
    from workstation.ui.common.job_progress import JobProgress
    from workstation.ui.common.workers import JobRunner


class PanelHost(Protocol):
    """The window as a panel sees it."""

    home: HalongHome
    settings: QSettings
    context: ReadingContext
    jobs: JobRunner
    progress: JobProgress
    #: False for unattended runs (screenshots, tests): no questions, no message boxes.
    interactive: bool
    #: The series shown, and the viewer showing it (None before the first series).
    loaded: LoadedSeries | None
    viewer: MprViewer | None

    @property
    def main_widget(self) -> QWidget:
        """The parent for the panel's dialogs."""

    def notify(self, message: str, timeout_ms: int = 5000) -> None:
        """A line in the status bar."""

    def show_error(self, title: str, message: str) -> None:
        """Tell the user something failed (status bar and a non-blocking box)."""

    def add_action(
        self,
        key: str,
        text: str,
        shortcut: str | QKeySequence.StandardKey,
        slot: Callable[[], object],
        *,
        tip: str = "",
        checkable: bool = False,
        menu: str = "",
    ) -> QAction:
        """A window-wide action with its shortcut, in ``menu`` ("&Tools", "&File")."""

    def add_dock(
        self,
        title: str,
        object_name: str,
        content: QWidget,
        *,
        area: Qt.DockWidgetArea = Qt.DockWidgetArea.RightDockWidgetArea,
        beside_tools: bool = True,
        size: int = 0,
        scroll: bool = True,
    ) -> QDockWidget:
        """A dock holding ``content``, tabbed with the tools dock unless told otherwise."""

    def add_close_guard(self, guard: Callable[[], bool]) -> None:
        """``guard()`` runs before the window closes; False keeps it open (unsaved work)."""

    def set_preset(self, name: str) -> None:
        """Switch the slice views to a window preset (lung, brain, ...)."""

    def set_tool(self, name: str) -> None:
        """Switch the mouse tool (none, crosshair, distance, ...)."""

    def current_tool(self) -> str:
        """The mouse tool in use."""
