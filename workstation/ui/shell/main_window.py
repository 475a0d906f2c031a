"""Halong's main window: study browser, MPR viewer, tools panel, status bar and menus.

The window wires the parts together and does no long work itself: importing and
loading run as background jobs (:mod:`workstation.ui.common.workers`) with progress and
Cancel in the status bar. VTK is not needed to show the window: the viewer module
is imported in the background once the window is up, and the viewer is created
when the first series opens.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QMimeData, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QKeySequence,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QScrollArea,
    QStackedWidget,
    QToolButton,
    QWidget,
)

from workstation import halong_version
from workstation.dicom.series_input import (
    LoadedSeries,
    SeriesRequest,
    load_series,
    request_for_path,
    request_for_series,
)
from workstation.home import HalongHome, resolve_home
from workstation.model.context import ReadingContext, SeriesShown
from workstation.model.measurements import Measurement, probe
from workstation.model.presets import VOLUME_PRESETS, WINDOW_PRESET_KEYS, WINDOW_PRESETS
from workstation.model.progress import CancelToken, Progress
from workstation.net.audit import AuditTrail, record_import, record_study_opened
from workstation.ui.browser.study_browser import StudyBrowser
from workstation.ui.common import settings as keys
from workstation.ui.common.docks import add_panel_dock
from workstation.ui.common.job_progress import JobProgress
from workstation.ui.common.settings import app_settings, read_text
from workstation.ui.common.workers import Job, JobRunner
from workstation.ui.reading.measurement_store import MeasurementFileError, MeasurementStore
from workstation.ui.reading.tools_panel import DEFAULT_SLAB_MM, ToolsPanel
from workstation.ui.reading.volume_cache import VolumeCache

if TYPE_CHECKING:
    from viewers.mpr_viewer import MprViewer
    from workstation.dicom.import_report import ImportReport
    from workstation.model.volume import Volume

log = logging.getLogger(__name__)

#: (name, shortcut, menu text)
LAYOUTS = (
    ("1x1", "Ctrl+1", "Single View (1x1)"),
    ("1x2", "Ctrl+2", "Two Views (1x2)"),
    ("2x2", "Ctrl+3", "Four Views (2x2)"),
)
TOOLS = (
    ("none", "Esc", "Navigate (No Tool)"),
    ("crosshair", "C", "Crosshair"),
    ("distance", "D", "Distance"),
    ("angle", "A", "Angle"),
    ("ellipse", "E", "Ellipse ROI"),
    ("freehand", "F", "Freehand ROI"),
    ("probe", "P", "Probe"),
)
#: After the window shows, wait this long before loading the viewer in the background.
VIEWER_PRELOAD_DELAY_MS = 300
LAYOUT_NAMES = tuple(name for name, _, _ in LAYOUTS)
DEFAULT_LAYOUT = "2x2"
PLACEHOLDER_TEXT = (
    "Double-click a series in the study browser to open it,\n"
    "or drop DICOM files or folders here to import them."
)


def import_into_database(
    database_path: Path, store: Path, paths: Sequence[Path], progress: Progress, cancel: CancelToken
) -> ImportReport:
    """The import job: index ``paths`` in place (the same call ``halong import`` makes)."""
    from workstation.dicom.database import Database
    from workstation.dicom.importer import ImportRequest, import_paths

    with Database.open(database_path) as db:
        return import_paths(
            db, ImportRequest(paths=list(paths), store=store), progress=progress, cancel=cancel
        )


def import_summary(report: ImportReport) -> str:
    """One line for the status bar and the summary dialog."""
    text = (
        f"{report.imported} new, {report.already_indexed} already indexed, "
        f"{len(report.skipped)} skipped"
    )
    if report.cancelled:
        return (
            f"Import cancelled after {report.files_seen} files: {text}. What was read is indexed."
        )
    if not report.found_images:
        return f"No usable DICOM images found: {text}."
    return f"Import finished: {text}."


@dataclass
class ViewState:
    """What the user chose for the viewer; applied when the viewer is created."""

    layout: str = DEFAULT_LAYOUT
    preset: str | None = None
    volume_preset: str | None = None
    tool: str = "none"
    slab_mode: str = "none"
    slab_mm: float = DEFAULT_SLAB_MM


class MainWindow(QMainWindow):
    """The workstation window on the database and store of ``home``."""

    #: A series is shown (the :class:`LoadedSeries`).
    series_opened = Signal(object)
    #: Opening a series failed; the message is for the user.
    series_failed = Signal(str)
    #: An import ended (the :class:`~workstation.dicom.import_report.ImportReport`).
    import_finished = Signal(object)
    #: A series' middle image is shown while the rest loads (a one-slice Volume).
    preview_shown = Signal(object)
    # A loading job's first image, from its worker thread: (request key, Volume).
    _preview_ready = Signal(str, object)

    def __init__(
        self,
        home: HalongHome | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.home = home or resolve_home()
        self.settings = app_settings()
        self.context = ReadingContext(reader=read_text(self.settings, keys.READER))
        self.context.events.reader.connect(lambda name: self.settings.setValue(keys.READER, name))
        self.jobs = JobRunner(self, max_threads=2)
        self.volume_cache = VolumeCache()
        self.measurement_store = MeasurementStore(self.home.measurements)
        #: The analysis tools installed (lung, perfusion, report), by key.
        self.tools: dict[str, object] = {}
        self._close_guards: list[Callable[[], bool]] = []
        self.viewer: MprViewer | None = None
        self.loaded: LoadedSeries | None = None
        self.view_state = ViewState()
        self.last_message_box: QMessageBox | None = None
        #: False for unattended runs (screenshots): no message boxes, only the status bar.
        self.interactive = True
        #: False keeps the user's saved settings untouched (e.g. ``halong view --layout``).
        self.persist_settings = True
        self._load_job: Job | None = None
        self._load_key: str | None = None
        self._load_label = ""
        self._loading_notes: list[str] = []
        self._shown_before = False
        #: The request whose first image the viewer shows, and what it showed before.
        self._preview_key: str | None = None
        self._before_preview: LoadedSeries | None = None
        self._preview_ready.connect(self._show_preview)

        self.setWindowTitle("Halong")
        self.setObjectName("HalongMainWindow")
        self.setAcceptDrops(True)
        self.actions: dict[str, QAction] = {}
        self.menus: dict[str, QMenu] = {}
        self._file_insert_point: QAction | None = None
        self._build_actions()
        self._build_central()
        self._build_docks()
        self._build_status_bar()
        self._build_menus()
        self._restore_settings()

    # --- construction ------------------------------------------------------------

    def add_action(
        self,
        key: str,
        text: str,
        shortcut: str | QKeySequence.StandardKey,
        slot: Callable[[], object],
        *,
        group: QActionGroup | None = None,
        tip: str = "",
        short: str = "",
        checkable: bool = False,
        menu: str = "",
    ) -> QAction:
        """A window-wide action with its shortcut shown in menus and tooltips, kept in
        :attr:`actions` under ``key`` (analysis tools add theirs here too, into ``menu``)."""
        action = QAction(text, self)
        action.setShortcut(QKeySequence(shortcut))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        shown = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        action.setToolTip(f"{tip or text.replace('…', '')} ({shown})")
        action.setStatusTip(tip or text.replace("…", ""))
        if short:
            action.setIconText(short)  # what the tools panel's button shows
        action.setCheckable(checkable or group is not None)
        if group is not None:
            group.addAction(action)
        action.triggered.connect(lambda _checked=False: slot())
        self.addAction(action)  # shortcuts work while the menu bar is hidden (full screen)
        self.actions[key] = action
        if menu and menu in self.menus:
            before = self._file_insert_point if menu == "&File" else None
            self.menus[menu].insertAction(before, action)
        return action

    def _choices(
        self,
        kind: str,
        choose: Callable[[str], None],
        choices: Sequence[tuple[str, str, str, str, str]],
    ) -> None:
        """Checkable actions ``kind_name``, one checked at a time: (name, menu text,
        shortcut, button text, tooltip) each; triggering one calls ``choose(name)``."""
        group = QActionGroup(self)
        for name, text, shortcut, short, tip in choices:
            self.add_action(
                f"{kind}_{name}",
                text,
                shortcut,
                partial(choose, name),
                group=group,
                tip=tip,
                short=short,
            )

    def _build_actions(self) -> None:
        a = self.add_action
        a("import_files", "&Import Files…", "Ctrl+I", self.choose_files_to_import)
        a("import_folder", "Import &Folder…", "Ctrl+Shift+I", self.choose_folder_to_import)
        a("open_selected", "&Open Selected Series", "Ctrl+Return", self.open_selected_series)
        a("open_folder", "Open DICOM Fol&der (Without Importing)…", "Ctrl+Shift+O",
          self.choose_folder_to_open)  # fmt: skip
        a("open_nifti", "Open &NIfTI File…", "Ctrl+O", self.choose_nifti_to_open)
        a("refresh", "&Refresh Study List", "F5", self.browser_refresh)
        a("quit", "&Quit", "Ctrl+Q", self.close)

        self._choices(
            "layout",
            self.set_layout,
            [(name, text, shortcut, name, "") for name, shortcut, text in LAYOUTS],
        )
        self._choices(
            "preset",
            self.set_preset,
            [
                (
                    name,
                    f"{name.title()} Window",
                    number,
                    f"{number} {name.title()}",
                    "{} window: W {:g} L {:g}".format(name, *WINDOW_PRESETS[name]),
                )
                for number, name in WINDOW_PRESET_KEYS.items()
            ],
        )
        self._choices(
            "volume",
            self.set_volume_preset,
            [
                (name, f"3D: {name}", f"Alt+{number}", name, "")
                for number, name in enumerate(VOLUME_PRESETS, start=1)
            ],
        )
        a("full_screen", "&Full Screen", "F11", self.toggle_full_screen)
        self.actions["full_screen"].setCheckable(True)
        self._choices(
            "tool",
            self.set_tool,
            [
                (name, text, shortcut, "None" if name == "none" else text.removesuffix(" ROI"), "")
                for name, shortcut, text in TOOLS
            ],
        )
        self.actions["tool_none"].setChecked(True)
        a("about", "&About Halong", "F1", self.show_about)

    def _build_central(self) -> None:
        self.placeholder = QLabel(PLACEHOLDER_TEXT)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setObjectName("ViewerPlaceholder")
        self.centre = QStackedWidget()
        self.centre.addWidget(self.placeholder)
        self.setCentralWidget(self.centre)

    def _build_docks(self) -> None:
        self.browser = StudyBrowser(self.home.database_path)
        self.browser.series_activated.connect(self.open_series)
        self.browser.refresh_failed.connect(partial(self.show_error, "Study list"))
        self.browser_dock = QDockWidget("Studies", self)
        self.browser_dock.setObjectName("StudyBrowserDock")
        self.browser_dock.setWidget(self.browser)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.browser_dock)

        group = self.actions
        self.tools_panel = ToolsPanel(
            layouts=[group[f"layout_{name}"] for name, _, _ in LAYOUTS],
            presets=[group[f"preset_{name}"] for name in WINDOW_PRESETS],
            volume_presets=[group[f"volume_{name}"] for name in VOLUME_PRESETS],
            tools=[group[f"tool_{name}"] for name, _, _ in TOOLS],
            context=self.context,
        )
        self.tools_panel.slab_changed.connect(self.set_slab)
        self.tools_panel.measurements.changed.connect(self._measurements_changed)
        self.actions["delete_measurement"] = self.tools_panel.measurements.delete_action
        self.tools_dock = QDockWidget("Tools", self)
        self.tools_dock.setObjectName("ToolsDock")
        scroller = QScrollArea()  # small screens: scroll rather than squeeze the viewer
        scroller.setWidget(self.tools_panel)
        scroller.setWidgetResizable(True)
        scroller.setFrameShape(QScrollArea.Shape.NoFrame)
        scroller.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.tools_dock.setWidget(scroller)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.tools_dock)
        self.resizeDocks(
            [self.browser_dock, self.tools_dock], [300, 250], Qt.Orientation.Horizontal
        )

        self.actions["show_browser"] = self.browser_dock.toggleViewAction()
        self.actions["show_browser"].setShortcut(QKeySequence("Ctrl+B"))
        self.actions["show_tools"] = self.tools_dock.toggleViewAction()
        self.actions["show_tools"].setShortcut(QKeySequence("Ctrl+T"))

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.window_level_label = QLabel()
        self.position_label = QLabel()
        self.notes_button = QToolButton()
        self.notes_button.setAutoRaise(True)
        self.notes_button.setToolTip("What loading the series noticed or skipped")
        self.notes_button.clicked.connect(self.show_loading_notes)
        self.notes_button.hide()
        self.progress = JobProgress()
        bar.addPermanentWidget(self.notes_button)
        bar.addPermanentWidget(self.window_level_label)
        bar.addPermanentWidget(self.position_label)
        bar.addPermanentWidget(self.progress)

    def _build_menus(self) -> None:
        menu = self.menuBar()
        sections: dict[str, Sequence[str | None]] = {
            "&File": (
                "import_files", "import_folder", None, "open_selected", "open_folder",
                "open_nifti", "refresh", None, "quit",
            ),
            "&View": (
                *(f"layout_{name}" for name, _, _ in LAYOUTS), None,
                *(f"preset_{name}" for name in WINDOW_PRESETS), None,
                *(f"volume_{name}" for name in VOLUME_PRESETS), None,
                "show_browser", "show_tools", "full_screen",
            ),
            "&Tools": (
                *(f"tool_{name}" for name, _, _ in TOOLS), None, "delete_measurement", None,
            ),
            "&Help": ("about",),
        }  # fmt: skip
        for title, entries in sections.items():
            section = menu.addMenu(title)
            self.menus[title] = section
            for key in entries:
                if key is None:
                    separator = section.addSeparator()
                    if title == "&File":  # the tools' File entries go above "Quit"
                        self._file_insert_point = separator
                else:
                    section.addAction(self.actions[key])

    # --- the host of the analysis panels (see workstation.ui.shell.host) -------------

    def install_tool(self, key: str, tool: object) -> None:
        """Keep an analysis tool (the window only holds it; the tool talks through the host)."""
        self.tools[key] = tool

    @property
    def main_widget(self) -> QWidget:
        return self

    def notify(self, message: str, timeout_ms: int = 5000) -> None:
        self.statusBar().showMessage(message, timeout_ms)

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
        tab_with = self.tools_dock if beside_tools else None
        return add_panel_dock(
            self, title, object_name, content, area=area, tab_with=tab_with, size=size,
            scroll=scroll,
        )  # fmt: skip

    def add_close_guard(self, guard: Callable[[], bool]) -> None:
        self._close_guards.append(guard)

    def current_tool(self) -> str:
        return self.view_state.tool

    # --- settings ----------------------------------------------------------------

    def _restore_settings(self) -> None:
        geometry = self.settings.value(keys.GEOMETRY)
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        else:
            self.resize(1600, 1000)
        state = self.settings.value(keys.WINDOW_STATE)
        if isinstance(state, QByteArray):
            self.restoreState(state)
        layout = read_text(self.settings, keys.LAYOUT, DEFAULT_LAYOUT)
        self.set_layout(layout if layout in LAYOUT_NAMES else DEFAULT_LAYOUT)
        preset = read_text(self.settings, keys.PRESET)
        if preset in WINDOW_PRESETS:
            self.set_preset(preset)

    def save_settings(self) -> None:
        if not self.persist_settings:
            return
        self.settings.setValue(keys.GEOMETRY, self.saveGeometry())
        self.settings.setValue(keys.WINDOW_STATE, self.saveState())
        self.settings.setValue(keys.LAYOUT, self.view_state.layout)
        self.settings.setValue(keys.PRESET, self.view_state.preset or "")
        self.settings.sync()

    def _remember_folder(self, key: str, path: str) -> None:
        self.settings.setValue(key, str(Path(path).parent if Path(path).is_file() else path))

    # --- importing ---------------------------------------------------------------

    def choose_files_to_import(self) -> None:
        start = read_text(self.settings, keys.IMPORT_FOLDER)
        files, _ = QFileDialog.getOpenFileNames(self, "Import DICOM files", start)
        if files:
            self._remember_folder(keys.IMPORT_FOLDER, files[0])
            self.import_paths(files)

    def choose_folder_to_import(self) -> None:
        start = read_text(self.settings, keys.IMPORT_FOLDER)
        folder = QFileDialog.getExistingDirectory(self, "Import a DICOM folder", start)
        if folder:
            self.settings.setValue(keys.IMPORT_FOLDER, folder)
            self.import_paths([folder])

    def import_paths(self, paths: Sequence[str | Path]) -> Job:
        """Index ``paths`` (files, folders, zip archives) in the background; the drop target."""
        paths = [Path(path) for path in paths]
        job = self.jobs.submit(
            "import",
            partial(import_into_database, self.home.database_path, self.home.store, paths),
            on_result=partial(self._on_imported, paths),
            on_error=partial(self.show_error, "Import"),
            on_cancelled=self._on_import_cancelled,
        )
        names = ", ".join(path.name or str(path) for path in paths[:2])
        self.progress.track(job, f"Importing {names}{'…' if len(paths) > 2 else ''}")
        return job

    def _on_imported(self, paths: Sequence[Path], report: ImportReport) -> None:
        record_import(AuditTrail.from_environment(self.home.audit), sources=paths, report=report)
        summary = import_summary(report)
        self.statusBar().showMessage(summary, 15_000)
        self.browser.refresh()
        box = QMessageBox(
            QMessageBox.Icon.Information if report.found_images else QMessageBox.Icon.Warning,
            "Import",
            summary,
            QMessageBox.StandardButton.Ok,
            self,
        )
        if report.skipped:
            box.setInformativeText("Show Details lists each skipped file and why.")
            box.setDetailedText("\n".join(skipped.line() for skipped in report.skipped))
        self._show_box(box)
        self.import_finished.emit(report)

    def _on_import_cancelled(self) -> None:
        """Cancelled before the import began: nothing was read."""
        from workstation.dicom.import_report import ImportReport

        self.statusBar().showMessage("Import cancelled before it started; nothing was read", 10_000)
        self.import_finished.emit(ImportReport(cancelled=True))

    @staticmethod
    def dropped_paths(mime: QMimeData) -> list[str]:
        """The local files and folders in a drag; a drag without any is refused."""
        return [url.toLocalFile() for url in mime.urls() if url.isLocalFile() and url.toLocalFile()]

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self.dropped_paths(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = self.dropped_paths(event.mimeData())
        if not paths:
            return
        event.acceptProposedAction()
        self.handle_dropped(paths)

    def handle_dropped(self, paths: Sequence[str]) -> Job | None:
        """Dropped NIfTI files open directly; everything else is imported."""
        nifti = [path for path in paths if request_for_path(path).is_nifti]
        others = [path for path in paths if path not in nifti]
        if nifti:
            self.open_path(nifti[0])
        return self.import_paths(others) if others else None

    def browser_refresh(self) -> None:
        self.browser.refresh()

    # --- opening series ----------------------------------------------------------

    def open_selected_series(self) -> None:
        if not self.browser.activate_selected():
            self.statusBar().showMessage("Select a series in the study browser first", 5000)

    def choose_folder_to_open(self) -> None:
        start = read_text(self.settings, keys.OPEN_FOLDER)
        folder = QFileDialog.getExistingDirectory(self, "Open a DICOM folder", start)
        if folder:
            self.settings.setValue(keys.OPEN_FOLDER, folder)
            self.open_path(folder)

    def choose_nifti_to_open(self) -> None:
        start = read_text(self.settings, keys.OPEN_FOLDER)
        path, _ = QFileDialog.getOpenFileName(
            self, "Open a NIfTI file", start, "NIfTI (*.nii *.nii.gz);;All files (*)"
        )
        if path:
            self._remember_folder(keys.OPEN_FOLDER, path)
            self.open_path(path)

    def open_series(self, series_uid: str, label: str = "") -> Job | None:
        """Open a series of the database (by UID)."""
        return self.open_request(request_for_series(series_uid, label))

    def open_path(self, path: str | Path) -> Job | None:
        """Open a DICOM folder or file, or a NIfTI file, without importing it."""
        return self.open_request(request_for_path(path))

    def open_request(self, request: SeriesRequest) -> Job | None:
        """Show the request's series: from the cache at once, else loaded in the background.

        Returns the loading job, or None when the series came from the cache.
        """
        cached = self.volume_cache.get(request.key)
        if cached is not None:
            self._show(cached)
            return None
        if self._load_job is not None and not self._load_job.done:
            if self._load_key == request.key:
                return self._load_job
            self._load_job.cancel()  # the user moved on to another series
        job = self.jobs.submit(
            f"load {request.label}",
            partial(
                load_series,
                request,
                self.home.database_path,
                preview=partial(self._preview_ready.emit, request.key),
            ),
            on_result=self._on_loaded,
            on_error=partial(self._on_load_failed, request),
            on_cancelled=partial(self._on_load_cancelled, request),
        )
        self._load_job, self._load_key, self._load_label = job, request.key, request.label
        self.progress.track(job, f"Loading {request.label}")
        return job

    def _on_loaded(self, loaded: LoadedSeries) -> None:
        self._show(self.volume_cache.put(loaded.request.key, loaded))

    def _on_load_failed(self, request: SeriesRequest, message: str) -> None:
        self._end_preview(request.key)
        self.show_error("Cannot open the series", message)
        self.series_failed.emit(message)

    def _on_load_cancelled(self, request: SeriesRequest) -> None:
        self._end_preview(request.key)
        self.statusBar().showMessage(f"Loading {request.label} cancelled", 5000)

    def _show_preview(self, key: str, volume: Volume) -> None:
        """The middle image while the rest of the series loads: something to read at once.

        The series shown before steps aside (``loaded`` is None meanwhile, so no tool
        acts on the preview); it comes back if the load fails or is cancelled.
        """
        job = self._load_job
        if job is None or job.done or key != self._load_key:
            return  # a load the user has moved on from
        viewer = self.ensure_viewer()
        if self._preview_key is None:
            self._before_preview = self.loaded
        self._preview_key = key
        self.loaded = None
        # the panels follow the new patient now, not once the whole series is in
        self.context.show_loading(volume, volume.provenance.study_uid or f"file-{key}")
        viewer.set_volume(volume, info_text=f"{self._load_label}\nloading… (first image)")
        self.setWindowTitle(f"Halong — {self._load_label} (loading)")
        self._apply_view_state(viewer)
        self.preview_shown.emit(volume)

    def _end_preview(self, key: str) -> None:
        """A load ended without a series: show again what was there before its preview."""
        if self._preview_key != key:
            return
        previous, self._preview_key, self._before_preview = self._before_preview, None, None
        if self._load_job is not None and not self._load_job.done:
            return  # another series is on its way
        if previous is not None:
            self._show(previous)
        else:
            if self.viewer is not None:
                self.viewer.set_volume(None)
            self.setWindowTitle("Halong")
            self.context.show(None)

    def _show(self, loaded: LoadedSeries) -> None:
        record_study_opened(
            AuditTrail.from_environment(self.home.audit),
            patient_id=str(loaded.volume.attributes.get("PatientID", "")),
            study_uid=loaded.volume.provenance.study_uid,
        )
        self._preview_key = self._before_preview = None
        viewer = self.ensure_viewer()
        volume = loaded.volume
        self.loaded = loaded
        viewer.set_volume(volume, info_text=_info_text(loaded))
        self._apply_view_state(viewer)
        self.setWindowTitle(f"Halong — {loaded.request.label}")
        self._set_loading_notes(loaded)
        self._restore_measurements(loaded)
        self._show_window_level()
        self._show_position(viewer.crosshair)
        self.context.show(
            SeriesShown(loaded.request.key, loaded.request.label, volume, loaded.study_key)
        )
        self.series_opened.emit(loaded)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._shown_before:  # the window first, then what can wait for it
            self._shown_before = True
            QTimer.singleShot(0, self.browser.refresh)
            QTimer.singleShot(VIEWER_PRELOAD_DELAY_MS, self._prepare_viewer)

    def _prepare_viewer(self) -> None:
        """Import VTK and the viewer in the background while the reader looks at the list,
        so the first series opens without that wait (the window itself never waits for it)."""
        if self.viewer is None and not self.jobs.closed:
            self.jobs.submit("prepare the viewer", _import_viewer)

    def ensure_viewer(self) -> MprViewer:
        """The viewer, created on first use (this is when VTK is loaded)."""
        if self.viewer is None:
            QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
            try:
                from viewers.mpr_viewer import MprViewer

                self.viewer = MprViewer(self.centre)
            finally:
                QApplication.restoreOverrideCursor()
            self.viewer.measurement_added.connect(self.add_measurement)
            for view in self.viewer.slice_views.values():
                view.window_changed.connect(self._show_window_level)
                view.crosshair_moved.connect(self._show_position)
            self.centre.addWidget(self.viewer)
            self._apply_view_state(self.viewer)
        self.centre.setCurrentWidget(self.viewer)
        return self.viewer

    def _apply_view_state(self, viewer: MprViewer) -> None:
        state = self.view_state
        viewer.set_layout(state.layout)
        viewer.set_tool(state.tool)
        if self.loaded is None:
            return
        if state.preset:
            viewer.set_preset(state.preset)
        if state.volume_preset:
            viewer.set_volume_preset(state.volume_preset)
        viewer.set_slab(state.slab_mode, state.slab_mm)

    def _set_loading_notes(self, loaded: LoadedSeries) -> None:
        self._loading_notes = loaded.messages()
        messages = self._loading_notes
        if messages:
            self.statusBar().showMessage(f"{loaded.request.label}: {messages[0]}", 15_000)
        else:
            self.statusBar().showMessage(f"Opened {loaded.request.label}", 5000)
        self.notes_button.setText(f"⚠ {len(messages)} note{'s' if len(messages) != 1 else ''}")
        self.notes_button.setVisible(bool(messages))

    def show_loading_notes(self) -> None:
        if self.loaded is None:
            return
        box = QMessageBox(
            QMessageBox.Icon.Information,
            "Loading notes",
            "\n".join(self._loading_notes) or "Nothing to note.",
            QMessageBox.StandardButton.Ok,
            self,
        )
        if self.loaded.skipped:
            box.setDetailedText("\n".join(skipped.line() for skipped in self.loaded.skipped))
        self._show_box(box)

    # --- viewer controls ---------------------------------------------------------

    def set_layout(self, name: str) -> None:
        self.view_state.layout = name
        self.actions[f"layout_{name}"].setChecked(True)
        if self.viewer is not None:
            self.viewer.set_layout(name)

    def set_preset(self, name: str) -> None:
        self.view_state.preset = name
        self.actions[f"preset_{name}"].setChecked(True)
        if self.viewer is not None and self.loaded is not None:
            self.viewer.set_preset(name)
        self._show_window_level()

    def set_volume_preset(self, name: str) -> None:
        self.view_state.volume_preset = name
        self.actions[f"volume_{name}"].setChecked(True)
        if self.viewer is not None and self.loaded is not None:
            self.viewer.set_volume_preset(name)

    def set_tool(self, name: str) -> None:
        self.view_state.tool = name
        self.actions[f"tool_{name}"].setChecked(True)
        if self.viewer is not None:
            self.viewer.set_tool(name)

    def set_slab(self, mode: str, thickness_mm: float) -> None:
        self.view_state.slab_mode, self.view_state.slab_mm = mode, thickness_mm
        if self.viewer is not None and self.loaded is not None:
            self.viewer.set_slab(mode, thickness_mm)

    def toggle_full_screen(self) -> None:
        if self.isFullScreen():
            self.showNormal()
        else:
            self.showFullScreen()
        self.actions["full_screen"].setChecked(self.isFullScreen())

    # --- measurements ------------------------------------------------------------

    def add_measurement(self, measurement: Measurement) -> None:
        """A measurement the reader placed: list it and save the study's file."""
        if self.loaded is not None:
            self.tools_panel.measurements.add(measurement)

    def _measurements_changed(self, change: str) -> None:
        self.save_measurements()
        if change != "added":  # the viewer drew the new one itself; redraw after edits
            self._draw_measurements()

    def _draw_measurements(self) -> None:
        """Show the listed measurements of the open series in the viewer."""
        if self.viewer is None or self.loaded is None:
            return
        series_uid = self.loaded.volume.provenance.series_uid
        self.viewer.clear_measurements()
        for measurement in self.tools_panel.measurements.measurements:
            if measurement.series_uid in ("", series_uid):
                self.viewer.add_measurement(measurement)

    def save_measurements(self) -> None:
        if self.loaded is None:
            return
        try:
            self.measurement_store.save(
                self.loaded.study_key, self.tools_panel.measurements.measurements
            )
        except MeasurementFileError as error:
            self.show_error("Measurements not saved", str(error))

    def _restore_measurements(self, loaded: LoadedSeries) -> None:
        try:
            measurements = self.measurement_store.load(loaded.study_key)
        except MeasurementFileError as error:
            measurements = []
            self.show_error("Measurements not restored", str(error))
        self.tools_panel.measurements.set_measurements(measurements)
        self._draw_measurements()

    # --- status bar readouts -----------------------------------------------------

    def _show_window_level(self, *_: object) -> None:
        """The slice views' window/level (they are linked), with the preset's name."""
        if self.viewer is None or self.loaded is None:
            text = ""
            if self.view_state.preset:
                width, level = WINDOW_PRESETS[self.view_state.preset]
                text = f"W {width:g}  L {level:g}  ({self.view_state.preset})"
        else:
            width, level = self.viewer.slice_views["axial"].window
            text = f"W {width:.0f}  L {level:.0f}"
            if (width, level) == WINDOW_PRESETS.get(self.view_state.preset or "", None):
                text += f"  ({self.view_state.preset})"
        self.window_level_label.setText(text)

    def _show_position(self, lps: object) -> None:
        """The crosshair's LPS position and the voxel value there."""
        if lps is None or self.loaded is None:
            self.position_label.clear()
            return
        x, y, z = (float(c) for c in lps)  # type: ignore[union-attr]
        text = f"LPS {x:.1f}, {y:.1f}, {z:.1f} mm"
        volume = self.loaded.volume
        try:
            value = probe(volume, (x, y, z), self.viewer.frame)["value"]
        except ValueError:  # outside the volume
            value = None
        if value is not None:
            text += f"  = {value:g}{' HU' if volume.modality == 'CT' else ''}"
        self.position_label.setText(text)

    # --- messages ----------------------------------------------------------------

    def show_error(self, title: str, message: str) -> None:
        """Tell the user (status bar and a non-blocking message box); log it."""
        log.warning("%s: %s", title, message)
        self.statusBar().showMessage(f"{title}: {message}", 15_000)
        self._show_box(
            QMessageBox(
                QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self
            )
        )

    def _show_box(self, box: QMessageBox) -> None:
        if not self.interactive:
            box.deleteLater()
            return
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.setWindowModality(Qt.WindowModality.NonModal)
        self.last_message_box = box
        box.show()

    def show_about(self) -> None:
        QMessageBox.about(
            self,
            "About Halong",
            f"<b>Halong</b> {halong_version()}<br>A radiology reading workstation: "
            "chest CT and stroke imaging.<br>Not for primary diagnosis without local validation.",
        )

    # --- shutdown ----------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        if not all(guard() for guard in self._close_guards):  # unsaved work kept open
            event.ignore()
            return
        self.save_settings()
        self.save_measurements()
        self.shutdown()
        if self.viewer is not None:  # release the render windows while the display is there
            for view in self.viewer.views.values():
                view.close()
        super().closeEvent(event)

    def shutdown(self) -> bool:
        """Cancel background work and wait for every thread to end; True when all did."""
        ended = self.jobs.shutdown()
        return self.browser.shutdown() and ended

    def background_threads(self) -> int:
        """Threads still running background work (0 once the window has closed)."""
        return (
            self.jobs.threads_alive
            + self.browser.jobs.threads_alive
            + self.browser.thumbnail_jobs.threads_alive
        )


def _import_viewer(progress: Progress, cancel: CancelToken) -> None:
    import viewers.mpr_viewer  # noqa: F401


def _info_text(loaded: LoadedSeries) -> str:
    """The corner text of the slice views: what is shown, and its grid."""
    volume = loaded.volume
    z, y, x = volume.shape_zyx
    lines = [loaded.request.label]
    description = str(volume.attributes.get("SeriesDescription", "") or "")
    if description and description not in loaded.request.label:
        lines.append(description)
    grid = f"{volume.modality}  {x}x{y}x{z}"
    if volume.is_4d:
        grid += f"  {volume.voxels.shape[0]} frames"
    lines.append(grid)
    return "\n".join(lines)
