"""The CT perfusion / MR DSC head phantoms against indicator-dilution theory."""

from __future__ import annotations

import numpy as np
import pytest

from ai.phantoms import PerfusionPhantom, make_ctp_head, make_mr_dsc_head

RHO, KH = 1.04, 0.73  # g/ml; large/small vessel haematocrit ratio


@pytest.fixture(scope="module")
def ctp() -> PerfusionPhantom:
    return make_ctp_head(seed=0, noise_hu=0.0)


def _enhancement(phantom: PerfusionPhantom, mask: np.ndarray) -> np.ndarray:
    """Mean HU over ``mask`` per frame, minus the first frame."""
    curve = phantom.volume.voxels[:, mask].astype(float).mean(axis=1)
    return curve - curve[0]


def _class(phantom: PerfusionPhantom, tmax: float, cbv: float) -> np.ndarray:
    mask = phantom.parenchyma_mask & (phantom.tmax == tmax) & np.isclose(phantom.cbv, cbv)
    assert mask.sum() > 20
    return mask


def test_volume_and_frame_times() -> None:
    phantom = make_ctp_head(seed=1, n_frames=30, frame_interval_s=1.6)
    volume = phantom.volume
    assert volume.voxels.shape == (30, 16, 128, 128)
    assert volume.voxels.dtype == np.int16
    assert volume.modality == "CT"
    assert np.allclose(np.diff(volume.frame_times), 1.6)
    assert volume.frame_times[0] == 0.0
    assert np.allclose(volume.direction, np.eye(3))
    assert volume.spacing == (1.6, 1.6, 5.0)


def test_infarct_is_in_the_patient_left_hemisphere(ctp: PerfusionPhantom) -> None:
    volume = ctp.volume
    for mask in (ctp.core_mask, ctp.penumbra_mask, ctp.tmax_gt10_mask):
        k, j, i = np.nonzero(mask)
        lps = volume.index_to_world(np.stack([i, j, k], axis=1))
        assert lps[:, 0].min() > 0.0  # patient left is +x in LPS
        assert i.mean() > volume.voxels.shape[-1] / 2


def test_truth_volumes_equal_mask_voxel_counts(ctp: PerfusionPhantom) -> None:
    ml = ctp.volume.voxel_volume_mm3 / 1000.0
    assert ctp.core_ml == pytest.approx(ctp.core_mask.sum() * ml)
    assert ctp.penumbra_ml == pytest.approx(ctp.penumbra_mask.sum() * ml)
    assert ctp.hypoperfusion_ml == pytest.approx(ctp.tmax_gt6_mask.sum() * ml)
    assert ctp.tmax_gt10_ml == pytest.approx(ctp.tmax_gt10_mask.sum() * ml)
    assert ctp.hypoperfusion_ml == pytest.approx(ctp.core_ml + ctp.penumbra_ml)
    assert 5.0 < ctp.core_ml < ctp.tmax_gt10_ml < ctp.hypoperfusion_ml
    # the masks agree with the truth maps and the usual thresholds
    tissue = ctp.parenchyma_mask
    assert np.array_equal(ctp.tmax_gt6_mask, tissue & (ctp.tmax > 6.0))
    assert np.array_equal(ctp.tmax_gt10_mask, tissue & (ctp.tmax > 10.0))
    assert np.array_equal(ctp.penumbra_mask, ctp.tmax_gt6_mask & ~ctp.core_mask)


def test_truth_maps_obey_central_volume_theorem_and_thresholds(ctp: PerfusionPhantom) -> None:
    tissue = ctp.parenchyma_mask
    assert np.allclose(ctp.cbv[tissue], ctp.cbf[tissue] * ctp.mtt[tissue] / 60.0)
    tmax = ctp.tmax[tissue]
    assert np.all(np.abs(tmax - 6.0) >= 2.0) and np.all(np.abs(tmax - 10.0) >= 2.0)
    normal = tissue & ~ctp.tmax_gt6_mask
    assert ctp.tmax[normal].max() <= 2.0
    # core: CBF at most 15 % of the same tissue's normal value (grey matter has the highest)
    assert ctp.cbf[ctp.core_mask].max() <= 0.15 * ctp.cbf[normal].max()
    # penumbra keeps its blood volume (autoregulation), the core loses it
    for cbf_normal, cbv_normal in ((60.0, 4.0), (25.0, 2.0)):
        penumbra = ctp.penumbra_mask & (ctp.cbf < cbf_normal) & (ctp.cbf > 0.3 * cbf_normal)
        assert np.all(ctp.cbv[penumbra & (ctp.cbv >= cbv_normal * 0.99)] >= cbv_normal * 0.99)
    assert np.all(ctp.cbf[~tissue] == 0) and np.all(ctp.tmax[~tissue] == 0)


def test_aif_voxel_carries_the_aif_and_peaks_before_the_vof(ctp: PerfusionPhantom) -> None:
    voxels = ctp.volume.voxels.astype(float)
    aif = voxels[(slice(None), *ctp.aif_index_zyx)]
    vof = voxels[(slice(None), *ctp.vof_index_zyx)]
    assert np.allclose(aif - aif[0], ctp.aif_curve, atol=0.6)
    assert np.allclose(vof - vof[0], ctp.vof_curve, atol=0.6)
    times = ctp.frame_times
    assert times[np.argmax(ctp.aif_curve)] + 2.0 < times[np.argmax(ctp.vof_curve)]
    assert 300 < ctp.aif_curve.max() < 500
    # tracer is conserved from artery to vein: same area, lower and later peak
    assert np.trapezoid(ctp.vof_curve, times) == pytest.approx(
        np.trapezoid(ctp.aif_curve, times), rel=0.03
    )
    # clear baseline before the bolus
    assert ctp.baseline_frames >= 3
    assert np.all(ctp.aif_curve[: ctp.baseline_frames] == 0)
    # positions: AIF in the patent (right, -x) ICA, VOF at the posterior midline
    assert ctp.aif_lps_mm[0] < 0
    assert abs(ctp.vof_lps_mm[0]) <= ctp.volume.spacing[0] and ctp.vof_lps_mm[1] > 40
    k, j, i = ctp.aif_index_zyx
    assert np.allclose(ctp.volume.index_to_world(np.array([i, j, k])), ctp.aif_lps_mm)


@pytest.mark.parametrize("residue", ["exponential", "box", "linear"])
@pytest.mark.parametrize("interval", [1.0, 1.6, 2.5])
def test_tissue_area_is_cbv_times_arterial_area(residue: str, interval: float) -> None:
    # a strong bolus makes the int16 rounding of the small tissue curves negligible
    phantom = make_ctp_head(
        seed=3,
        noise_hu=0.0,
        residue=residue,
        frame_interval_s=interval,
        n_frames=int(64 / interval),
        aif_peak_hu=4000.0,
    )
    times = phantom.frame_times
    aif_area = np.trapezoid(phantom.aif_curve, times)
    for tmax, cbv in ((0.5, 4.0), (1.0, 2.0), (8.0, 4.0)):
        tissue = _enhancement(phantom, _class(phantom, tmax, cbv))
        expected = RHO / KH * cbv / 100.0 * aif_area
        assert np.trapezoid(tissue, times) == pytest.approx(expected, rel=0.03), (tmax, cbv)


def test_tissue_curves_arrive_after_their_delay(ctp: PerfusionPhantom) -> None:
    times = ctp.frame_times
    aif_arrival = times[np.argmax(ctp.aif_curve > 0.02 * ctp.aif_curve.max())]
    for tmax, cbv in ((0.5, 4.0), (8.0, 4.0), (12.0, 4.4), (14.0, 1.6)):
        curve = _enhancement(ctp, _class(ctp, tmax, cbv))
        arrival = times[np.argmax(curve > 0.02 * curve.max())]
        assert tmax - 0.5 <= arrival - aif_arrival <= tmax + 3.5, tmax


def test_svd_deconvolution_recovers_tmax_and_cbf() -> None:
    """Plain truncated-SVD deconvolution of noise-free curves finds the truth.

    The discrete deconvolution places the residue peak up to a few samples late
    and truncation lowers its height, hence the one-sided Tmax and loose CBF bounds.
    """
    phantom = make_ctp_head(
        seed=5, noise_hu=0.0, frame_interval_s=0.5, n_frames=130, aif_peak_hu=4000.0
    )
    times = phantom.frame_times
    dt = times[1] - times[0]
    aif = phantom.aif_curve
    n = len(aif)
    matrix = dt * np.array([[aif[i - j] if i >= j else 0.0 for j in range(n)] for i in range(n)])
    u, s, vt = np.linalg.svd(matrix)
    inverse_s = np.where(s > 0.01 * s.max(), 1.0 / s, 0.0)
    for tmax, cbv, cbf in ((0.5, 4.0, 60.0), (8.0, 4.0, 42.0), (12.0, 2.2, 11.25)):
        tissue = _enhancement(phantom, _class(phantom, tmax, cbv))
        residue = vt.T @ (inverse_s * (u.T @ tissue))
        assert tmax <= times[np.argmax(residue)] <= tmax + 2.0
        flow = residue.max() * KH / RHO * 6000.0  # ml/100 g/min
        assert flow == pytest.approx(cbf, rel=0.25)


def test_same_seed_same_study_other_seed_differs() -> None:
    a = make_ctp_head(seed=7, n_frames=12)
    b = make_ctp_head(seed=7, n_frames=12)
    c = make_ctp_head(seed=8, n_frames=12)
    assert np.array_equal(a.volume.voxels, b.volume.voxels)
    assert not np.array_equal(a.volume.voxels, c.volume.voxels)


def test_noise_has_the_requested_standard_deviation() -> None:
    noisy = make_ctp_head(seed=2, noise_hu=8.0, n_frames=12)
    clean = make_ctp_head(seed=2, noise_hu=0.0, n_frames=12)
    difference = noisy.volume.voxels.astype(float) - clean.volume.voxels
    assert difference.std() == pytest.approx(8.0, rel=0.03)


def test_mr_dsc_signal_follows_the_same_kinetics() -> None:
    mr = make_mr_dsc_head(seed=0, noise_sd=0.0)
    volume = mr.volume
    assert volume.modality == "MR"
    assert volume.attributes["EchoTime"] == 30.0
    te = 0.030
    k = float(mr.constants["relaxivity_per_s_per_mmol_l"])
    times = mr.frame_times
    mask = _class(mr, 0.5, 4.0)
    signal = volume.voxels[:, mask].astype(float).mean(axis=1)
    assert signal.min() < 0.9 * signal[0]  # a visible susceptibility drop
    concentration = -np.log(signal / signal[0]) / (te * k)
    expected = RHO / KH * 4.0 / 100.0 * np.trapezoid(mr.aif_curve, times)
    assert np.trapezoid(concentration, times) == pytest.approx(expected, rel=0.03)
    assert mr.curve_unit == "mM"
    assert mr.core_ml == pytest.approx(make_ctp_head(seed=0).core_ml)
