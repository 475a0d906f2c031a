"""Measurement values against hand-computed ground truth on synthetic volumes (Qt-free)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from workstation.model.measurements import (
    Measurement,
    MeasurementKind,
    angle_deg,
    describe,
    distance_mm,
    ellipse_outline,
    ellipse_points,
    ellipse_statistics,
    measure,
    polygon_statistics,
    probe,
    voxel_step_along,
)
from workstation.model.presets import VOLUME_PRESETS, WINDOW_PRESET_KEYS, WINDOW_PRESETS
from workstation.model.volume import Provenance, Volume


def coded_volume(spacing, direction=None, origin=(0.0, 0.0, 0.0)) -> Volume:
    """Voxel value 10000*j + 100*k + i, so a value tells exactly which voxel it came from."""
    direction = np.eye(3) if direction is None else direction
    k, j, i = np.meshgrid(np.arange(12), np.arange(20), np.arange(20), indexing="ij")
    return Volume(
        voxels=(10000 * j + 100 * k + i).astype(np.int32),
        spacing=spacing,
        origin=origin,
        direction=direction,
        modality="CT",
        provenance=Provenance(series_uid="1.2.3"),
    )


def test_distance_and_angle():
    assert distance_mm((1, 2, 3), (4, 6, 15)) == pytest.approx(13.0)  # 3-4-12 -> 13
    assert angle_deg((5, 0, 0), (0, 0, 0), (0, 0, 7)) == pytest.approx(90.0)
    assert angle_deg((1, 0, 0), (0, 0, 0), (0.5, math.sqrt(3) / 2, 0)) == pytest.approx(60.0)
    assert angle_deg((1, 1, 1), (0, 0, 0), (-2, -2, -2)) == pytest.approx(180.0)
    with pytest.raises(ValueError):
        angle_deg((0, 0, 0), (0, 0, 0), (1, 0, 0))


def test_voxel_step_along_the_normal():
    volume = coded_volume((0.7, 0.7, 2.5))
    assert voxel_step_along(volume, (0, 0, -1)) == pytest.approx(2.5)
    assert voxel_step_along(volume, (0, 1, 0)) == pytest.approx(0.7)
    # 45 degrees between x and z: one x voxel (0.7 mm) is 0.7 / cos 45 along the normal
    assert voxel_step_along(volume, (1, 0, 1)) == pytest.approx(0.7 * math.sqrt(2))


def test_probe_reads_the_nearest_voxel_of_a_flipped_anisotropic_grid():
    volume = coded_volume(
        (0.5, 0.8, 2.5), direction=np.diag([-1.0, 1.0, 1.0]), origin=(10, -20, 30)
    )
    # voxel (i, j, k) = (3, 4, 5) has its centre at x = 10 - 3*0.5, y = -20 + 4*0.8, z = 30 + 5*2.5
    values = probe(volume, (8.5 + 0.2, -16.8 - 0.3, 42.5 + 1.0))
    assert values["value"] == 40000 + 500 + 3
    assert (values["i"], values["j"], values["k"]) == (3, 4, 5)
    assert (values["voxel_x"], values["voxel_y"], values["voxel_z"]) == pytest.approx(
        (8.5, -16.8, 42.5)
    )
    with pytest.raises(ValueError):
        probe(volume, (20.0, -16.8, 42.5))  # x = 20 is index -20


def test_ellipse_statistics_on_an_axial_slice():
    # 1 mm in-plane; ellipse centred on voxel (10, 10) of slice k=3, semi-axes 3.5 (x), 2.5 (y).
    # Inside by hand: row dj=0 |di|<=3 (7), dj=+-1 |di|<=3 (14), dj=+-2 |di|<=2 (10): 31 voxels.
    volume = coded_volume((1.0, 1.0, 2.0))
    centre = np.array([10.0, 10.0, 6.0])
    stats = ellipse_statistics(
        volume, [centre, centre + np.array([3.5, 0, 0]), centre + np.array([0, 2.5, 0])]
    )
    assert stats["voxel_count"] == 31
    # value - 100310 = 10000 dj + di; the set is symmetric, so the mean is 100310
    assert stats["mean"] == pytest.approx(100310.0)
    # sum of squares: di^2 gives 28 + 2*28 + 2*10 = 104, (10000 dj)^2 gives 1e8 * (2*7 + 2*5*4)
    assert stats["sd"] == pytest.approx(math.sqrt((1e8 * 54 + 104) / 30))
    # lowest: dj = -2, di = -2; highest: dj = +2, di = +2
    assert (stats["min"], stats["max"]) == (80308.0, 120312.0)
    assert stats["area_mm2"] == pytest.approx(math.pi * 3.5 * 2.5)


def test_roi_takes_only_the_plane_it_was_drawn_on():
    volume = coded_volume((1.0, 1.0, 2.0))
    # plane 0.9 mm above slice k=3 (less than half of the 2 mm step): still slice 3 only
    centre = np.array([10.0, 10.0, 6.9])
    stats = ellipse_statistics(
        volume, [centre, centre + np.array([1.2, 0, 0]), centre + np.array([0, 0.5, 0])]
    )
    assert stats["voxel_count"] == 3  # i = 9, 10, 11 on row j = 10
    assert stats["mean"] == pytest.approx(100310.0)


def test_polygon_statistics_concave_axial():
    # An L shape whose edges run between voxel centres (1 mm grid, slice k=2 at z=4):
    # centres x 0..3 at y 0..1 (8 voxels) plus x 0..1 at y 2..3 (4 voxels); area 8 + 4 mm^2.
    volume = coded_volume((1.0, 1.0, 2.0))
    z = 4.0
    outline = [(-0.5, -0.5), (3.5, -0.5), (3.5, 1.5), (1.5, 1.5), (1.5, 3.5), (-0.5, 3.5)]
    stats = polygon_statistics(volume, [(x, y, z) for x, y in outline])
    assert stats["voxel_count"] == 12
    assert stats["area_mm2"] == pytest.approx(12.0)
    expected = [10000 * j + 200 + i for j in (0, 1) for i in range(4)]
    expected += [10000 * j + 200 + i for j in (2, 3) for i in (0, 1)]
    assert stats["mean"] == pytest.approx(np.mean(expected))
    assert stats["sd"] == pytest.approx(np.std(expected, ddof=1))
    assert (stats["min"], stats["max"]) == (min(expected), max(expected))


def test_polygon_statistics_coronal_on_flipped_grid():
    # Direction diag(-1, 1, 1): voxel i lies at x = -0.5 i. Rectangle on the coronal plane
    # y = 1.5 (j = 3) covering x in [-2.2, -0.3] (i = 1..4) and z in [1, 7] (k = 1..3).
    volume = coded_volume((0.5, 0.5, 2.0), direction=np.diag([-1.0, 1.0, 1.0]))
    y = 1.5
    corners = [(-2.2, y, 1.0), (-0.3, y, 1.0), (-0.3, y, 7.0), (-2.2, y, 7.0)]
    stats = polygon_statistics(volume, corners)
    assert stats["voxel_count"] == 12
    assert stats["mean"] == pytest.approx(30000 + 200 + 2.5)
    assert (stats["min"], stats["max"]) == (30101.0, 30304.0)
    assert stats["area_mm2"] == pytest.approx(1.9 * 6.0)


def test_an_roi_smaller_than_a_voxel_has_no_statistics():
    volume = coded_volume((1.0, 1.0, 2.0))
    centre = np.array([10.5, 10.5, 6.0])  # between voxel centres
    stats = ellipse_statistics(
        volume, [centre, centre + np.array([0.2, 0, 0]), centre + np.array([0, 0.2, 0])]
    )
    assert stats["voxel_count"] == 0
    assert stats["mean"] is None


def test_ellipse_points_from_box_corners():
    points = ellipse_points((0, 0, 5), (4, -2, 5), right=(1, 0, 0), up=(0, -1, 0))
    assert points == [(2.0, -1.0, 5.0), (4.0, -1.0, 5.0), (2.0, -2.0, 5.0)]
    outline = ellipse_outline(points, segments=4)
    assert outline == pytest.approx(np.array([[4, -1, 5], [2, -2, 5], [0, -1, 5], [2, 0, 5]]))


def test_measure_builds_measurements_and_checks_points():
    volume = coded_volume((1.0, 1.0, 2.0))
    distance = measure("distance", [(0, 0, 0), (3, 4, 0)], label="d1")
    assert distance.values == {"distance_mm": pytest.approx(5.0)}
    assert describe(distance) == "d1: 5.0 mm"
    roi = measure(MeasurementKind.ELLIPSE, [(10, 10, 6), (13.5, 10, 6), (10, 12.5, 6)], volume)
    assert roi.series_uid == "1.2.3"
    assert roi.unit == "HU"
    assert roi.values["voxel_count"] == 31
    assert "mean 100310.0" in describe(roi)
    point = measure("probe", [(3.0, 4.0, 10.0)], volume)
    assert point.values["value"] == 40000 + 500 + 3
    with pytest.raises(ValueError):
        measure("angle", [(0, 0, 0), (1, 0, 0)])
    with pytest.raises(ValueError):
        measure("probe", [(0, 0, 0)])  # needs the volume


def test_measurement_json_round_trip():
    volume = coded_volume((1.0, 1.0, 2.0))
    original = measure("freehand", [(0, 0, 4), (3, 0, 4), (0, 3, 4)], volume, label="lesion")
    text = json.dumps(original.to_dict())
    restored = Measurement.from_dict(json.loads(text))
    assert restored == original
    assert json.loads(text)["kind"] == "freehand"


def test_presets_table():
    assert WINDOW_PRESETS["lung"] == (1500, -600)
    assert WINDOW_PRESETS["stroke"] == (40, 40)
    assert [WINDOW_PRESET_KEYS[str(n)] for n in range(1, 7)] == [
        "lung",
        "mediastinum",
        "bone",
        "brain",
        "stroke",
        "soft tissue",
    ]
    assert list(VOLUME_PRESETS) == ["CT bone", "CT lung", "CT soft tissue", "MIP"]
