"""Follow-up: registration recovers a known motion, matching pairs nodules, VDT formula."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ai.lung.followup import (
    interval_days,
    match_nodules,
    register_prior,
    volume_change_percent,
    volume_doubling_time,
)
from ai.phantoms import make_chest_ct
from workstation.model.conversions import from_sitk, to_sitk


def test_volume_doubling_time_is_dt_ln2_over_ln_v2_v1():
    assert volume_doubling_time(100.0, 200.0, 120.0) == pytest.approx(120.0)
    assert volume_doubling_time(100.0, 400.0, 120.0) == pytest.approx(60.0)
    v1, v2, days = 268.0, 381.0, 365.0
    assert volume_doubling_time(v1, v2, days) == pytest.approx(
        days * math.log(2) / math.log(v2 / v1)
    )
    assert volume_doubling_time(200.0, 100.0, 90.0) == pytest.approx(-90.0)  # halving
    assert volume_doubling_time(100.0, 100.0, 90.0) is None
    assert volume_doubling_time(100.0, 200.0, None) is None
    assert volume_change_percent(200.0, 250.0) == pytest.approx(25.0)


def test_interval_from_dicom_dates():
    assert interval_days("20250301", "20240301") == 365.0
    assert interval_days("20240301", "20240201") == 29.0  # a leap year
    assert interval_days("", "20240301") is None
    assert interval_days("2024-03-01", None) is None


def test_matching_is_one_to_one_nearest_first_within_reach():
    current = np.array([[0.0, 0, 0], [30.0, 0, 0], [100.0, 0, 0]])
    prior = np.array([[2.0, 0, 0], [29.0, 1, 0], [60.0, 0, 0]])
    matches = match_nodules(current, [6.0, 6.0, 6.0], prior, [5.0, 5.0, 5.0])
    assert {(m.current_index, m.prior_index) for m in matches} == {(0, 0), (1, 1)}
    # a big mass may have moved its centre further than 10 mm and still be the same one
    assert match_nodules(np.array([[0.0, 0, 0]]), [40.0], np.array([[14.0, 0, 0]]), [36.0])
    assert match_nodules(np.zeros((0, 3)), [], prior, [5.0] * 3) == []


def test_registration_recovers_a_rigid_motion_of_the_chest():
    import SimpleITK as sitk

    phantom = make_chest_ct(seed=71, shape=(60, 160, 160), spacing=(2.2, 2.2, 4.0))
    current = phantom.volume
    motion = sitk.Euler3DTransform()
    motion.SetRotation(0.0, 0.0, math.radians(4.0))
    motion.SetTranslation((6.0, -4.0, 8.0))
    image = to_sitk(current)
    # Resample maps each prior point through ``motion`` to where it samples the current scan
    prior_image = sitk.Resample(image, image, motion, sitk.sitkLinear, -1000.0)
    prior = from_sitk(prior_image, "CT")
    prior.voxels = prior.voxels.astype(np.int16)
    registration = register_prior(current, prior)
    for nodule in phantom.nodules:
        where_in_prior = np.array(motion.GetInverse().TransformPoint(nodule.center_lps_mm))
        back = registration.prior_to_current(where_in_prior)[0]
        assert np.linalg.norm(back - nodule.center_lps_mm) < 2.5, nodule
