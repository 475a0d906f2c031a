"""Mouse and keyboard on a SliceView: scroll, zoom, pan, freehand ROI, presets by key."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication
from support.viewer_phantoms import LOW

from workstation.model.measurements import MeasurementKind
from workstation.model.presets import WINDOW_PRESETS

pytestmark = pytest.mark.gui


def wheel(widget, notches: float, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    centre = QPointF(widget.width() / 2, widget.height() / 2)
    event = QWheelEvent(
        centre,
        widget.mapToGlobal(centre),
        QPoint(0, 0),
        QPoint(0, int(120 * notches)),
        Qt.MouseButton.NoButton,
        modifiers,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(widget, event)


def point(xy) -> QPoint:
    return QPoint(round(xy[0]), round(xy[1]))


def test_wheel_scrolls_and_ctrl_wheel_zooms(make_slice_view, phantom):
    view = make_slice_view(phantom)
    start, scale = view.slice_position, view.camera_scale
    wheel(view.vtk_widget, 2)
    assert view.slice_position == pytest.approx(start + 2 * view.slice_step)
    wheel(view.vtk_widget, 0.5)  # half notches (touchpads) add up
    wheel(view.vtk_widget, 0.5)
    assert view.slice_position == pytest.approx(start + 3 * view.slice_step)
    wheel(view.vtk_widget, 1, Qt.KeyboardModifier.ControlModifier)
    assert view.slice_position == pytest.approx(start + 3 * view.slice_step)
    assert view.camera_scale == pytest.approx(scale / 1.1)


def test_page_keys_and_preset_keys(make_slice_view, phantom, qtbot):
    view = make_slice_view(phantom)
    start = view.slice_position
    qtbot.keyClick(view.vtk_widget, Qt.Key.Key_PageDown)
    assert view.slice_position == pytest.approx(start - 10 * view.slice_step)
    qtbot.keyClick(view.vtk_widget, "1")
    assert view.window == WINDOW_PRESETS["lung"]
    qtbot.keyClick(view.vtk_widget, "5")
    assert view.window == WINDOW_PRESETS["stroke"]


def test_right_drag_zooms_and_middle_drag_pans(make_slice_view, phantom, qtbot):
    view = make_slice_view(phantom)
    widget = view.vtk_widget
    scale = view.camera_scale
    qtbot.mousePress(widget, Qt.MouseButton.RightButton, pos=QPoint(150, 150))
    qtbot.mouseMove(widget, QPoint(150, 30))  # 120 px up: twice the magnification
    qtbot.mouseRelease(widget, Qt.MouseButton.RightButton, pos=QPoint(150, 30))
    assert view.camera_scale == pytest.approx(scale / 2)

    grabbed = view.world_at(100, 100)
    qtbot.mousePress(widget, Qt.MouseButton.MiddleButton, pos=QPoint(100, 100))
    qtbot.mouseMove(widget, QPoint(130, 90))
    qtbot.mouseRelease(widget, Qt.MouseButton.MiddleButton, pos=QPoint(130, 90))
    assert view.display_of(grabbed) == pytest.approx((130, 90), abs=0.01)


def test_freehand_roi_by_dragging(make_slice_view, phantom, qtbot):
    view = make_slice_view(phantom)
    view.go_to((0.0, 0.0, 0.0))
    z = view.plane_point[2]
    corners = [view.display_of((x, y, z)) for x, y in ((-13, -6), (-5, -6), (-5, 6), (-13, 6))]
    view.set_tool("freehand")
    widget = view.vtk_widget
    with qtbot.waitSignal(view.measurement_added) as added:
        qtbot.mousePress(widget, Qt.MouseButton.LeftButton, pos=point(corners[0]))
        for corner in corners[1:]:
            qtbot.mouseMove(widget, point(corner))
        qtbot.mouseRelease(widget, Qt.MouseButton.LeftButton, pos=point(corners[-1]))
    roi = added.args[0]
    assert roi.kind == MeasurementKind.FREEHAND
    assert roi.values["area_mm2"] == pytest.approx(8 * 12, rel=0.05)
    assert roi.values["mean"] == pytest.approx(LOW)
    assert all(abs(view.distance_to_plane(p)) < 1e-6 for p in roi.points)


def test_right_click_cancels_a_measurement(make_slice_view, phantom, qtbot):
    view = make_slice_view(phantom)
    view.set_tool("angle")
    qtbot.mouseClick(view.vtk_widget, Qt.MouseButton.LeftButton, pos=QPoint(100, 100))
    qtbot.mouseMove(view.vtk_widget, QPoint(150, 120))
    assert len(view.pending_points) == 1
    qtbot.mouseClick(view.vtk_widget, Qt.MouseButton.RightButton, pos=QPoint(150, 120))
    assert view.pending_points == []
    assert view.measurements == []
