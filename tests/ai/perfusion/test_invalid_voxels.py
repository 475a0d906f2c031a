"""NaN and infinite voxels: left out of every map and volume, said by a QC flag; an input
with no valid voxel is refused with its own message."""

from __future__ import annotations

import numpy as np
import pytest
from support.perfusion_studies import SMALL_HEAD

from ai.perfusion import PerfusionInputError, PerfusionRequest, run_perfusion
from ai.phantoms import make_ctp_head

#: A block of damaged voxels inside the head, away from the lesion's middle.
BLOCK = (slice(2, 4), slice(60, 64), slice(30, 34))


@pytest.fixture(scope="module")
def phantom():
    return make_ctp_head(**SMALL_HEAD)


def _damaged(phantom, value: float):
    voxels = phantom.volume.voxels.astype(np.float32)
    voxels[(slice(None), *BLOCK)] = value
    return phantom.volume.with_voxels(voxels)


@pytest.mark.parametrize("value", [np.inf, -np.inf, np.nan])
def test_a_block_of_invalid_voxels_is_left_out_and_flagged(phantom, value):
    result = run_perfusion(PerfusionRequest(_damaged(phantom, value)))
    flag = next(f for f in result.qc.flags if f.name == "invalid_voxels")
    assert flag.raised and flag.value == 2 * 4 * 4
    assert "invalid_voxels" in result.qc.to_json()["raised"]
    for name, values in result.maps.as_dict().items():
        assert np.isfinite(values[result.maps.tissue]).all(), name
    block_ml = 2 * 4 * 4 * phantom.volume.voxel_volume_mm3 / 1000.0
    truth = phantom.hypoperfusion_ml
    assert abs(result.volumes.hypoperfusion_ml - truth) <= 0.10 * truth + block_ml
    assert abs(result.volumes.core_ml - phantom.core_ml) <= 0.15 * phantom.core_ml + block_ml


def test_a_clean_series_raises_no_invalid_voxel_flag(phantom):
    result = run_perfusion(PerfusionRequest(phantom.volume.with_voxels(phantom.volume.voxels)))
    flag = next(f for f in result.qc.flags if f.name == "invalid_voxels")
    assert not flag.raised and flag.value == 0


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_an_input_with_no_valid_voxel_is_refused_clearly(phantom, value):
    voxels = np.full(phantom.volume.voxels.shape, value, np.float32)
    with pytest.raises(PerfusionInputError, match="every voxel holds NaN or infinite values"):
        run_perfusion(PerfusionRequest(phantom.volume.with_voxels(voxels)))
