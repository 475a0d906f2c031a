"""What the lung engine accepts as a chest CT: NaN and infinite voxels read as air."""

from __future__ import annotations

import numpy as np
import pytest


def test_nan_and_infinite_voxels_are_read_as_air_and_counted():
    from ai.lung.pipeline import LungInputError, finite_ct
    from workstation.model.volume import Volume

    voxels = np.full((4, 8, 8), 40.0, np.float32)
    voxels[0, 0, :3] = [np.nan, np.inf, -np.inf]
    cleaned, count = finite_ct(Volume(voxels, modality="CT"))
    assert count == 3 and np.isfinite(cleaned.voxels).all()
    assert (cleaned.voxels[0, 0, :3] == -1000).all() and (cleaned.voxels[1:] == 40).all()
    with pytest.raises(LungInputError, match="every voxel of the input is NaN or infinite"):
        finite_ct(Volume(np.full((4, 8, 8), np.nan, np.float32), modality="CT"))
