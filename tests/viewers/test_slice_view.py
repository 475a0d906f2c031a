"""SliceView on synthetic phantoms: what reaches the screen, checked pixel by pixel."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from support.viewer_phantoms import (
    ANTERIOR_MARKER_BOX,
    BODY,
    LEFT_MARKER_BOX,
    LOW,
    MARKER,
    centred_volume,
    chest_phantom,
    paint,
    region_mean,
)

from workstation.model.measurements import MeasurementKind
from workstation.model.presets import WINDOW_PRESETS

pytestmark = pytest.mark.gui


def box_centre(box) -> np.ndarray:
    return np.array([(low + high) / 2 for low, high in box])


def expected_grey(hu: float, width: float, level: float) -> float:
    return float(np.clip((hu - (level - width / 2)) / width, 0, 1) * 255)


def bright_columns(image: np.ndarray, threshold: int = 250) -> np.ndarray:
    return np.nonzero(image[..., 0] >= threshold)[1]


def body_centre_column(image: np.ndarray) -> float:
    """Middle of the columns showing anything but air (found in the image, not the API)."""
    columns = np.nonzero((image[..., 0] > 40).any(axis=0))[0]
    return (columns.min() + columns.max()) / 2


def bare(view):
    """Hide crosshair and text so pixels show only the image."""
    view.set_crosshair_visible(False)
    view.annotations.set_visible(False)
    return view


@pytest.mark.parametrize("orientation", ["axial", "coronal", "sagittal"])
def test_each_plane_shows_the_volume(make_slice_view, phantom, orientation):
    view = make_slice_view(phantom, orientation)
    image = view.grab_image()
    assert image.shape[:2] == (300, 300)
    assert image[50:250, 50:250].std() > 20


def test_empty_view_is_black(make_slice_view):
    view = make_slice_view(None)
    view.scroll(3)
    view.set_preset("lung")
    view.set_slab("mip", 10)
    view.render()
    assert view.grab_image().max() == 0


def test_scroll_changes_the_axial_image(make_slice_view, phantom, qtbot):
    view = bare(make_slice_view(phantom))
    view.go_to((0.0, 0.0, 0.0))
    before = view.grab_image()
    start = view.slice_position
    with qtbot.waitSignal(view.slice_changed) as changed:
        view.scroll(5)  # 12.5 mm up: past the left marker (z -8..8)
    assert changed.args[0] == pytest.approx(start + 5 * 2.5)
    after = view.grab_image()
    assert np.abs(after.astype(int) - before.astype(int)).max() > 100
    # keys move one slice; superior is "up" for an axial stack
    qtbot.keyClick(view.vtk_widget, Qt.Key.Key_Down)
    assert view.slice_position == pytest.approx(start + 4 * 2.5)
    view.scroll(-1000)
    assert view.slice_index == (1, 40)


@pytest.mark.parametrize(
    "direction",
    [np.diag([-1.0, 1.0, 1.0]), np.diag([-1.0, -1.0, 1.0]), np.eye(3)],
    ids=["right-to-left", "rotated-180", "identity"],
)
def test_radiological_orientation(make_slice_view, direction):
    volume = chest_phantom(direction)
    left = box_centre(LEFT_MARKER_BOX)
    anterior = box_centre(ANTERIOR_MARKER_BOX)

    axial = bare(make_slice_view(volume, "axial"))
    axial.go_to(left)
    image = axial.grab_image()
    assert bright_columns(image).mean() > body_centre_column(image) + 20  # left on the right

    coronal = bare(make_slice_view(volume, "coronal"))
    coronal.go_to(left)
    image = coronal.grab_image()
    assert bright_columns(image).mean() > body_centre_column(image) + 20

    sagittal = bare(make_slice_view(volume, "sagittal"))
    sagittal.go_to(anterior)
    image = sagittal.grab_image()
    rows = np.nonzero(image[..., 0] >= 250)[0]
    assert bright_columns(image).mean() < body_centre_column(image) - 20  # anterior on the left
    assert rows.mean() < 150 - 20  # superior at the top


def test_anisotropic_proportions(make_slice_view, phantom):
    """The body is 38 x 80 mm in the coronal plane: its pixel extents keep that ratio."""
    view = bare(make_slice_view(phantom, "coronal"))
    view.go_to((0.0, 0.0, 0.0))
    image = view.grab_image()
    mask = image[..., 0] > 40
    columns, rows = np.nonzero(mask.any(axis=0))[0], np.nonzero(mask.any(axis=1))[0]
    width, height = np.ptp(columns) + 1, np.ptp(rows) + 1
    assert height / width == pytest.approx(80 / 38, rel=0.06)


@pytest.mark.parametrize("preset", ["soft tissue", "brain", "lung", "mediastinum"])
def test_window_preset_grey_levels(make_slice_view, phantom, preset):
    view = bare(make_slice_view(phantom))
    view.go_to((0.0, 0.0, 0.0))
    view.set_preset(preset)
    width, level = WINDOW_PRESETS[preset]
    image = view.grab_image()
    body = region_mean(image, *view.display_of((9.0, -12.0, 0.0)))
    low = region_mean(image, *view.display_of((-9.0, 0.0, 0.0)))
    assert body == pytest.approx([expected_grey(BODY, width, level)] * 3, abs=2.5)
    assert low == pytest.approx([expected_grey(LOW, width, level)] * 3, abs=2.5)


def test_window_drag_and_signal(make_slice_view, phantom, qtbot):
    view = make_slice_view(phantom)
    view.set_window(400, 40)
    widget = view.vtk_widget
    with qtbot.waitSignal(view.window_changed) as changed:
        qtbot.mousePress(widget, Qt.MouseButton.LeftButton, pos=QPoint(100, 100))
        qtbot.mouseMove(widget, QPoint(164, 132))
        qtbot.mouseRelease(widget, Qt.MouseButton.LeftButton, pos=QPoint(164, 132))
    width, level = changed.args
    assert width == pytest.approx(400 + 64 * 400 / 256)
    assert level == pytest.approx(40 + 32 * 400 / 256)
    assert "W 500 L 90" in view.corner_texts()["lower_right"]


def test_orientation_labels(make_slice_view, phantom):
    expected = {
        "axial": {"left": "R", "right": "L", "top": "A", "bottom": "P"},
        "coronal": {"left": "R", "right": "L", "top": "S", "bottom": "I"},
        "sagittal": {"left": "A", "right": "P", "top": "S", "bottom": "I"},
    }
    for orientation, labels in expected.items():
        view = make_slice_view(phantom, orientation)
        assert view.orientation_labels() == labels
        assert {edge: view.annotations.text(edge) for edge in labels} == labels


def test_oblique_labels_combine_directions(make_slice_view, phantom):
    view = make_slice_view(phantom, "axial")
    turn = np.radians(40)  # screen right turned 40 degrees from L towards P
    view.set_plane((np.cos(turn), np.sin(turn), 0), (np.sin(turn), -np.cos(turn), 0))
    view.render()
    labels = view.orientation_labels()
    assert labels["right"] == "LP"
    assert labels["top"] == "AL"
    assert view.corner_texts()["upper_right"].startswith("Oblique")


def test_corner_text_and_scale_bar(make_slice_view, phantom):
    view = make_slice_view(phantom)
    view.set_info_text("DOE^JANE  CT CHEST")
    view.go_to((0.0, 0.0, 3.75))
    view.render()
    texts = view.corner_texts()
    assert texts["upper_left"] == "DOE^JANE  CT CHEST"
    assert "Pos 3.8 mm" in texts["lower_left"]
    assert texts["lower_right"] == "W 400 L 40"
    # bar length: a round number of mm no longer than a quarter of the width
    mm_per_pixel = 2 * view.camera_scale / 300
    assert view.annotations.scale_length_mm in (1, 2, 5, 10, 20, 50)
    assert (
        view.annotations.scale_length_mm
        <= 75 * mm_per_pixel
        < 2.5 * view.annotations.scale_length_mm
    )


def test_world_at_inverts_display_of(make_slice_view, phantom):
    view = make_slice_view(phantom, "coronal")
    view.zoom(1.7)
    view.pan(3.0, -2.0)
    view.render()
    point = np.array([7.0, view.plane_point[1], -11.0])
    x, y = view.display_of(point)
    assert view.world_at(x, y) == pytest.approx(tuple(point), abs=1e-6)


def test_distance_by_clicks(make_slice_view, phantom, qtbot):
    view = make_slice_view(phantom)
    view.go_to((0.0, 0.0, 0.0))
    z = view.plane_point[2]
    a, b = np.array([-10.0, -5.0, z]), np.array([10.0, 8.0, z])
    view.set_tool("distance")
    with qtbot.waitSignal(view.measurement_added) as added:
        for point in (a, b):
            x, y = view.display_of(point)
            qtbot.mouseClick(
                view.vtk_widget, Qt.MouseButton.LeftButton, pos=QPoint(round(x), round(y))
            )
    measurement = added.args[0]
    assert measurement.kind == MeasurementKind.DISTANCE
    assert measurement.values["distance_mm"] == pytest.approx(np.linalg.norm(b - a), abs=0.5)
    view.render()
    assert view.measurement_texts() == [f"{measurement.values['distance_mm']:.1f} mm"]
    view.scroll(3)  # another slice: not drawn there
    view.render()
    assert view.measurement_texts() == []


def test_ellipse_roi_and_probe_through_the_api(make_slice_view, phantom):
    view = make_slice_view(phantom)
    view.go_to((0.0, 0.0, 0.0))
    z = view.plane_point[2]
    view.set_tool("ellipse")
    assert view.place_point((-14.0, -8.0, z)) is None
    roi = view.place_point((-4.0, 8.0, z))
    assert roi.values["mean"] == pytest.approx(LOW)
    assert roi.values["sd"] == pytest.approx(0.0)
    assert roi.values["area_mm2"] == pytest.approx(np.pi * 5 * 8)
    view.set_tool("probe")
    probe = view.place_point((15.0, 0.0, z))
    assert probe.values["value"] == MARKER


@pytest.fixture
def dotted_phantom():
    """Body at 60 HU with a bright dot and a dark dot 3 slices above z = -1.25 mm."""
    volume = centred_volume(np.diag([-1.0, 1.0, 1.0]))
    paint(volume, ((-19, 19), (-19, 19), (-40, 40)), BODY)
    dot_z = -1.25 + 3 * 2.5
    paint(volume, ((5, 7.5), (5, 7.5), (dot_z - 1, dot_z + 1)), 3000)
    paint(volume, ((-8, -5.5), (-8, -5.5), (dot_z - 1, dot_z + 1)), -1000)
    return volume


@pytest.mark.parametrize(
    ("mode", "where", "check"),
    [
        ("mip", (6.2, 6.2), lambda grey: grey > 250),
        ("minip", (-6.8, -6.8), lambda grey: grey < 5),
    ],
)
def test_slab_shows_a_dot_off_the_slice(make_slice_view, dotted_phantom, mode, where, check):
    view = bare(make_slice_view(dotted_phantom))
    view.go_to((0.0, 0.0, -1.25))
    spot = view.display_of((*where, -1.25))
    thin = region_mean(view.grab_image(), *spot, half=2)[0]
    assert thin == pytest.approx(expected_grey(BODY, 400, 40), abs=2.5)
    view.set_slab(mode, 20.0)
    thick = region_mean(view.grab_image(), *spot, half=2)[0]
    assert check(thick)
    assert "20.0 mm" in view.corner_texts()["upper_right"]


def test_label_overlay(make_slice_view, phantom):
    view = bare(make_slice_view(phantom))
    view.go_to((0.0, 0.0, 0.0))
    labels = np.zeros(phantom.shape_zyx, np.int32)
    labels[phantom.voxels == LOW] = 2
    labelled, plain = view.display_of((-9.0, 0.0, 0.0)), view.display_of((9.0, -12.0, 0.0))

    view.set_label_overlay(labels, {2: (255, 0, 0)}, opacity=1.0)
    image = view.grab_image()
    assert region_mean(image, *labelled) == pytest.approx([255, 0, 0], abs=3)
    grey = expected_grey(BODY, 400, 40)
    assert region_mean(image, *plain) == pytest.approx([grey] * 3, abs=2.5)

    view.set_label_overlay(labels, {2: (255, 0, 0)}, opacity=1.0, visible_labels=[])
    assert np.ptp(region_mean(view.grab_image(), *labelled)) < 3  # grey again: hidden

    view.set_label_overlay(labels, {2: (255, 0, 0)}, opacity=1.0, outline=True)
    image = view.grab_image()
    assert np.ptp(region_mean(image, *labelled)) < 3  # inside an outline: image shows
    edge_x, edge_y = view.display_of(
        (-15.0, 0.0, 0.0)
    )  # the region's border on screen left (patient right)
    assert (image[round(edge_y), round(edge_x) - 3 : round(edge_x) + 4, 1] < 60).any()
    assert (image[round(edge_y), round(edge_x) - 3 : round(edge_x) + 4, 0] > 200).any()


def test_parametric_overlay_threshold_and_legend(make_slice_view, phantom):
    view = bare(make_slice_view(phantom))
    view.go_to((0.0, 0.0, 0.0))
    x = np.broadcast_to(
        np.asarray(
            [phantom.index_to_world(np.array([i, 0, 0]))[0] for i in range(phantom.shape_zyx[2])]
        ),
        phantom.shape_zyx,
    )
    values = (x + 20.0).astype(np.float32)  # 0 .. 40 from patient's right to left
    view.set_parametric_overlay(
        values, lut="rainbow", value_range=(0, 40), threshold=20, title="CBF", opacity=1.0
    )
    image = view.grab_image()
    below = region_mean(image, *view.display_of((-9.0, 0.0, 0.0)))  # value 11: hidden
    above = region_mean(image, *view.display_of((9.0, -12.0, 0.0)))  # value 29: coloured
    assert below == pytest.approx([expected_grey(LOW, 400, 40)] * 3, abs=2.5)
    # rainbow at 29/40 = 0.725: between green (0.5) and yellow (0.75): red ~ 230, green 255, blue 0
    assert above == pytest.approx([230, 255, 0], abs=12)
    view.annotations.set_visible(True)
    legend = view._parametric.legend
    assert legend.GetVisibility() and legend.GetTitle() == "CBF"
    view.clear_overlays()
    again = region_mean(view.grab_image(), *view.display_of((9.0, -12.0, 0.0)))
    assert np.ptp(again) < 3


def test_overlay_must_match_the_volume_grid(make_slice_view, phantom):
    view = make_slice_view(phantom)
    with pytest.raises(ValueError, match="overlay shape"):
        view.set_label_overlay(np.zeros((3, 3, 3), int), {1: (1, 0, 0)})


@pytest.mark.parametrize("orientation", ["axial", "sagittal"])
def test_a_single_slice_volume(make_slice_view, orientation):
    volume = centred_volume(np.eye(3), shape=(1, 32, 32), spacing=(0.5, 0.5, 5.0))
    volume.voxels[:, 8:24, 8:24] = BODY
    view = bare(make_slice_view(volume, orientation))
    view.scroll(3)
    assert view.slice_index[1] == {"axial": 1, "sagittal": 32}[orientation]
    image = view.grab_image()
    assert image.max() > 100  # the square (axial) or its one-slice edge (sagittal)
