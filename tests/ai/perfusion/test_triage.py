"""DEFUSE 3 and DAWN rules, exact at their edges."""

from __future__ import annotations

import math

import pytest

from ai.perfusion.lesions import LesionVolumes
from ai.perfusion.triage import (
    ClinicalInputs,
    Criterion,
    DawnRule,
    Defuse3Rule,
    ImagingValues,
    dawn,
    defuse3,
)

ELIGIBLE_PATIENT = ClinicalInputs(age_years=70, nihss=14, onset_hours=9.0)


def imaging(core: float | None, hypoperfusion: float) -> ImagingValues:
    """Imaging values derived the way the pipeline derives them (rounded volumes)."""
    volumes = LesionVolumes(core, hypoperfusion, 0.0)
    return ImagingValues(core, hypoperfusion, volumes.mismatch_ml, volumes.mismatch_ratio)


def explicit(core: float, mismatch: float, ratio: float) -> ImagingValues:
    return ImagingValues(core, core + mismatch, mismatch, ratio)


@pytest.mark.parametrize(
    ("core", "status"), [(69.9, "eligible"), (70.0, "not eligible"), (0.0, "eligible")]
)
def test_defuse3_core_edge(core: float, status: str) -> None:
    decision = defuse3(explicit(core, 200.0, math.inf if core == 0 else 3.0), ELIGIBLE_PATIENT)
    assert decision.status == status


@pytest.mark.parametrize(("mismatch", "status"), [(14.9, "not eligible"), (15.0, "eligible")])
def test_defuse3_mismatch_volume_edge(mismatch: float, status: str) -> None:
    assert defuse3(explicit(10.0, mismatch, 2.5), ELIGIBLE_PATIENT).status == status


@pytest.mark.parametrize(("ratio", "status"), [(1.79, "not eligible"), (1.80, "eligible")])
def test_defuse3_ratio_edge(ratio: float, status: str) -> None:
    assert defuse3(explicit(30.0, 40.0, ratio), ELIGIBLE_PATIENT).status == status


def test_ratio_edges_from_volumes_as_the_pipeline_computes_them() -> None:
    assert imaging(20.0, 36.0).mismatch_ratio == 1.8
    assert defuse3(imaging(20.0, 36.0), ELIGIBLE_PATIENT).status == "eligible"
    assert imaging(20.0, 35.8).mismatch_ratio == 1.79
    assert defuse3(imaging(20.0, 35.8), ELIGIBLE_PATIENT).status == "not eligible"
    assert defuse3(imaging(10.3, 25.2), ELIGIBLE_PATIENT).status == "not eligible"  # 14.9 ml
    assert defuse3(imaging(10.3, 25.3), ELIGIBLE_PATIENT).status == "eligible"  # 15.0 ml


def test_core_zero_gives_an_infinite_ratio_and_passes() -> None:
    values = imaging(0.0, 40.0)
    assert math.isinf(values.mismatch_ratio)
    decision = defuse3(values, ELIGIBLE_PATIENT)
    assert decision.status == "eligible"
    assert any("∞" in reason for reason in decision.reasons)


def test_missing_clinical_values_need_input_but_a_failed_criterion_decides() -> None:
    unknown = ClinicalInputs()
    decision = defuse3(imaging(10.0, 80.0), unknown)
    assert decision.status == "needs input"
    assert {"missing: age", "missing: NIHSS", "missing: hours since last known well"} <= set(
        decision.reasons
    )
    assert defuse3(imaging(90.0, 200.0), unknown).status == "not eligible"
    mr_without_adc = ImagingValues(None, 80.0, None, None)
    assert defuse3(mr_without_adc, ELIGIBLE_PATIENT).status == "needs input"


@pytest.mark.parametrize(
    ("clinical", "status"),
    [
        (ClinicalInputs(70, 14, 5.9), "not eligible"),
        (ClinicalInputs(70, 14, 16.0), "eligible"),
        (ClinicalInputs(70, 14, 16.1), "not eligible"),
        (ClinicalInputs(91, 14, 9.0), "not eligible"),
        (ClinicalInputs(70, 5, 9.0), "not eligible"),
        (ClinicalInputs(70, 6, 9.0), "eligible"),
    ],
)
def test_defuse3_clinical_criteria(clinical: ClinicalInputs, status: str) -> None:
    assert defuse3(imaging(10.0, 80.0), clinical).status == status


def test_defuse3_operators_are_configurable() -> None:
    rule = Defuse3Rule(core=Criterion("core", "<=", 70.0, " ml"))
    assert defuse3(explicit(70.0, 200.0, 3.0), ELIGIBLE_PATIENT, rule).status == "eligible"
    with pytest.raises(ValueError, match="comparison"):
        Criterion("core", "=<", 70.0).holds(1.0)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("age", "nihss", "core", "status", "group"),
    [
        (80, 10, 20.9, "eligible", "group A"),
        (80, 10, 21.0, "not eligible", None),
        (79, 10, 30.9, "eligible", "group B"),
        (79, 10, 31.0, "not eligible", None),
        (79, 20, 50.9, "eligible", "group C"),
        (79, 20, 51.0, "not eligible", None),
        (79, 9, 5.0, "not eligible", None),
        (85, 25, 25.0, "not eligible", None),
    ],
)
def test_dawn_table(age: float, nihss: int, core: float, status: str, group: str | None) -> None:
    decision = dawn(imaging(core, 100.0), ClinicalInputs(age, nihss, 12.0))
    assert decision.status == status
    if group:
        assert any(reason.startswith(group) for reason in decision.reasons)


def test_dawn_window_and_missing_values() -> None:
    assert dawn(imaging(10.0, 80.0), ClinicalInputs(70, 12, 24.0)).status == "eligible"
    assert dawn(imaging(10.0, 80.0), ClinicalInputs(70, 12, 24.5)).status == "not eligible"
    assert dawn(imaging(10.0, 80.0), ClinicalInputs(70, None, 12.0)).status == "needs input"
    custom = DawnRule(latest_hours=Criterion("time since last known well", "<", 24.0, " h"))
    assert dawn(imaging(10.0, 80.0), ClinicalInputs(70, 12, 24.0), custom).status == (
        "not eligible"
    )
