"""Start the Qt application and the main window (``halong``, ``halong gui``, ``halong view``).

``$HALONG_EXIT_AFTER_SHOW=1`` makes the window print how long the process took
to show it (``startup_s=...`` on stdout) and quit at once: the startup benchmark
(``python -m benchmarks.startup``) uses it.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

EXIT_AFTER_SHOW_VARIABLE = "HALONG_EXIT_AFTER_SHOW"
_IMPORTED_AT = time.monotonic()


LOG_BYTES = 5 * 1024**2
LOG_BACKUPS = 3


class DisplayError(Exception):
    """No display to open a window on."""


def process_age_s() -> float:
    """Seconds since this process started (Linux /proc), else since this module loaded."""
    try:
        with open("/proc/self/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        with open("/proc/uptime", encoding="ascii") as uptime:
            up = float(uptime.read().split()[0])
        return up - int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return time.monotonic() - _IMPORTED_AT


def configure_logging(log_folder: Path) -> Path | None:
    """Log to ``log_folder/halong.log`` (rotated), so the details of errors the window
    reports in one line are kept, and no traceback reaches the terminal.

    Returns the log file, or None when it cannot be written (then warnings go to stderr).
    """
    from logging.handlers import RotatingFileHandler

    path = log_folder / "halong.log"
    root = logging.getLogger()
    if any(getattr(handler, "baseFilename", None) == str(path) for handler in root.handlers):
        return path
    try:
        log_folder.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = RotatingFileHandler(
            path, maxBytes=LOG_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
        )
    except OSError:
        handler, path = logging.StreamHandler(), None
        handler.setLevel(logging.WARNING)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s")
    )
    handler.addFilter(own_lines_and_library_warnings)
    root.addHandler(handler)
    if root.level > logging.INFO:
        root.setLevel(logging.INFO)
    return path


#: Loggers whose INFO lines the log keeps; every other library is kept from WARNING up.
OWN_LOGGERS = ("workstation", "ai", "viewers")


def own_lines_and_library_warnings(record: logging.LogRecord) -> bool:
    """Halong's own lines at INFO, libraries' from WARNING: the log stays readable."""
    own = record.name.split(".")[0] in OWN_LOGGERS
    return record.levelno >= (logging.INFO if own else logging.WARNING)


def ensure_display() -> None:
    """Fail clearly (not with Qt's abort) when there is no display to draw on."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise DisplayError(
            "no display: run Halong in a desktop session, or under xvfb-run for screenshots"
        )


def create_application():
    """The QApplication (the existing one, e.g. in tests), named "Halong"."""
    from PySide6.QtWidgets import QApplication

    from workstation.ui.common.settings import APPLICATION, ORGANISATION

    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "halong"])
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("Halong")
    return app


def run_window(
    home: Path | None = None,
    *,
    open_input: str | None = None,
    layout: str | None = None,
    preset: str | None = None,
    size: tuple[int, int] | None = None,
    screenshot: Path | None = None,
) -> int:
    """Show the main window (on ``open_input`` if given) and run until it closes.

    With ``screenshot``, save the window once the series is rendered and return
    (0 when saved). Raises the input's error before any window opens.
    """
    from workstation.dicom.series_input import resolve_input
    from workstation.home import open_private_home
    from workstation.net.audit import AuditTrail, record_application

    halong_home, warning = open_private_home(home)
    request = None
    if open_input is not None:
        request = resolve_input(open_input, halong_home.database_path)
    ensure_display()
    configure_logging(halong_home.logs)
    trail = AuditTrail.from_environment(halong_home.audit)
    record_application(trail)
    app = create_application()

    from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QTimer

    from workstation.ui.window import build_window

    window = build_window(halong_home)
    if warning:
        logging.getLogger(__name__).warning(warning)
        window.notify(f"Warning: {warning}", 60_000)
    task = None
    if screenshot is not None:
        from workstation.ui.shell.screenshot import ScreenshotTask

        window.interactive = False
        window.persist_settings = False
        task = ScreenshotTask(window, screenshot)
    if layout:
        window.set_layout(layout)
    if preset:
        window.set_preset(preset)
    if size:
        window.setWindowState(Qt.WindowState.WindowNoState)
        window.resize(*size)

    if os.environ.get(EXIT_AFTER_SHOW_VARIABLE):

        class ReportFirstShow(QObject):
            def eventFilter(self, watched: QObject, event: QEvent) -> bool:
                if event.type() == QEvent.Type.Show:
                    watched.removeEventFilter(self)
                    QTimer.singleShot(0, self.report)
                return False

            def report(self) -> None:
                print(f"startup_s={process_age_s():.3f}", flush=True)
                app.exit(0)

        reporter = ReportFirstShow(window)
        window.installEventFilter(reporter)

    window.show()
    if request is not None:
        window.open_request(request)
    code = app.exec()
    window.close()  # saves settings and measurements, ends every background thread
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)  # render windows too
    record_application(trail, stopped=True)
    if task is not None:
        return task.exit_code if task.exit_code is not None else 2
    return code
