"""Signal to concentration, time grids, ADC units, lesion volumes and QC flags."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ai.perfusion.arterial_input import ArterialSettings, VascularCurve, with_partial_volume_scale
from ai.perfusion.concentration import (
    baseline_slice,
    bolus_arrival_frame,
    ct_concentration,
    mr_concentration,
    on_time_grid,
    uniform_time_grid,
)
from ai.perfusion.lesions import LesionVolumes, remove_small_clusters
from ai.perfusion.motion import MotionReport
from ai.perfusion.mr import adc_micro_units
from ai.perfusion.qc import quality_flags
from ai.phantoms import kinetics
from workstation.model.volume import Volume


def test_regular_frame_times_are_kept_and_irregular_ones_resampled() -> None:
    regular = uniform_time_grid(np.arange(40) * 1.6 + 12.0)
    assert not regular.resampled and regular.interval_s == pytest.approx(1.6)
    assert regular.times_s[0] == 0.0
    # a common protocol: fast sampling during the first pass, slower afterwards
    times = np.concatenate([np.arange(30) * 1.0, 30 + np.arange(1, 11) * 3.0])
    grid = uniform_time_grid(times)
    assert grid.resampled and grid.interval_s == pytest.approx(1.0)
    assert grid.times_s[-1] == pytest.approx(60.0)
    line = 2.0 * times + 5.0  # linear curves survive linear interpolation exactly
    assert np.allclose(on_time_grid(line[:, None], times, grid)[:, 0], 2.0 * grid.times_s + 5.0)
    with pytest.raises(ValueError, match="increase"):
        uniform_time_grid(np.array([0.0, 1.0, 1.0]))


def test_bolus_arrival_and_baseline() -> None:
    t = np.arange(40) * 1.6
    curve = kinetics.gamma_variate(t, 6.0, 3.0, 1.5, 400.0) + 40.0
    arrival = bolus_arrival_frame(curve)
    assert t[arrival - 1] < 6.0 + 1.6 and t[arrival] >= 6.0
    baseline = baseline_slice(arrival)
    assert baseline.stop >= 3 and np.all(curve[baseline] < 41.0)


def test_ct_and_mr_concentration() -> None:
    hu = np.array([40.0, 42.0, 38.0, 140.0])[:, None]
    assert np.allclose(ct_concentration(hu, slice(0, 3))[:, 0], [0, 2, -2, 100])
    s0, te, r2 = 500.0, 0.03, 20.0
    signal = np.array([s0, s0, s0 * np.exp(-te * r2)])[:, None]
    assert np.allclose(mr_concentration(signal, slice(0, 2), te)[:, 0], [0, 0, r2], atol=1e-4)


@pytest.mark.parametrize(("scale", "unit"), [(1e-6, "mm2/s"), (1e-3, "10^-3 mm2/s"), (1, "10^-6")])
def test_adc_units_are_recognised(scale: float, unit: str) -> None:
    micro = np.full((2, 4, 4), 800.0, dtype=np.float32)
    micro[0, 0, 0] = 450.0
    values, found = adc_micro_units(Volume(micro * scale))
    assert found.startswith(unit)
    assert np.allclose(values, micro, rtol=1e-5)


def test_volumes_are_rounded_and_derived_values_follow_them() -> None:
    volumes = LesionVolumes(core_ml=12.34, hypoperfusion_ml=100.06, tmax_gt10_ml=40.0)
    assert volumes.mismatch_ml == 87.7
    assert volumes.mismatch_ratio == round(100.06 / 12.34, 2)
    assert volumes.hir == 0.4
    assert math.isinf(LesionVolumes(0.0, 30.0, 1.0).mismatch_ratio)
    assert LesionVolumes(0.0, 0.0, 0.0).mismatch_ratio is None
    assert LesionVolumes(0.0, 0.0, 0.0).hir is None
    assert LesionVolumes(None, 30.0, 1.0).mismatch_ml is None


def test_small_clusters_are_removed() -> None:
    mask = np.zeros((3, 20, 20), bool)
    mask[1, 2:12, 2:12] = True  # 100 voxels
    mask[1, 15, 15] = True  # 1 voxel
    cleaned = remove_small_clusters(mask, voxel_ml=0.01, min_ml=0.2)
    assert cleaned.sum() == 100 and not cleaned[1, 15, 15]


def _curve(kind: str, values: np.ndarray, times: np.ndarray) -> VascularCurve:
    return VascularCurve.average(kind, np.zeros((1, 3)), values[:, None], times, True)


def test_partial_volume_scale_and_qc_flags() -> None:
    times = np.arange(40) * 1.5
    fine = kinetics.fine_time_grid(times[-1])
    arterial = kinetics.gamma_variate(fine, 6.0, 3.0, 1.5, 300.0)
    venous = kinetics.venous_curve(fine, arterial, 4.0, 3.0)
    aif = _curve("aif", 0.5 * kinetics.sample(fine, arterial, times), times)  # diluted
    vof = _curve("vof", kinetics.sample(fine, venous, times), times)
    vascular = with_partial_volume_scale(aif, vof, ArterialSettings())
    assert vascular.partial_volume_scale == pytest.approx(2.0, rel=0.03)

    def raised(vascular, displacement: float = 0.0, noise: float = 2.0, modality: str = "CT"):
        flags = quality_flags(MotionReport([0.0, displacement]), vascular, noise, modality)
        return {flag.name for flag in flags if flag.raised}

    assert raised(vascular) == set()  # peak 150 HU, 75 x its noise, complete VOF
    assert raised(vascular, displacement=3.5) == {"motion"}
    assert raised(vascular, noise=20.0) == {"poor_bolus"}  # 7.5 x noise
    weak = with_partial_volume_scale(_curve("aif", 0.3 * aif.curve, times), vof, ArterialSettings())
    assert raised(weak) == {"poor_bolus"}  # 45 HU
    assert raised(weak, modality="MR") == set()  # no HU floor for MR
    head = slice(0, 14)
    truncated = with_partial_volume_scale(
        _curve("aif", aif.curve[head], times[head]),
        _curve("vof", vof.curve[head], times[head]),
        ArterialSettings(),
    )
    assert truncated.partial_volume_scale == 1.0 and not truncated.vof_complete
    assert raised(truncated) == {"truncated_acquisition"}
    assert raised(with_partial_volume_scale(vof, aif, ArterialSettings())) >= {"aif_after_vof"}
