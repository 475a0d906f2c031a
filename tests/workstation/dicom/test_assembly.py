"""Series -> Volume assembly against volumes and slices whose geometry we chose."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pydicom
import pytest
from support.series_factory import ramp_volume, rotation, sphere_value

from workstation.dicom.image_writer import (
    SeriesInfo,
    SliceSpec,
    volume_slices,
    write_slices,
    write_volume,
)
from workstation.dicom.loader import load_paths
from workstation.dicom.memory_budget import BUDGET_VARIABLE, MemoryBudgetError
from workstation.model.volume import Volume

AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


def _only_volume(folder):
    result = load_paths([folder])
    assert len(result.volumes) == 1, result.notes
    return result.volumes[0], result


def _corners(volume):
    nz, ny, nx = volume.shape_zyx
    return np.array([[i, j, k] for i in (0, nx - 1) for j in (0, ny - 1) for k in (0, nz - 1)])


def test_oblique_anisotropic_series_keeps_geometry_and_order(tmp_path):
    truth = ramp_volume(direction=rotation(20, -35, 50))
    write_volume(truth, tmp_path, shuffle_names=True)
    volume, _ = _only_volume(tmp_path)
    np.testing.assert_array_equal(volume.voxels, truth.voxels)
    np.testing.assert_allclose(volume.spacing, truth.spacing, atol=1e-5)
    corners = _corners(truth)
    np.testing.assert_allclose(
        volume.index_to_world(corners), truth.index_to_world(corners), atol=1e-3
    )
    assert volume.warnings == []


def test_order_follows_position_not_instance_number(tmp_path):
    truth = ramp_volume()
    specs = []
    for z in range(truth.shape_zyx[0]):
        specs.append(
            SliceSpec(
                values=truth.voxels[z],
                position=truth.index_to_world(np.array([0, 0, z])),
                orientation=AXIAL,
                pixel_spacing_xy=truth.spacing[:2],
                slice_thickness=5.0,  # deliberately not the spacing
                instance_number=100 - 7 * z % 13,  # scrambled
            )
        )
    write_slices(specs, tmp_path, SeriesInfo(), "CT", shuffle_names=True)
    volume, _ = _only_volume(tmp_path)
    np.testing.assert_array_equal(volume.voxels, truth.voxels)
    assert volume.spacing[2] == pytest.approx(2.5, abs=1e-5)


def test_descending_positions_give_right_handed_geometry(tmp_path):
    # Scanner writes head-first from top: positions decrease with instance number.
    flipped = ramp_volume(direction=np.diag([1.0, 1.0, -1.0]))
    write_volume(flipped, tmp_path)
    volume, _ = _only_volume(tmp_path)
    assert np.linalg.det(volume.direction) == pytest.approx(1.0)
    # The same world point holds the same value whatever the storage order.
    for ijk in ([0, 0, 0], [5, 3, 11], [23, 19, 4]):
        world = flipped.index_to_world(np.array(ijk))
        i, j, k = np.rint(volume.world_to_index(world)).astype(int)
        assert volume.voxels[k, j, i] == flipped.voxels[ijk[2], ijk[1], ijk[0]]


def test_rescale_slope_and_intercept_are_applied(tmp_path):
    truth = ramp_volume(modality="MR")
    truth.voxels = truth.voxels.astype(np.float32) * 0.37 + 12.5
    write_volume(truth, tmp_path)
    stored = pydicom.dcmread(next(tmp_path.iterdir()))
    assert float(stored.RescaleSlope) != 1.0
    volume, _ = _only_volume(tmp_path)
    assert volume.voxels.dtype == np.float32
    np.testing.assert_allclose(volume.voxels, truth.voxels, atol=float(stored.RescaleSlope))


def test_missing_slice_is_reported_and_interpolated(tmp_path):
    truth = ramp_volume()
    paths = write_volume(truth, tmp_path)
    paths[5].unlink()
    volume, _ = _only_volume(tmp_path)
    assert volume.shape_zyx == truth.shape_zyx
    assert any("missing" in w for w in volume.warnings)
    np.testing.assert_array_equal(volume.voxels[4], truth.voxels[4])
    np.testing.assert_allclose(volume.voxels[5], truth.voxels[5], atol=1)  # linear ramp


def test_missing_slice_refused_when_asked(tmp_path):
    paths = write_volume(ramp_volume(), tmp_path)
    paths[5].unlink()
    result = load_paths([tmp_path], policy="refuse")
    assert result.volumes == []
    assert any("missing slice" in note and "refusing" in note for note in result.notes)


def test_irregular_spacing_is_resampled_with_a_warning(tmp_path):
    heights = [0.0, 2.0, 4.0, 6.5, 8.0, 10.0, 12.0]
    specs = [
        SliceSpec(
            values=np.full((8, 8), int(h * 100), dtype=np.int16),
            position=(0.0, 0.0, h),
            orientation=AXIAL,
            pixel_spacing_xy=(1.0, 1.0),
            slice_thickness=2.0,
            instance_number=n + 1,
        )
        for n, h in enumerate(heights)
    ]
    write_slices(specs, tmp_path, SeriesInfo(), "CT")
    volume, _ = _only_volume(tmp_path)
    assert any("non-uniform" in w for w in volume.warnings)
    assert volume.spacing[2] == pytest.approx(2.0)
    # value = 100 * height, linear in z, so interpolation gives the exact ramp
    np.testing.assert_allclose(volume.voxels[:, 0, 0], np.arange(7) * 200, atol=1)


def test_mixed_orientations_and_sizes_split_into_volumes(tmp_path):
    info = SeriesInfo()
    axial = [
        SliceSpec(np.zeros((10, 12), np.int16), (0, 0, z * 2.0), AXIAL, (1, 1), 2, z + 1)
        for z in range(6)
    ]
    sagittal = [
        SliceSpec(
            np.ones((9, 9), np.int16), (x * 3.0, 0, 0), (0, 1, 0, 0, 0, -1), (1, 1), 3, 50 + x
        )
        for x in range(4)
    ]
    write_slices(axial + sagittal, tmp_path, info, "CT")
    result = load_paths([tmp_path])
    shapes = sorted(v.shape_zyx for v in result.volumes)
    assert shapes == [(4, 9, 9), (6, 10, 12)]
    assert any("split into 2 volumes" in note for note in result.notes)


def test_localizer_is_excluded_with_reason(tmp_path):
    axial = [
        SliceSpec(np.zeros((8, 8), np.int16), (0, 0, z * 2.0), AXIAL, (1, 1), 2, z + 1)
        for z in range(5)
    ]
    scout = SliceSpec(
        np.zeros((8, 8), np.int16),
        (0, 0, 0),
        (1, 0, 0, 0, 0, -1),
        (1, 1),
        1,
        99,
        image_type=("ORIGINAL", "PRIMARY", "LOCALIZER"),
    )
    write_slices([*axial, scout], tmp_path, SeriesInfo(), "CT")
    result = load_paths([tmp_path])
    assert [v.shape_zyx for v in result.volumes] == [(5, 8, 8)]
    assert [e.reason for e in result.skipped] == ["localizer (scout) image"]


def test_duplicate_positions_keep_one_slice_each(tmp_path):
    specs = [
        SliceSpec(np.full((8, 8), z, np.int16), (0, 0, z * 2.0), AXIAL, (1, 1), 2, n)
        for n, z in enumerate([0, 1, 2, 2, 3])
    ]
    write_slices(specs, tmp_path, SeriesInfo(), "CT")
    volume, result = _only_volume(tmp_path)
    assert volume.shape_zyx == (4, 8, 8)
    assert any("duplicate" in w for w in volume.warnings)
    assert [e.reason for e in result.skipped] == ["duplicate slice position (kept another)"]


def test_gantry_tilt_is_corrected_to_true_world_positions(tmp_path):
    tilt = np.radians(15.0)
    step, spacing, size = 2.0, 1.0, 64
    center = np.array([0.0, 4.0, 20.0])
    specs = []
    for k in range(20):
        # The gantry tilt moves each slice origin along y as the table moves in z.
        origin = np.array([-32.0, -32.0 + k * step * np.tan(tilt), k * step])
        j, i = np.mgrid[0:size, 0:size]
        points = origin + np.stack([i * spacing, j * spacing, np.zeros_like(i)], axis=-1)
        specs.append(
            SliceSpec(sphere_value(points, center, 8.0), origin, AXIAL, (1, 1), step, k + 1)
        )
    write_slices(specs, tmp_path, SeriesInfo(), "CT", shuffle_names=True)
    volume, _ = _only_volume(tmp_path)
    assert any("tilt of 15.0°" in w for w in volume.warnings)
    assert volume.spacing[2] == pytest.approx(step)
    k, j, i = np.nonzero(volume.voxels > -350)
    world = volume.index_to_world(np.stack([i, j, k], axis=1))
    np.testing.assert_allclose(world.mean(axis=0), center, atol=0.5)


def _perfusion_truth(n_frames=6, interval=1.6):
    base = ramp_volume(shape=(5, 8, 10))
    frames = np.stack([base.voxels + 7 * t for t in range(n_frames)])
    return Volume(
        voxels=frames,
        spacing=base.spacing,
        origin=base.origin,
        direction=rotation(0, 0, 12),
        modality="CT",
        frame_times=np.arange(n_frames) * interval,
    )


@pytest.mark.parametrize(
    "tags",
    [
        ("AcquisitionNumber", "TemporalPositionIdentifier", "AcquisitionTime", "ContentTime"),
        ("AcquisitionTime",),
        ("TemporalPositionIdentifier", "ContentTime"),
        ("AcquisitionNumber", "ContentTime"),
    ],
)
def test_repeated_position_series_becomes_4d(tmp_path, tags):
    truth = _perfusion_truth()
    write_volume(truth, tmp_path, shuffle_names=True, time_tags=tags, seed=3)
    volume, _ = _only_volume(tmp_path)
    assert volume.voxels.shape == truth.voxels.shape
    np.testing.assert_allclose(volume.frame_times, truth.frame_times, atol=1e-3)
    np.testing.assert_array_equal(volume.voxels, truth.voxels)


def test_4d_with_per_slice_acquisition_times(tmp_path):
    """Slices of one rotation carry their own times; the n-th repeat is frame n."""
    truth = _perfusion_truth(n_frames=5, interval=2.0)
    specs = volume_slices(truth)
    for spec in specs:
        z = (spec.instance_number - 1) % truth.shape_zyx[0]
        spec.time_s += 0.05 * z
    write_slices(
        specs, tmp_path, SeriesInfo(), "CT", shuffle_names=True, time_tags=("ContentTime",)
    )
    volume, _ = _only_volume(tmp_path)
    np.testing.assert_array_equal(volume.voxels, truth.voxels)
    np.testing.assert_allclose(volume.frame_times, truth.frame_times, atol=0.11)


def test_one_series_per_time_point_becomes_4d(tmp_path):
    truth = _perfusion_truth(n_frames=4, interval=1.6)
    write_volume(truth, tmp_path, time_layout="series-per-time-point", shuffle_names=True)
    volume, result = _only_volume(tmp_path)
    assert volume.voxels.shape == truth.voxels.shape
    np.testing.assert_allclose(volume.frame_times, truth.frame_times, atol=1e-3)
    np.testing.assert_array_equal(volume.voxels, truth.voxels)
    assert any("time points" in note for note in result.notes)


def test_enhanced_multiframe_matches_single_frame_series(tmp_path):
    from highdicom.legacy import LegacyConvertedEnhancedCTImage

    truth = ramp_volume(direction=rotation(0, 10, 30))
    single = tmp_path / "single"
    paths = write_volume(truth, single, shuffle_names=True)
    datasets = [pydicom.dcmread(p) for p in paths]
    enhanced = LegacyConvertedEnhancedCTImage(
        legacy_datasets=datasets,
        series_instance_uid=pydicom.uid.generate_uid(),
        series_number=2,
        sop_instance_uid=pydicom.uid.generate_uid(),
        instance_number=1,
    )
    multi = tmp_path / "multi"
    multi.mkdir()
    enhanced.save_as(multi / "enhanced.dcm")
    volume, _ = _only_volume(multi)
    np.testing.assert_array_equal(volume.voxels, truth.voxels)
    corners = _corners(truth)
    np.testing.assert_allclose(
        volume.index_to_world(corners), truth.index_to_world(corners), atol=1e-3
    )


@pytest.mark.parametrize(
    "syntax",
    [
        pydicom.uid.RLELossless,
        pydicom.uid.JPEG2000Lossless,
        pydicom.uid.JPEGLSLossless,
        pydicom.uid.ImplicitVRLittleEndian,
        pydicom.uid.DeflatedExplicitVRLittleEndian,
    ],
)
def test_compressed_and_other_transfer_syntaxes_decode(tmp_path, syntax):
    truth = ramp_volume(shape=(3, 64, 64))
    for path in write_volume(truth, tmp_path):
        ds = pydicom.dcmread(path)
        if syntax.is_compressed:
            ds.compress(syntax)
        else:
            ds.file_meta.TransferSyntaxUID = syntax
        ds.save_as(path, enforce_file_format=True)
    volume, _ = _only_volume(tmp_path)
    np.testing.assert_array_equal(volume.voxels, truth.voxels)


def test_a_volume_over_the_memory_budget_is_refused_with_a_note(tmp_path, monkeypatch):
    write_volume(ramp_volume(shape=(3, 64, 64)), tmp_path)  # int16: 3 × 64 × 64 × 2 bytes
    needed = 3 * 64 * 64 * 2

    refused = load_paths([tmp_path], max_volume_bytes=needed - 1)
    monkeypatch.setenv(BUDGET_VARIABLE, "20K")
    refused_by_setting = load_paths([tmp_path])

    assert refused.volumes == refused_by_setting.volumes == []
    (note,) = refused.notes
    assert note.endswith(
        "a volume of 3 × 64 × 64 voxels would need 24.0 KiB of memory, more than the budget "
        f"of 24.0 KiB (set {BUDGET_VARIABLE} to change it)"
    )
    assert "more than the budget of 20.0 KiB" in refused_by_setting.notes[0]
    assert len(load_paths([tmp_path], max_volume_bytes=needed).volumes) == 1


def test_a_budget_setting_that_is_no_size_is_a_clear_error(tmp_path, monkeypatch):
    write_volume(ramp_volume(shape=(2, 8, 8)), tmp_path)
    monkeypatch.setenv(BUDGET_VARIABLE, "lots")

    with pytest.raises(MemoryBudgetError, match=f"^{BUDGET_VARIABLE}: 'lots' is not a size"):
        load_paths([tmp_path])


def test_compressed_slices_declaring_a_huge_volume_are_refused_before_allocating(tmp_path):
    """Encapsulated data cannot be sized from its header: the budget stops it in time."""
    source = write_volume(ramp_volume(shape=(2, 8, 8)), tmp_path / "small")
    (tmp_path / "huge").mkdir()
    for index, path in enumerate(source):
        ds = pydicom.dcmread(path)
        ds.file_meta.TransferSyntaxUID = pydicom.uid.JPEG2000Lossless
        ds.Rows = ds.Columns = 65535
        ds.PixelData = pydicom.encaps.encapsulate([bytes(100)])
        ds["PixelData"].VR = "OB"
        ds.save_as(tmp_path / "huge" / f"{index}.dcm", enforce_file_format=True)

    tracemalloc.start()
    try:
        result = load_paths([tmp_path / "huge"], max_volume_bytes=1 << 30)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert result.volumes == [] and result.skipped == []
    assert "a volume of 2 × 65535 × 65535 voxels would need 16.0 GiB" in result.notes[0]
    assert peak < 64 << 20  # numpy reports its allocations to tracemalloc: none was made
