"""Mouse and keyboard handling of a slice view, as a Qt event filter.

The filter takes the render widget's input events before VTK sees them, so the
slice view alone decides what a drag means (window/level, zoom, pan, crosshair,
oblique rotation, measurement) and every action goes through the view's public API.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt

from workstation.model.presets import WINDOW_PRESET_KEYS

if TYPE_CHECKING:
    from PySide6.QtGui import QKeyEvent, QMouseEvent, QWheelEvent

    from viewers.slice_view import SliceView

#: Window/level change per pixel of drag, as a fraction of the window at drag start.
WINDOW_PER_PIXEL = 1 / 256
#: Zoom doubles for this many pixels of right-drag upwards.
ZOOM_PIXELS_PER_DOUBLING = 120.0
WHEEL_NOTCH = 120
#: A press and release this many pixels apart count as a drag, not a click.
DRAG_PIXELS = 4
PAGE_STEPS = 10


class SliceInteraction(QObject):
    """Turns Qt input on a slice view's render widget into view actions."""

    def __init__(self, view: SliceView) -> None:
        super().__init__(view)
        self._view = view
        self._drag: str | None = None
        self._press = (0.0, 0.0)
        self._last = (0.0, 0.0)
        self._start_window = (1.0, 0.0)
        self._start_scale = 1.0
        self._wheel = 0

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.Resize:
            size = event.size()  # type: ignore[attr-defined]
            self._view.handle_resize(size.width(), size.height())
            return False
        handler = {
            QEvent.Type.MouseButtonPress: self._mouse_press,
            QEvent.Type.MouseButtonDblClick: self._mouse_press,
            QEvent.Type.MouseMove: self._mouse_move,
            QEvent.Type.MouseButtonRelease: self._mouse_release,
            QEvent.Type.Wheel: self._wheel_event,
            QEvent.Type.KeyPress: self._key_press,
        }.get(kind)
        if handler is None:
            return False
        return handler(event)

    # --- mouse ---------------------------------------------------------------

    def _mouse_press(self, event: QMouseEvent) -> bool:
        view = self._view
        view.activated.emit()
        view.vtk_widget.setFocus()
        x, y = event.position().x(), event.position().y()
        self._press = self._last = (x, y)
        button, modifiers = event.button(), event.modifiers()
        if view.volume is None:
            return True
        if button == Qt.MouseButton.RightButton:
            if view.pending_points:
                view.cancel_measurement()
                return True
            self._drag, self._start_scale = "zoom", view.camera_scale
        elif button == Qt.MouseButton.MiddleButton:
            self._drag = "pan"
        elif button == Qt.MouseButton.LeftButton:
            self._left_press(x, y, modifiers)
        return True

    def _left_press(self, x: float, y: float, modifiers: Qt.KeyboardModifier) -> None:
        view = self._view
        if modifiers & Qt.KeyboardModifier.ControlModifier and view.crosshair is not None:
            self._drag = "rotate"
        elif modifiers & Qt.KeyboardModifier.ShiftModifier or view.tool == "crosshair":
            self._drag = "crosshair"
            view.move_crosshair_to(x, y)
        elif view.tool == "none":
            self._drag, self._start_window = "window", view.window
        else:
            self._drag = "measure"
            view.place_point(view.world_at(x, y))

    def _mouse_move(self, event: QMouseEvent) -> bool:
        view = self._view
        x, y = event.position().x(), event.position().y()
        last, self._last = self._last, (x, y)
        if view.volume is None:
            return True
        dx, dy = x - self._press[0], y - self._press[1]
        if self._drag == "window":
            width, level = self._start_window
            step = max(width, 1.0) * WINDOW_PER_PIXEL
            view.set_window(width + dx * step, level + dy * step)
        elif self._drag == "zoom":
            factor = 2 ** (-dy / ZOOM_PIXELS_PER_DOUBLING)
            view.zoom(view.camera_scale / (self._start_scale / factor))
        elif self._drag == "pan":
            du, dv = view.scene_at(x, y) - view.scene_at(*last)
            view.pan(du, dv)
        elif self._drag == "crosshair":
            view.move_crosshair_to(x, y)
        elif self._drag == "rotate":
            view.oblique_rotated.emit(self._turn_degrees(last, (x, y)))
        elif self._drag == "measure" and view.tool == "freehand":
            if math.dist(last, (x, y)) >= 1:
                view.place_point(view.world_at(x, y))
        elif view.pending_points:
            view.show_preview(view.world_at(x, y))
        return True

    def _turn_degrees(self, before: tuple[float, float], after: tuple[float, float]) -> float:
        """Angle swept about the crosshair on screen, counter-clockwise positive."""
        crosshair = self._view.crosshair
        assert crosshair is not None
        cx, cy = self._view.display_of(crosshair)
        # display y grows downwards, so negate it for a counter-clockwise angle
        a0 = math.atan2(-(before[1] - cy), before[0] - cx)
        a1 = math.atan2(-(after[1] - cy), after[0] - cx)
        return math.degrees(math.remainder(a1 - a0, 2 * math.pi))

    def _mouse_release(self, event: QMouseEvent) -> bool:
        view = self._view
        drag, self._drag = self._drag, None
        x, y = event.position().x(), event.position().y()
        if drag == "measure" and view.volume is not None:
            if view.tool == "freehand":
                view.finish_measurement()
            elif len(view.pending_points) == 1 and math.dist(self._press, (x, y)) >= DRAG_PIXELS:
                # press-drag-release places both ends of a distance or an ellipse's box
                view.place_point(view.world_at(x, y))
        return True

    def _wheel_event(self, event: QWheelEvent) -> bool:
        view = self._view
        delta = event.angleDelta().y()
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            view.zoom(1.1 ** (delta / WHEEL_NOTCH))
            return True
        self._wheel += delta
        notches = int(self._wheel / WHEEL_NOTCH)
        if notches:
            self._wheel -= notches * WHEEL_NOTCH
            view.scroll(notches)
        return True

    # --- keys ------------------------------------------------------------------

    def _key_press(self, event: QKeyEvent) -> bool:
        view = self._view
        key = event.key()
        steps = {
            Qt.Key.Key_Up: 1,
            Qt.Key.Key_Down: -1,
            Qt.Key.Key_PageUp: PAGE_STEPS,
            Qt.Key.Key_PageDown: -PAGE_STEPS,
        }.get(Qt.Key(key))
        if steps is not None:
            view.scroll(steps)
        elif event.text() in WINDOW_PRESET_KEYS:
            view.set_preset(WINDOW_PRESET_KEYS[event.text()])
        elif key == Qt.Key.Key_Escape:
            view.cancel_measurement()
        elif key == Qt.Key.Key_Home:
            view.fit()
        else:
            return False
        return True
