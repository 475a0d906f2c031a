"""The chest CT phantom against its analytic ground truth."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from ai.phantoms import LUNG_LABELS, ChestPhantom, NoduleSpec, NoduleTruth, make_chest_ct

SOLID_HU, GROUND_GLASS_HU, LUNG_HU = 40.0, -600.0, -850.0

FINE_NODULES = [
    NoduleSpec("solid", 6.0),
    NoduleSpec("solid", 8.0),
    NoduleSpec("solid", 12.0),
    NoduleSpec("ground-glass", 10.0),
    NoduleSpec("part-solid", 12.0, solid_core_diameter_mm=6.0),
    NoduleSpec("solid", 10.0, shape="ellipsoid", axis_ratios=(1.4, 1.0, 0.8)),
    NoduleSpec("solid", 9.0, shape="lobulated", lobulation=0.3),
    NoduleSpec("solid", 7.0, juxtapleural=True),
]


@pytest.fixture(scope="module")
def fine() -> ChestPhantom:
    """0.7 mm isotropic, noise- and vessel-free: nodules alone in the lung."""
    return make_chest_ct(
        seed=4,
        shape=(100, 256, 256),
        spacing=(0.7, 0.7, 0.7),
        nodules=FINE_NODULES,
        noise_hu=0.0,
        vessel_generations=0,
    )


@pytest.fixture(scope="module")
def default() -> ChestPhantom:
    return make_chest_ct(seed=0)


def _near(phantom: ChestPhantom, nodule: NoduleTruth) -> np.ndarray:
    """HU of the voxels that can hold any of a nodule: its bounding sphere plus a voxel."""
    volume = phantom.volume
    reach = nodule.bounding_radius_mm + 1.0 + np.asarray(volume.spacing)  # per axis (x, y, z)
    centre = np.array(nodule.center_lps_mm)
    lo = np.maximum(np.floor(volume.world_to_index(centre - reach)).astype(int), 0)
    hi = np.ceil(volume.world_to_index(centre + reach)).astype(int) + 1
    box = tuple(slice(lo[a], hi[a]) for a in (2, 1, 0))
    hu = volume.voxels[box].astype(float)
    k, j, i = np.indices(hu.shape) + lo[::-1, None, None, None]
    offset = volume.index_to_world(np.stack([i, j, k], axis=-1)) - centre
    return hu[((offset / reach) ** 2).sum(axis=-1) <= 1.0]


def _local_lung_hu(hu: np.ndarray) -> float:
    """The lung around a nodule (lung density varies a little from front to back)."""
    return float(np.median(hu[hu < -700]))


def _threshold_volume(
    phantom: ChestPhantom, nodule: NoduleTruth, inside: float, outside: float | None = None
) -> float:
    hu = _near(phantom, nodule)
    outside = _local_lung_hu(hu) if outside is None else outside
    return (hu > (inside + outside) / 2).sum() * phantom.volume.voxel_volume_mm3


def _occupancy_volume(phantom: ChestPhantom, nodule: NoduleTruth, inside: float) -> float:
    hu = _near(phantom, nodule)
    lung = _local_lung_hu(hu)
    occupancy = np.clip((hu - lung) / (inside - lung), 0.0, 1.0)
    return occupancy.sum() * phantom.volume.voxel_volume_mm3


def _free(fine: ChestPhantom) -> list[NoduleTruth]:
    return [n for n in fine.nodules if not n.juxtapleural]


def test_thresholded_nodule_volume_matches_analytic(fine: ChestPhantom) -> None:
    for nodule in _free(fine):
        assert nodule.diameter_mm >= 6.0
        inside = SOLID_HU if nodule.type == "solid" else GROUND_GLASS_HU
        measured = _threshold_volume(fine, nodule, inside)
        expected = 4.0 / 3.0 * np.pi * (nodule.diameter_mm / 2) ** 3
        assert measured == pytest.approx(expected, rel=0.10), nodule
        assert nodule.volume_mm3 == pytest.approx(expected, rel=1e-9)


def test_partial_volume_sum_matches_analytic_within_two_percent(fine: ChestPhantom) -> None:
    for nodule in _free(fine):
        if nodule.type == "part-solid":
            continue
        inside = SOLID_HU if nodule.type == "solid" else GROUND_GLASS_HU
        measured = _occupancy_volume(fine, nodule, inside)
        assert measured == pytest.approx(nodule.volume_mm3, rel=0.02), nodule


def test_part_solid_core_volume(fine: ChestPhantom) -> None:
    (nodule,) = [n for n in fine.nodules if n.type == "part-solid"]
    assert nodule.solid_core_diameter_mm == pytest.approx(6.0)
    core = _threshold_volume(fine, nodule, SOLID_HU, GROUND_GLASS_HU)
    assert core == pytest.approx(np.pi / 6 * 6.0**3, rel=0.10)
    assert nodule.solid_volume_mm3 == pytest.approx(np.pi / 6 * 6.0**3)
    expected_mean = (SOLID_HU * 6.0**3 + GROUND_GLASS_HU * (12.0**3 - 6.0**3)) / 12.0**3
    assert nodule.mean_hu == pytest.approx(expected_mean)


def test_label_centroids_sit_at_the_stated_lps_centres(fine: ChestPhantom) -> None:
    volume = fine.volume
    for nodule in fine.nodules:
        if nodule.shape == "lobulated":
            continue  # bumps move the centroid off the centre
        k, j, i = np.nonzero(fine.nodule_labels == nodule.id)
        centroid = volume.index_to_world(np.stack([i, j, k], axis=1).mean(axis=0))
        assert np.linalg.norm(centroid - nodule.center_lps_mm) < 0.35, nodule


def test_label_volume_matches_truth(fine: ChestPhantom) -> None:
    for nodule in fine.nodules:
        voxels = np.count_nonzero(fine.nodule_labels == nodule.id)
        assert voxels * fine.volume.voxel_volume_mm3 == pytest.approx(nodule.volume_mm3, rel=0.1)


def test_nodule_hu_matches_its_type(fine: ChestPhantom) -> None:
    voxels = fine.volume.voxels
    for nodule in fine.nodules:
        core = ndimage.binary_erosion(fine.nodule_labels == nodule.id, iterations=2)
        values = voxels[core]
        if nodule.type == "part-solid":
            centre = np.rint(fine.volume.world_to_index(np.array(nodule.center_lps_mm))).astype(int)
            assert voxels[centre[2], centre[1], centre[0]] == pytest.approx(SOLID_HU, abs=5)
            assert np.median(values) == pytest.approx(GROUND_GLASS_HU, abs=10)
            assert nodule.mean_hu < -300
        else:
            expected = SOLID_HU if nodule.type == "solid" else GROUND_GLASS_HU
            assert np.median(values) == pytest.approx(expected, abs=5), nodule
            assert nodule.mean_hu == expected


def test_ellipsoid_axes_and_lobulated_axes(fine: ChestPhantom) -> None:
    (ellipsoid,) = [n for n in fine.nodules if n.shape == "ellipsoid"]
    a, b, c = ellipsoid.axes_mm
    assert a / b == pytest.approx(1.4) and c / b == pytest.approx(0.8)
    assert a * b * c == pytest.approx(ellipsoid.diameter_mm**3)
    assert ellipsoid.long_axis_mm == pytest.approx(a) and ellipsoid.short_axis_mm == pytest.approx(
        b
    )
    (lobulated,) = [n for n in fine.nodules if n.shape == "lobulated"]
    assert lobulated.long_axis_mm > lobulated.short_axis_mm > 0


def test_juxtapleural_nodule_touches_the_chest_wall_and_others_do_not(fine: ChestPhantom) -> None:
    outside_lung = ~fine.lung_mask & (fine.nodule_labels == 0)
    for nodule in fine.nodules:
        grown = ndimage.binary_dilation(fine.nodule_labels == nodule.id)
        touches = bool(np.any(grown & outside_lung))
        assert touches == nodule.juxtapleural, nodule


def test_thick_slices_keep_volumes(tmp_path) -> None:
    nodules = [NoduleSpec("ground-glass", 20.0), NoduleSpec("solid", 12.0)]
    for spacing in ((0.8, 0.8, 8.0), (0.7, 0.7, 5.0)):
        phantom = make_chest_ct(
            seed=2,
            shape=(24, 200, 200),
            spacing=spacing,
            nodules=nodules,
            noise_hu=0.0,
            vessel_generations=0,
        )
        for nodule in phantom.nodules:
            inside = SOLID_HU if nodule.type == "solid" else GROUND_GLASS_HU
            measured = _occupancy_volume(phantom, nodule, inside)
            assert measured == pytest.approx(nodule.volume_mm3, rel=0.03), (spacing, nodule)


def test_default_nodule_set(default: ChestPhantom) -> None:
    nodules = default.nodules
    assert 5 <= len(nodules) <= 8
    assert {n.type for n in nodules} == {"solid", "ground-glass", "part-solid"}
    assert any(n.juxtapleural for n in nodules)
    assert all(3.0 <= n.diameter_mm <= 25.0 for n in nodules)
    assert sorted(n.id for n in nodules) == list(range(1, len(nodules) + 1))
    for a in nodules:
        for b in nodules:
            if a.id < b.id:
                gap = np.linalg.norm(np.subtract(a.center_lps_mm, b.center_lps_mm))
                assert gap > (max(a.axes_mm) + max(b.axes_mm)) / 2, (a, b)
    for nodule in nodules:
        label = default.nodule_labels == nodule.id
        assert label.any()
        in_lung = np.count_nonzero(label & default.lung_mask) / np.count_nonzero(label)
        assert in_lung > (0.5 if nodule.juxtapleural else 0.99), nodule
        sign = 1 if nodule.side == "left" else -1
        assert sign * nodule.center_lps_mm[0] > 0, nodule
        k, j, i = (int(c) for c in np.median(np.argwhere(label & default.lung_mask), axis=0))
        assert default.lung_labels[k, j, i] == LUNG_LABELS[nodule.side]


def test_lungs_are_at_minus_850_and_separable(default: ChestPhantom) -> None:
    voxels = default.volume.voxels
    lung = default.lung_mask & (default.nodule_labels == 0)
    assert np.median(voxels[lung]) == pytest.approx(LUNG_HU, abs=25)
    # patient right (label 1) at low x / negative LPS x, left (label 2) at high x
    xs = {label: np.argwhere(default.lung_labels == label)[:, 2].mean() for label in (1, 2)}
    assert xs[1] < voxels.shape[2] / 2 < xs[2]
    # each lung is one piece, and no lung touches the air outside the body
    for label in (1, 2):
        _, count = ndimage.label(default.lung_labels == label)
        assert count == 1
    air, _ = ndimage.label(voxels < -400)
    in_plane_border = np.concatenate([air[:, [0, -1], :].ravel(), air[:, :, [0, -1]].ravel()])
    outside = set(np.unique(in_plane_border)) - {0}
    lung_components = set(np.unique(air[default.lung_mask])) - {0}
    assert outside and lung_components and not (outside & lung_components)


def test_body_tissues_and_bone(default: ChestPhantom) -> None:
    voxels = default.volume.voxels
    centre_row = voxels[voxels.shape[0] // 2]
    assert centre_row[0, 0] == pytest.approx(-1000, abs=80)
    assert voxels.max() > 700  # cortical bone
    assert np.count_nonzero((voxels > -130) & (voxels < -70)) > 0  # fat
    assert voxels.dtype == np.int16


def test_volume_geometry(default: ChestPhantom) -> None:
    volume = default.volume
    assert volume.modality == "CT"
    assert np.allclose(volume.direction, np.eye(3))
    assert volume.spacing == (1.4, 1.4, 2.5)
    assert volume.voxels.shape == (120, 256, 256)
    centre = volume.index_to_world(np.array([255 / 2, 255 / 2, 119 / 2]))
    assert np.allclose(centre, 0.0)


def test_same_seed_same_phantom_other_seed_differs() -> None:
    kwargs = {"shape": (30, 96, 96), "spacing": (3.75, 3.75, 8.0)}
    a = make_chest_ct(seed=11, **kwargs)
    b = make_chest_ct(seed=11, **kwargs)
    c = make_chest_ct(seed=12, **kwargs)
    assert np.array_equal(a.volume.voxels, b.volume.voxels)
    assert a.nodules == b.nodules
    assert not np.array_equal(a.volume.voxels, c.volume.voxels)
    assert a.nodules != c.nodules


def test_explicit_centre_is_honoured() -> None:
    centre = (-70.0, 0.0, 10.0)
    phantom = make_chest_ct(
        seed=1,
        shape=(40, 128, 128),
        spacing=(2.8, 2.8, 5.0),
        nodules=[NoduleSpec("solid", 14.0, center_lps_mm=centre)],
        noise_hu=0.0,
        vessel_generations=0,
    )
    (nodule,) = phantom.nodules
    assert nodule.center_lps_mm == centre
    assert nodule.side == "right"
    i, j, k = np.rint(phantom.volume.world_to_index(np.array(centre))).astype(int)
    assert phantom.volume.voxels[k, j, i] == pytest.approx(SOLID_HU, abs=2)


def test_vessel_trees_fill_every_part_of_both_lungs(default: ChestPhantom) -> None:
    voxels = default.volume.voxels
    for label in LUNG_LABELS.values():
        lung = ndimage.binary_erosion(default.lung_labels == label, iterations=2)
        lung &= default.nodule_labels == 0
        slices = np.nonzero(lung.any(axis=(1, 2)))[0]
        for part in np.array_split(slices, 3):  # lower, middle, upper third
            dense = np.count_nonzero(voxels[part][lung[part]] > -500) / np.count_nonzero(lung[part])
            assert 0.005 < dense < 0.15, (label, part[0], dense)


def test_vessel_free_lungs_are_empty(fine: ChestPhantom) -> None:
    lung = ndimage.binary_erosion(fine.lung_mask, iterations=2) & (fine.nodule_labels == 0)
    grown = ndimage.binary_dilation(fine.nodule_labels > 0, iterations=3)
    assert np.count_nonzero(fine.volume.voxels[lung & ~grown] > -700) == 0
