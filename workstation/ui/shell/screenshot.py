"""Screenshots of the main window with its VTK views, for ``halong view --screenshot``.

``QWidget.grab()`` does not capture OpenGL content reliably (VTK views come out
black or stale), so the viewer's visible views are read back through VTK
(``MprViewer.grab_image``) and drawn over the grabbed window at their place.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QPoint, QPointF, QRect, QRectF, QSizeF, QTimer
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QApplication, QWidget

#: Seconds to wait for the series to load and render before giving up.
DEFAULT_TIMEOUT_S = 300.0
EXIT_LOAD_FAILED = 1


def grab_window(window: QWidget, viewer: Any = None) -> QImage:
    """The whole window as an image, the viewer's VTK views read back through VTK."""
    image = window.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    if viewer is None or not viewer.isVisible():
        return image
    pixels = np.ascontiguousarray(viewer.grab_image())  # the visible views, laid out
    height, width, _ = pixels.shape
    views = QImage(pixels.data, width, height, 3 * width, QImage.Format.Format_RGB888)
    ratio = viewer.devicePixelRatioF()
    painter = QPainter(image)
    try:
        corner = QPointF(viewer.mapTo(window, QPoint(0, 0)))
        painter.drawImage(QRectF(corner, QSizeF(width / ratio, height / ratio)), views)
    finally:
        painter.end()
    return image


def view_regions(window: QWidget, viewer: Any) -> dict[str, QRect]:
    """Where each visible view lies in :func:`grab_window`'s image (logical pixels)."""
    regions = {}
    for name in viewer.visible_view_names():
        view = viewer.views[name]
        if view.isVisible():
            regions[name] = QRect(view.mapTo(window, QPoint(0, 0)), view.size())
    return regions


def describe_regions(regions: dict[str, QRect]) -> str:
    """``axial=x,y,w,h coronal=...``: where the views are in a saved screenshot."""
    return " ".join(
        f"{name}={rect.x()},{rect.y()},{rect.width()},{rect.height()}"
        for name, rect in regions.items()
    )


class ScreenshotTask(QObject):
    """Waits for ``window`` to open a series and render it, saves a PNG, quits the app.

    :attr:`exit_code` is 0 once saved, :data:`EXIT_LOAD_FAILED` if the series could
    not be opened, 2 if the image could not be written or time ran out.
    """

    def __init__(self, window: Any, path: Path, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        super().__init__(window)
        self.window = window
        self.path = path
        self.exit_code: int | None = None
        window.series_opened.connect(self._on_opened)
        window.series_failed.connect(self._on_failed)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._on_timeout)
        self._timer.start(int(timeout_s * 1000))
        self._timeout_s = timeout_s

    def _on_opened(self, loaded: object) -> None:
        viewer = self.window.viewer
        viewer.all_rendered.connect(self._on_rendered)
        QTimer.singleShot(0, viewer.render_all)

    def _on_rendered(self) -> None:
        if self.exit_code is None:
            QTimer.singleShot(100, self._save)  # let Qt paint the rest of the window

    def _save(self) -> None:
        if self.exit_code is not None:
            return
        QApplication.processEvents()
        viewer = self.window.viewer
        image = grab_window(self.window, viewer)
        if image.save(str(self.path), "PNG"):
            regions = describe_regions(view_regions(self.window, viewer))
            print(f"Saved {self.path} ({image.width()}x{image.height()}); views: {regions}")
            self._finish(0)
        else:
            self._fail(f"cannot write the screenshot to {self.path}", 2)

    def _on_failed(self, message: str) -> None:
        self._fail(message, EXIT_LOAD_FAILED)

    def _on_timeout(self) -> None:
        self._fail(f"the series was not shown within {self._timeout_s:g} s", 2)

    def _fail(self, message: str, code: int) -> None:
        if self.exit_code is None:
            print(f"halong: error: {message}", file=sys.stderr)
            self._finish(code)

    def _finish(self, code: int) -> None:
        self.exit_code = code
        self._timer.stop()
        QApplication.instance().exit(code)
