"""MprViewer: layouts, linking, oblique planes, cine, and the empty state."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from support.viewer_phantoms import BODY, LEFT_MARKER_BOX, chest_phantom, region_mean

from viewers.mpr_viewer import MprViewer
from viewers.slice_view import SliceView
from viewers.volume_view import VolumeView
from workstation.model.presets import WINDOW_PRESETS
from workstation.model.volume import Volume

pytestmark = pytest.mark.gui


@pytest.fixture
def viewer(qtbot) -> MprViewer:
    widget = MprViewer()
    qtbot.addWidget(widget)
    widget.resize(520, 460)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


@pytest.fixture(scope="module")
def shared_viewer(qapp):
    """One viewer for the module, as the UI keeps one for every study it opens."""
    widget = MprViewer()
    widget.resize(520, 460)
    widget.show()
    yield widget
    widget.close()
    widget.deleteLater()  # deleted by the autouse fixture in tests/conftest.py


@pytest.fixture
def loaded(shared_viewer, qtbot) -> MprViewer:
    """The shared viewer back in its opening state, showing the chest phantom."""
    viewer = shared_viewer
    qtbot.waitExposed(viewer)
    viewer.set_layout("2x2")
    viewer.set_active_view("axial")
    viewer.set_tool("none")
    viewer.set_slab("none")
    viewer.clear_overlays()
    viewer.clear_measurements()
    viewer.reset_oblique()
    with qtbot.waitSignal(viewer.all_rendered, timeout=10_000):
        viewer.set_volume(chest_phantom(), info_text="PHANTOM")
    return viewer


def shown(viewer: MprViewer) -> set[str]:
    return {name for name, view in viewer.views.items() if view.isVisible()}


def test_views_and_types(viewer):
    views = viewer.views
    assert set(views) == {"axial", "coronal", "sagittal", "3d"}
    assert all(isinstance(views[n], SliceView) for n in ("axial", "coronal", "sagittal"))
    assert isinstance(views["3d"], VolumeView)
    assert viewer.layout_name == "2x2"
    assert viewer.volume is None


def test_no_volume_is_safe(viewer, qtbot):
    for layout in ("1x1", "1x2", "2x2"):
        viewer.set_layout(layout)
    viewer.set_preset("lung")
    viewer.set_volume_preset("MIP")
    viewer.set_tool("distance")
    viewer.set_slab("mip", 10)
    viewer.go_to((0, 0, 0))
    viewer.rotate_oblique("axial", 30)
    viewer.set_label_overlay(np.zeros((2, 2, 2), int), {1: (1, 0, 0)})
    viewer.set_parametric_overlay(np.zeros((2, 2, 2)))
    viewer.clear_overlays()
    viewer.set_frame(3)
    with qtbot.waitSignal(viewer.all_rendered, timeout=5_000):
        viewer.render_all()
    assert viewer.grab_image().max() == 0


def test_layouts_show_the_right_views(loaded, qtbot):
    viewer = loaded
    assert shown(viewer) == {"axial", "coronal", "sagittal", "3d"}
    cells = {n: viewer.views[n].geometry() for n in ("axial", "coronal", "sagittal", "3d")}
    assert cells["axial"].x() < cells["coronal"].x() and cells["axial"].y() == cells["coronal"].y()
    assert cells["sagittal"].y() > cells["axial"].y() and cells["3d"].x() > cells["sagittal"].x()

    viewer.set_layout("1x1")
    assert viewer.layout_name == "1x1"
    assert shown(viewer) == {"axial"}
    viewer.set_active_view("coronal")
    assert shown(viewer) == {"coronal"}
    viewer.set_layout("1x2")
    assert shown(viewer) == {"coronal", "3d"}
    # clicking a view makes it the active one
    viewer.set_layout("2x2")
    qtbot.mouseClick(viewer.views["sagittal"].vtk_widget, Qt.MouseButton.MiddleButton)
    viewer.set_layout("1x1")
    assert shown(viewer) == {"sagittal"}
    with pytest.raises(ValueError):
        viewer.set_layout("3x3")


def test_all_rendered_after_a_change(loaded, qtbot):
    with qtbot.waitSignal(loaded.all_rendered, timeout=5_000):
        loaded.set_preset("bone")
    image = loaded.grab_image()
    assert image.shape[0] >= 420 and image.shape[1] >= 500
    assert image.std() > 10


def test_preset_reaches_every_slice_view(loaded):
    loaded.set_preset("brain")
    for name in ("axial", "coronal", "sagittal"):
        assert loaded.views[name].window == WINDOW_PRESETS["brain"]
    loaded.set_preset("lung")
    axial = loaded.views["axial"]
    axial.set_crosshair_visible(False)
    axial.annotations.set_visible(False)
    grey = region_mean(axial.grab_image(), *axial.display_of((9.0, -12.0, 0.0)))
    width, level = WINDOW_PRESETS["lung"]
    assert grey[0] == pytest.approx((BODY - (level - width / 2)) / width * 255, abs=2.5)


def test_window_drag_is_linked(loaded, qtbot):
    axial = loaded.views["axial"]
    widget = axial.vtk_widget
    qtbot.mousePress(widget, Qt.MouseButton.LeftButton, pos=QPoint(60, 60))
    qtbot.mouseMove(widget, QPoint(60 + 128, 60))
    qtbot.mouseRelease(widget, Qt.MouseButton.LeftButton, pos=QPoint(60 + 128, 60))
    assert axial.window == pytest.approx((600, 40))
    assert loaded.views["coronal"].window == pytest.approx((600, 40))


def test_go_to_moves_every_plane_and_crosshair(loaded):
    target = np.array([14.0, 0.4, 5.0])
    loaded.go_to(target)
    for name, view in loaded.views.items():
        if name == "3d":
            continue
        assert abs(view.distance_to_plane(target)) <= view.slice_step / 2 + 1e-9
        assert view.crosshair == pytest.approx(tuple(target))


def test_shift_click_links_the_crosshair(loaded, qtbot):
    axial = loaded.views["axial"]
    target = np.array([15.0, 0.0, axial.plane_point[2]])
    x, y = axial.display_of(target)
    with qtbot.waitSignal(axial.crosshair_moved):
        qtbot.mouseClick(
            axial.vtk_widget,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.ShiftModifier,
            QPoint(round(x), round(y)),
        )
    sagittal = loaded.views["sagittal"]
    # the sagittal plane now passes (to within half a voxel) through the clicked point
    assert abs(sagittal.distance_to_plane(target)) <= sagittal.slice_step / 2 + 0.2
    sagittal.set_crosshair_visible(False)
    sagittal.annotations.set_visible(False)
    centre = np.array([(low + high) / 2 for low, high in LEFT_MARKER_BOX])
    marker = region_mean(sagittal.grab_image(), *sagittal.display_of(centre))
    assert marker[0] > 250  # the left marker appears in the sagittal slice through it


def test_rotating_the_crosshair_tilts_the_other_planes(loaded):
    centre = np.array([2.0, -3.0, 1.25])
    loaded.go_to(centre)
    axial_normal = loaded.views["axial"].plane_axes.normal.copy()
    loaded.rotate_oblique("axial", 30)
    assert np.allclose(loaded.views["axial"].plane_axes.normal, axial_normal)
    coronal = loaded.views["coronal"]
    # the coronal normal (0, -1, 0) turned 30 degrees about the axial normal (0, 0, -1)
    turned = np.array([-np.sin(np.radians(30)), -np.cos(np.radians(30)), 0.0])
    assert coronal.plane_axes.normal == pytest.approx(turned, abs=1e-9)
    assert coronal.plane_axes.up == pytest.approx([0, 0, 1])
    for name in ("coronal", "sagittal"):
        assert loaded.views[name].distance_to_plane(centre) == pytest.approx(0, abs=1e-9)
        assert loaded.views[name].corner_texts()["upper_right"].startswith("Oblique")
    loaded.rotate_oblique("axial", 30)  # 60 degrees in all: the plane is mostly sagittal
    assert coronal.orientation_labels()["right"] == "AL"  # screen right turned from L to A
    loaded.reset_oblique()
    assert coronal.plane_axes.normal == pytest.approx([0, -1, 0])
    assert coronal.orientation_labels()["right"] == "L"


def test_measurement_signal_and_sharing(loaded, qtbot):
    axial = loaded.views["axial"]
    z = axial.plane_point[2]
    loaded.set_tool("distance")
    with qtbot.waitSignal(loaded.measurement_added) as added:
        axial.place_point((0.0, 0.0, z))
        axial.place_point((6.0, 8.0, z))
    measurement = added.args[0]
    assert measurement.values["distance_mm"] == pytest.approx(10.0)
    assert measurement in loaded.views["coronal"].measurements
    assert loaded.measurements == [measurement]
    loaded.remove_measurement(measurement.uid)
    assert loaded.measurements == []


def test_slab_and_overlays_forward_to_every_view(loaded):
    loaded.set_slab("mip", 12.0)
    labels = np.zeros(loaded.volume.shape_zyx, np.int32)
    labels[10:20, 10:20, 10:20] = 1
    loaded.set_label_overlay(labels, {1: (0, 255, 0)})
    loaded.set_parametric_overlay(np.ones(loaded.volume.shape_zyx), value_range=(0, 2), title="T")
    for name in ("axial", "coronal", "sagittal"):
        view = loaded.views[name]
        assert view.slab == ("mip", 12.0)
        assert view._labels.active and view._parametric.active
    loaded.clear_overlays()
    assert not loaded.views["axial"]._labels.active


def test_cine_over_a_4d_volume(loaded, qtbot):
    viewer = loaded
    base = chest_phantom()
    frames = np.stack([base.voxels + 100 * t for t in range(3)]).astype(np.int16)
    volume = Volume(
        frames,
        spacing=base.spacing,
        origin=base.origin,
        direction=base.direction,
        modality="CT",
        frame_times=np.array([0.0, 1.5, 3.0]),
    )
    viewer.set_volume(volume)
    assert viewer.cine_bar.isVisible()
    axial = viewer.views["axial"]
    axial.set_crosshair_visible(False)
    point = axial.display_of((9.0, -12.0, 0.0))
    first = region_mean(axial.grab_image(), *point)[0]
    viewer.set_frame(1)
    assert region_mean(axial.grab_image(), *point)[0] > first + 40  # +100 HU in a 400 window
    assert "Frame 2/3" in axial.corner_texts()["upper_right"]
    with qtbot.waitSignal(viewer.frame_changed, timeout=2_000) as changed:
        viewer.play()
    assert changed.args[0] == 2
    assert viewer.playing
    viewer.pause()
    assert not viewer.playing
    viewer.set_volume(chest_phantom())
    assert not viewer.cine_bar.isVisible()


def test_ctrl_drag_rotates_the_crosshair(loaded, qtbot):
    loaded.go_to((0.0, 0.0, 1.25))
    axial = loaded.views["axial"]
    cx, cy = axial.display_of(loaded.crosshair)
    widget = axial.vtk_widget
    start, end = QPoint(round(cx) + 50, round(cy)), QPoint(round(cx), round(cy) - 50)
    qtbot.mousePress(widget, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier, start)
    qtbot.mouseMove(widget, end)  # a quarter turn counter-clockwise on screen
    qtbot.mouseRelease(widget, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier, end)
    # the coronal normal (anterior) turns 90 degrees about the axial normal: to the right
    assert loaded.views["coronal"].plane_axes.normal == pytest.approx([-1, 0, 0], abs=0.03)
