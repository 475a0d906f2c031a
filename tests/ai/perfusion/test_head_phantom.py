"""The whole analysis against the stroke head phantoms' truth (CT, MR DSC + ADC).

The CT head: 256 x 256 x 16 voxels of 0.8 x 0.8 x 5 mm, 40 frames of 1.6 s,
5 HU noise per voxel before any smoothing. Once end to end through DICOM files
and ``halong perfusion``; the other checks run the engine in memory.
"""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from scipy import ndimage
from support.dicom_validation import dciodvfy_errors

from ai.perfusion import ClinicalInputs, PerfusionRequest, PerfusionResult, run_perfusion
from ai.phantoms import PerfusionPhantom, make_adc_head, make_ctp_head, make_mr_dsc_head
from workstation.model.conversions import nifti_affine
from workstation.perfusion.outputs import OUTPUT_KEYS
from workstation.perfusion.phantoms import write_perfusion_phantom

pytestmark = pytest.mark.slow

HEAD = {"shape": (16, 256, 256), "spacing": (0.8, 0.8, 5.0), "noise_hu": 5.0, "seed": 0}
PATIENT = ClinicalInputs(age_years=70, nihss=14, onset_hours=9.0)


def relative_error(measured: float, truth: float) -> float:
    return abs(measured - truth) / truth


def dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2.0 * float((a & b).sum()) / float(a.sum() + b.sum())


@pytest.fixture(scope="module")
def ct_head() -> PerfusionPhantom:
    return make_ctp_head(frame_interval_s=1.6, n_frames=40, **HEAD)


@pytest.fixture(scope="module")
def ct_result(ct_head: PerfusionPhantom) -> PerfusionResult:
    return run_perfusion(PerfusionRequest(ct_head.volume, clinical=PATIENT))


def test_through_dicom_and_the_command_line(
    ct_head: PerfusionPhantom, tmp_path: Path, halong
) -> None:
    files = write_perfusion_phantom(ct_head, tmp_path / "phantom")
    out = tmp_path / "out"
    run = halong(
        "perfusion", files.dicom, "--out", out, "--age", 70, "--nihss", 14, "--onset-hours", 9
    )
    assert run.status == 0, run.err
    document = json.loads((out / "perfusion.json").read_text())
    assert tuple(document) == OUTPUT_KEYS
    assert document["modality"] == "CT" and document["ai_generated"] is True
    assert document["algorithm"]["name"] == "halong-perfusion"
    assert relative_error(document["core_ml"], ct_head.core_ml) <= 0.10
    assert relative_error(document["hypoperfusion_ml"], ct_head.hypoperfusion_ml) <= 0.10
    # DEFUSE 3 on the truth: core 13.6 < 70, mismatch 120.6 >= 15, ratio 9.9 >= 1.8
    assert document["triage"]["defuse3"]["status"] == "eligible"
    hypoperfusion = nib.load(out / "hypoperfusion.nii.gz")
    truth_grid = nib.load(files.truth.parent / "truth" / "tmax_gt6.nii.gz")
    assert np.allclose(hypoperfusion.affine, truth_grid.affine)
    assert np.allclose(hypoperfusion.affine, nifti_affine(ct_head.volume))
    measured = np.asarray(hypoperfusion.dataobj).transpose(2, 1, 0) > 0
    assert dice(measured, ct_head.tmax_gt6_mask) >= 0.85
    assert document["qc"]["raised"] == []
    # the AIF lies in an artery, the VOF in the sinus (partial-volume voxels count)
    for key, vessel in (("aif", "artery"), ("vof", "sinus")):
        ijk = ct_head.volume.world_to_index(np.array(document[key]["voxels_lps_mm"]))
        i, j, k = np.rint(ijk).astype(int).T
        assert np.all(ct_head.vessel_mask[k, j, i]), vessel
    paths = sorted((out / "dicom").glob("*.dcm"))
    assert {"summary_sc.dcm", "tmax_pm.dcm"} <= {p.name for p in paths}
    for path in paths:
        iod = "ParametricMap" if path.stem.endswith("_pm") else "SCImage"
        assert dciodvfy_errors(path, iod) == [], path.name


def test_frame_interval_1_6_and_1_0_seconds_give_the_same_maps(
    ct_head: PerfusionPhantom, ct_result: PerfusionResult
) -> None:
    faster = make_ctp_head(frame_interval_s=1.0, n_frames=64, **HEAD)
    other = run_perfusion(PerfusionRequest(faster.volume, clinical=PATIENT))
    tissue = ct_result.maps.tissue & other.maps.tissue & ct_head.parenchyma_mask
    assert np.median(np.abs(ct_result.maps.tmax[tissue] - other.maps.tmax[tissue])) <= 0.5
    for name in ("cbf", "cbv"):
        ratio = np.median(getattr(other.maps, name)[tissue]) / np.median(
            getattr(ct_result.maps, name)[tissue]
        )
        assert abs(ratio - 1) <= 0.10, name
    volumes = (ct_result.volumes, other.volumes)
    assert abs(volumes[0].hypoperfusion_ml - volumes[1].hypoperfusion_ml) <= 0.05 * (
        ct_head.hypoperfusion_ml
    )
    assert abs(volumes[0].core_ml - volumes[1].core_ml) <= 0.10 * ct_head.core_ml
    for result in (ct_result, other):
        assert relative_error(result.volumes.core_ml, ct_head.core_ml) <= 0.10
        assert relative_error(result.volumes.hypoperfusion_ml, ct_head.hypoperfusion_ml) <= 0.10


def test_brain_tissue_mask_matches_the_parenchyma(
    ct_head: PerfusionPhantom, ct_result: PerfusionResult
) -> None:
    tissue = ct_result.maps.tissue
    assert dice(tissue, ct_head.parenchyma_mask) >= 0.95
    assert (tissue & ct_head.csf_mask).sum() <= 0.005 * tissue.sum()
    assert (tissue & ct_head.vessel_mask).sum() <= 0.01 * tissue.sum()


def test_head_motion_is_detected_reported_and_corrected() -> None:
    phantom = make_ctp_head(seed=2, noise_hu=5.0, n_frames=40)
    voxels = phantom.volume.voxels.copy()
    shift_mm = np.array([0.0, -1.6, 2.4])  # (z, y, x)
    for t in range(18, 40):
        moved = ndimage.shift(voxels[t].astype(np.float32), shift_mm / [5.0, 1.6, 1.6], order=1)
        voxels[t] = np.rint(moved).astype(np.int16)
    result = run_perfusion(PerfusionRequest(phantom.volume.with_voxels(voxels)))
    motion = next(flag for flag in result.qc.flags if flag.name == "motion")
    assert motion.raised
    assert result.qc.max_displacement_mm == pytest.approx(np.linalg.norm(shift_mm), abs=0.4)
    assert relative_error(result.volumes.hypoperfusion_ml, phantom.hypoperfusion_ml) <= 0.10
    still = run_perfusion(PerfusionRequest(phantom.volume))
    assert still.qc.max_displacement_mm == 0.0 and not still.qc.raised


def test_mr_dsc_tmax_and_adc_core() -> None:
    dsc = make_mr_dsc_head(seed=0, noise_sd=5.0, echo_time_ms=30.0)
    adc = make_adc_head(seed=0)
    result = run_perfusion(PerfusionRequest(dsc.volume, adc=adc.volume, clinical=PATIENT))
    assert result.modality == "MR"
    assert relative_error(result.volumes.hypoperfusion_ml, dsc.hypoperfusion_ml) <= 0.10
    assert relative_error(result.volumes.core_ml, adc.core_ml) <= 0.10
    assert result.thresholds["core_source"] == "ADC"
    tissue = result.maps.tissue & dsc.parenchyma_mask
    for delay in (0.5, 1.0, 8.0, 12.0, 14.0):
        measured = np.median(result.maps.tmax[tissue & (dsc.tmax == delay)])
        assert abs(measured - delay) <= 1.0, delay
    without_adc = run_perfusion(PerfusionRequest(dsc.volume, clinical=PATIENT))
    assert without_adc.volumes.core_ml is None
    assert without_adc.defuse3.status == "needs input"
