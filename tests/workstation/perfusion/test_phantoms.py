"""Perfusion phantoms on disk: DICOM and 4D NIfTI that read back as the phantom, with truth."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ai.perfusion import PerfusionRequest, run_perfusion
from ai.phantoms import make_ctp_head, make_perfusion_grid
from workstation.dicom.loader import load_paths
from workstation.model.conversions import load_nifti
from workstation.model.progress import Cancelled, CancelToken
from workstation.perfusion.phantoms import write_perfusion_phantom


@pytest.mark.parametrize("modality", ["CT", "MR"])
def test_grid_phantom_reads_back_from_dicom_and_nifti(modality: str, tmp_path: Path) -> None:
    grid = make_perfusion_grid(modality, n_frames=24, noise=0.0)
    files = write_perfusion_phantom(grid, tmp_path)
    (volume,) = [v for v in load_paths([files.dicom]).volumes if v.is_4d]
    assert volume.modality == modality
    assert np.allclose(volume.frame_times, grid.frame_times, atol=1e-3)
    tolerance = 0.01 * float(np.ptp(grid.volume.voxels))
    assert np.allclose(volume.voxels, grid.volume.voxels, atol=tolerance)
    nifti = load_nifti(files.nifti)
    assert np.allclose(nifti.frame_times, grid.frame_times)
    assert np.allclose(nifti.voxels, grid.volume.voxels)
    truth = json.loads(files.truth.read_text())
    assert truth["delays_s"] == list(grid.delays_s) and truth["mtts_s"] == list(grid.mtts_s)
    cbf = load_nifti(files.folder / "truth" / "cbf.nii.gz")
    assert np.array_equal(cbf.voxels, grid.cbf)


def test_head_truth_is_written_beside_the_series(tmp_path: Path) -> None:
    head = make_ctp_head(n_frames=12)
    files = write_perfusion_phantom(head, tmp_path)
    truth = json.loads(files.truth.read_text())
    assert truth["core_ml"] == pytest.approx(head.core_ml)
    core = load_nifti(files.folder / "truth" / "core.nii.gz")
    assert np.array_equal(core.voxels.astype(bool), head.core_mask)


def test_a_cancelled_analysis_stops() -> None:
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        run_perfusion(PerfusionRequest(make_ctp_head(n_frames=12).volume), cancel=token)
