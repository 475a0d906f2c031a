"""Round trips between Volume, SimpleITK, vtkImageData and NIfTI keep world positions.

Each library computes the world position with its own code (ITK's
TransformIndexToPhysicalPoint, VTK's TransformIndexToPhysicalPoint, nibabel's
affine in RAS), so a wrong axis order or sign shows up as a position error.
"""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from workstation.model import conversions
from workstation.model.volume import Volume


def _rotation(ax: float, ay: float, az: float) -> np.ndarray:
    ax, ay, az = np.radians([ax, ay, az])
    rx = np.array([[1, 0, 0], [0, np.cos(ax), -np.sin(ax)], [0, np.sin(ax), np.cos(ax)]])
    ry = np.array([[np.cos(ay), 0, np.sin(ay)], [0, 1, 0], [-np.sin(ay), 0, np.cos(ay)]])
    rz = np.array([[np.cos(az), -np.sin(az), 0], [np.sin(az), np.cos(az), 0], [0, 0, 1]])
    return rz @ ry @ rx


@pytest.fixture
def oblique() -> Volume:
    shape = (7, 11, 13)
    return Volume(
        voxels=np.arange(np.prod(shape), dtype=np.int16).reshape(shape),
        spacing=(0.6, 0.85, 3.0),
        origin=(-120.5, 33.25, 78.0),
        direction=_rotation(25, -40, 70),
        modality="CT",
    )


INDICES = [(0, 0, 0), (12, 0, 0), (0, 10, 0), (0, 0, 6), (12, 10, 6), (5, 3, 2)]


def _world(volume: Volume) -> np.ndarray:
    return volume.index_to_world(np.array(INDICES, dtype=float))


def test_index_to_world_matches_hand_computation(oblique):
    d, s, o = oblique.direction, np.array(oblique.spacing), np.array(oblique.origin)
    expected = o + d[:, 0] * s[0] * 12 + d[:, 1] * s[1] * 10 + d[:, 2] * s[2] * 6
    np.testing.assert_allclose(oblique.index_to_world(np.array([12, 10, 6])), expected)
    np.testing.assert_allclose(oblique.world_to_index(expected), [12, 10, 6], atol=1e-9)


def test_simpleitk_round_trip(oblique):
    image = conversions.to_sitk(oblique)
    itk_world = np.array([image.TransformIndexToPhysicalPoint(idx) for idx in INDICES])
    np.testing.assert_allclose(itk_world, _world(oblique), atol=1e-3)
    assert image.GetPixel(12, 10, 6) == oblique.voxels[6, 10, 12]
    back = conversions.from_sitk(image)
    np.testing.assert_array_equal(back.voxels, oblique.voxels)
    np.testing.assert_allclose(_world(back), _world(oblique), atol=1e-3)


def test_vtk_round_trip(oblique):
    image = conversions.to_vtk(oblique)
    out = [0.0, 0.0, 0.0]
    vtk_world = []
    for idx in INDICES:
        image.TransformIndexToPhysicalPoint(*idx, out)
        vtk_world.append(list(out))
    np.testing.assert_allclose(vtk_world, _world(oblique), atol=1e-3)
    assert image.GetScalarComponentAsDouble(12, 10, 6, 0) == oblique.voxels[6, 10, 12]
    back = conversions.from_vtk(image)
    np.testing.assert_array_equal(back.voxels, oblique.voxels)
    np.testing.assert_allclose(_world(back), _world(oblique), atol=1e-3)


def test_nifti_round_trip_uses_ras(oblique, tmp_path):
    path = conversions.save_nifti(oblique, tmp_path / "v.nii.gz")
    image = nib.load(path)
    ras = nib.affines.apply_affine(image.affine, np.array(INDICES))
    lps_from_ras = ras * np.array([-1.0, -1.0, 1.0])
    np.testing.assert_allclose(lps_from_ras, _world(oblique), atol=1e-3)
    assert image.get_fdata()[12, 10, 6] == oblique.voxels[6, 10, 12]
    back = conversions.load_nifti(path)
    np.testing.assert_array_equal(back.voxels, oblique.voxels)
    np.testing.assert_allclose(_world(back), _world(oblique), atol=1e-3)


def test_chain_through_every_format(oblique, tmp_path):
    via_itk = conversions.from_sitk(conversions.to_sitk(oblique))
    via_vtk = conversions.from_vtk(conversions.to_vtk(via_itk))
    path = conversions.save_nifti(via_vtk, tmp_path / "chain.nii")
    final = conversions.load_nifti(path)
    np.testing.assert_array_equal(final.voxels, oblique.voxels)
    np.testing.assert_allclose(_world(final), _world(oblique), atol=1e-3)


def test_4d_nifti_keeps_frame_interval(oblique, tmp_path):
    frames = np.stack([oblique.voxels + t for t in range(5)])
    volume = oblique.with_voxels(frames, frame_times=np.arange(5) * 1.6)
    path = conversions.save_nifti(volume, tmp_path / "ctp.nii.gz")
    assert nib.load(path).header.get_zooms()[3] == pytest.approx(1.6)
    back = conversions.load_nifti(path)
    np.testing.assert_allclose(back.frame_times, volume.frame_times)
    np.testing.assert_array_equal(back.voxels, frames)
    overridden = conversions.load_nifti(path, frame_interval_s=1.0)
    np.testing.assert_allclose(overridden.frame_times, np.arange(5.0))


def test_4d_nifti_without_time_step_asks_for_it(oblique, tmp_path):
    frames = np.stack([oblique.voxels] * 3)
    image = nib.Nifti1Image(frames.transpose(3, 2, 1, 0), np.eye(4))
    image.header.set_zooms((1, 1, 1, 0))
    nib.save(image, tmp_path / "no_dt.nii")
    with pytest.raises(ValueError, match="--dt"):
        conversions.load_nifti(tmp_path / "no_dt.nii")
