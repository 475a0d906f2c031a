"""The real chest CT assembles with the geometry SimpleITK's series reader finds."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from workstation.dicom.loader import load_paths
from workstation.model.conversions import to_sitk

pytestmark = pytest.mark.realdata


def _series_folders(root):
    return sorted(p for p in root.glob("Lung_Dx-A0002/*/*") if p.is_dir())


def test_real_series_geometry_agrees_with_simpleitk(lung_pet_ct_dx):
    folders = _series_folders(lung_pet_ct_dx)
    assert len(folders) == 2
    for folder in folders:
        result = load_paths([folder])
        assert result.skipped == [] and len(result.volumes) == 1
        volume = result.volumes[0]
        assert volume.shape_zyx == (30, 512, 512)
        np.testing.assert_allclose(volume.spacing, (0.646, 0.646, 8.0), atol=5e-4)
        assert volume.warnings == []

        reader = sitk.ImageSeriesReader()
        reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(folder)))
        reference = reader.Execute()
        ours = to_sitk(volume)
        corners = [(0, 0, 0), (511, 0, 0), (0, 511, 0), (0, 0, 29), (511, 511, 29)]
        for index in corners:
            np.testing.assert_allclose(
                ours.TransformIndexToPhysicalPoint(index),
                reference.TransformIndexToPhysicalPoint(index),
                atol=1e-3,
            )
        np.testing.assert_array_equal(volume.voxels, sitk.GetArrayFromImage(reference))
