"""Lung masks against the chest phantom's truth: both lungs, no airways, no nodule cut out."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from ai.lung.lung_mask import LEFT, RIGHT, segment_lungs
from ai.phantoms import ChestPhantom, NoduleSpec, make_chest_ct
from workstation.model.progress import Cancelled, CancelToken

NODULES = [
    NoduleSpec("solid", 12.0, juxtapleural=True),
    NoduleSpec("solid", 20.0, juxtapleural=True, shape="lobulated"),
    NoduleSpec("solid", 7.0, juxtapleural=True),
    NoduleSpec("ground-glass", 10.0),
]


@pytest.fixture(scope="module")
def phantom() -> ChestPhantom:
    return make_chest_ct(seed=31, shape=(90, 192, 192), spacing=(1.8, 1.8, 3.0), nodules=NODULES)


@pytest.fixture(scope="module")
def mask(phantom):
    return segment_lungs(phantom.volume)


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2.0 * np.count_nonzero(a & b) / (np.count_nonzero(a) + np.count_nonzero(b))


def test_each_lung_matches_the_truth_on_its_side(phantom, mask):
    for label in (RIGHT, LEFT):  # the phantom labels right 1, left 2 as well
        assert _dice(mask.labels == label, phantom.lung_labels == label) > 0.95, label


def test_juxtapleural_nodules_are_never_cut_out(phantom, mask):
    """Each nodule stays in the search region: its centre, and all but a rim in a corner."""
    volume = phantom.volume
    for nodule in phantom.nodules:
        inside_lung = (phantom.nodule_labels == nodule.id) & phantom.lung_mask
        kept = np.count_nonzero(inside_lung & (mask.labels > 0)) / np.count_nonzero(inside_lung)
        assert kept > 0.9, (nodule.type, nodule.diameter_mm, nodule.juxtapleural, kept)
        i, j, k = np.rint(volume.world_to_index(np.array(nodule.center_lps_mm))).astype(int)
        assert mask.labels[k, j, i] > 0, (nodule.type, nodule.diameter_mm)


def test_airways_are_left_out(phantom, mask):
    hu = phantom.volume.voxels
    # airway lumen: air below -950 HU outside both lungs and not connected to the outside
    lumen = (hu < -950) & ~phantom.lung_mask
    labels, _ = ndimage.label(lumen)
    border = np.unique(
        np.concatenate([labels[:, [0, -1], :].ravel(), labels[:, :, [0, -1]].ravel()])
    )
    lumen &= ~np.isin(labels, border[border > 0])
    assert np.count_nonzero(lumen) > 100
    assert np.count_nonzero(lumen & (mask.labels > 0)) / np.count_nonzero(lumen) < 0.05
    assert mask.coarse_airways.any()


def test_volumes_and_found(mask, phantom):
    assert mask.found
    voxel_ml = phantom.volume.voxel_volume_mm3 / 1000.0
    for label in (RIGHT, LEFT):
        truth = np.count_nonzero(phantom.lung_labels == label) * voxel_ml
        assert mask.volume_ml(label) == pytest.approx(truth, rel=0.1)


def test_thick_slices_and_cancel():
    phantom = make_chest_ct(seed=32, shape=(24, 128, 128), spacing=(2.8, 2.8, 8.0))
    mask = segment_lungs(phantom.volume)
    for label in (RIGHT, LEFT):
        assert _dice(mask.labels == label, phantom.lung_labels == label) > 0.9
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        segment_lungs(phantom.volume, cancel=token)
