"""Lung-RADS v2022 and Fleischner 2017 at every boundary, in 0.1 mm steps.

The expected categories are written out here from the guideline texts, independently
of the JSON tables the code reads, so a wrong row in a table fails a test.
"""

from __future__ import annotations

import numpy as np
import pytest

from ai.lung.rules import (
    RuleNodule,
    fleischner,
    fleischner_exam,
    growth_status,
    load_table,
    lung_rads,
    lung_rads_exam,
    rounded,
)

#: Every size from 0.0 to 40.0 mm in 0.1 mm steps, as the measurement reports them.
SIZES = [round(float(v), 1) for v in np.arange(0.0, 40.05, 0.1)]


def _solid(mean: float, status: str) -> str:
    """ACR Lung-RADS v2022, solid nodules."""
    if status == "baseline":
        return "2" if mean < 6 else "3" if mean < 8 else "4A" if mean < 15 else "4B"
    if status == "new":
        return "2" if mean < 4 else "3" if mean < 6 else "4A" if mean < 8 else "4B"
    if status == "growing":
        return "4A" if mean < 8 else "4B"
    return "2"  # stable for >= 3 months


def _part_solid(mean: float, solid: float, status: str) -> str:
    """ACR Lung-RADS v2022, part-solid nodules (``solid``: the solid component)."""
    if status == "baseline":
        if solid >= 8:
            return "4B"
        if mean < 6:
            return "2"
        return "3" if solid < 6 else "4A"
    if status == "new" and mean < 6:
        return "3"
    if status in ("new", "growing"):
        return "4A" if solid < 4 else "4B"
    return "2"


def _ground_glass(mean: float, status: str) -> str:
    """ACR Lung-RADS v2022, non-solid nodules."""
    if status == "stable":
        return "2"
    return "2" if mean < 30 else "3"


@pytest.mark.parametrize("status", ["baseline", "new", "growing", "stable"])
def test_solid_nodules_at_every_size(status):
    for mean in SIZES:
        got = lung_rads(RuleNodule("solid", mean, status=status)).category
        assert got == _solid(mean, status), (mean, status)


@pytest.mark.parametrize("status", ["baseline", "new", "growing", "stable"])
def test_ground_glass_nodules_at_every_size(status):
    for mean in SIZES:
        got = lung_rads(RuleNodule("ground-glass", mean, status=status)).category
        assert got == _ground_glass(mean, status), (mean, status)


@pytest.mark.parametrize("status", ["baseline", "new", "growing", "stable"])
def test_part_solid_nodules_at_every_total_and_solid_size(status):
    for mean in SIZES[:201]:  # up to 20 mm total
        for solid in (s for s in SIZES if s <= mean and s <= 12.0):
            got = lung_rads(RuleNodule("part-solid", mean, solid, status=status)).category
            assert got == _part_solid(mean, solid, status), (mean, solid, status)


def test_boundaries_are_exact_after_rounding_to_a_tenth():
    assert lung_rads(RuleNodule("solid", 5.94)).category == "2"
    assert lung_rads(RuleNodule("solid", 5.95)).category == "3"  # rounds to 6.0
    assert lung_rads(RuleNodule("solid", 7.99)).category == "4A"
    assert lung_rads(RuleNodule("solid", 14.949)).category == "4A"
    assert lung_rads(RuleNodule("solid", 6.0 - 1e-12)).category == "3"
    assert rounded(0.1 * 3, 0.1) == 3  # 0.30000000000000004 is 3 tenths


def test_juxtapleural_rule_needs_benign_morphology_and_under_10_mm():
    for mean in SIZES:
        benign = RuleNodule("solid", mean, juxtapleural_benign=True)
        expected = "2" if mean < 10 else _solid(mean, "baseline")
        assert lung_rads(benign).category == expected, mean
        new = RuleNodule("solid", mean, status="new", juxtapleural_benign=True)
        assert lung_rads(new).category == ("2" if mean < 10 else _solid(mean, "new")), mean
        growing = RuleNodule("solid", mean, status="growing", juxtapleural_benign=True)
        assert lung_rads(growing).category == _solid(mean, "growing"), mean
    # the flag means nothing for ground glass
    assert lung_rads(RuleNodule("ground-glass", 31.0, juxtapleural_benign=True)).category == "3"


def test_airway_rules():
    for status, expected in (("baseline", "2"), ("new", "2"), ("stable", "2")):
        assert (
            lung_rads(RuleNodule("solid", 5.0, status=status, airway="subsegmental")).category
            == expected
        )
    for status, expected in (
        ("baseline", "4A"),
        ("new", "4A"),
        ("stable", "4B"),
        ("growing", "4B"),
    ):
        nodule = RuleNodule("solid", 5.0, status=status, airway="segmental")
        assert lung_rads(nodule).category == expected


def test_suspicious_features_upgrade_3_and_4_to_4x_only():
    for mean in SIZES:
        plain = lung_rads(RuleNodule("solid", mean)).category
        upgraded = lung_rads(RuleNodule("solid", mean, suspicious_features=True)).category
        assert upgraded == ("4X" if plain in ("3", "4A", "4B") else plain), mean


def test_management_follows_the_category():
    assert lung_rads(RuleNodule("solid", 5.0)).management.startswith("Continue annual screening")
    assert lung_rads(RuleNodule("solid", 7.0)).management == "6-month LDCT"
    assert lung_rads(RuleNodule("solid", 9.0)).management.startswith("3-month LDCT")
    assert lung_rads(RuleNodule("solid", 16.0)).management.startswith("Diagnostic chest CT")


def test_exam_category_is_the_worst_nodule_and_1_without_nodules():
    assert lung_rads_exam([]).category == "1"
    nodules = [RuleNodule("solid", 5.0), RuleNodule("ground-glass", 12.0), RuleNodule("solid", 9.0)]
    assert lung_rads_exam(nodules).category == "4A"
    nodules.append(RuleNodule("part-solid", 12.0, 9.0))
    assert lung_rads_exam(nodules).category == "4B"


def test_growth_is_more_than_1_5_mm_and_stability_needs_3_months():
    assert growth_status(6.0, None, None) == "new"
    assert growth_status(7.5, 6.0, 365) == "stable"  # +1.5 mm is not growth
    assert growth_status(7.6, 6.0, 365) == "growing"
    assert growth_status(6.0, 6.0, 90) == "stable"
    assert growth_status(6.0, 6.0, 89) == "baseline"  # too soon to call stable
    assert growth_status(6.0, 6.0, None) == "baseline"


def _fleischner_solid(mean: float, risk: str, multiple: bool) -> str:
    """Fleischner 2017 table, solid nodules (size: average diameter to the nearest mm)."""
    size = int(np.floor(mean + 0.5))
    if size < 6:
        return "No routine follow-up" if risk == "low" else "Optional CT at 12 months"
    if size <= 8:
        if multiple:
            return (
                "CT at 3-6 months, then consider CT at 18-24 months"
                if risk == "low"
                else "CT at 3-6 months, then at 18-24 months"
            )
        return (
            "CT at 6-12 months, then consider CT at 18-24 months"
            if risk == "low"
            else "CT at 6-12 months, then CT at 18-24 months"
        )
    if multiple:
        return "CT at 3-6 months, then consider CT at 18-24 months"
    return "Consider CT at 3 months, PET/CT, or tissue sampling"


@pytest.mark.parametrize("risk", ["low", "high"])
@pytest.mark.parametrize("multiple", [False, True])
def test_fleischner_solid_at_every_size(risk, multiple):
    for mean in SIZES:
        got = fleischner(RuleNodule("solid", mean), risk, multiple).recommendation
        assert got == _fleischner_solid(mean, risk, multiple), (mean, risk, multiple)


@pytest.mark.parametrize("risk", ["low", "high"])
def test_fleischner_subsolid_at_every_size(risk):
    for mean in SIZES:
        small = int(np.floor(mean + 0.5)) < 6
        glass = fleischner(RuleNodule("ground-glass", mean), risk).recommendation
        assert glass == (
            "No routine follow-up"
            if small
            else "CT at 6-12 months to confirm persistence, then CT every 2 years until 5 years"
        ), mean
        part = fleischner(RuleNodule("part-solid", mean, min(mean, 3.0)), risk).recommendation
        assert part.startswith("No routine" if small else "CT at 3-6 months to confirm"), mean
        several = fleischner(RuleNodule("ground-glass", mean), risk, multiple=True).recommendation
        assert several.startswith(
            "CT at 3-6 months; if stable" if small else "CT at 3-6 months; subsequent"
        )


def test_fleischner_part_solid_with_a_6_mm_solid_component_is_highly_suspicious():
    assert (
        "highly suspicious" in fleischner(RuleNodule("part-solid", 12.0, 6.0), "low").recommendation
    )
    assert "annual CT" in fleischner(RuleNodule("part-solid", 12.0, 5.4), "low").recommendation


def test_fleischner_exam_picks_the_most_urgent_and_counts_solid_and_subsolid_apart():
    nodules = [RuleNodule("solid", 5.0), RuleNodule("solid", 7.0), RuleNodule("ground-glass", 8.0)]
    advice = fleischner_exam(nodules, "low")
    assert advice is not None and advice.nodule_index == 1
    assert advice.recommendation == "CT at 3-6 months, then consider CT at 18-24 months"
    assert advice.count == "multiple" and advice.nodule_class == "solid"
    single = fleischner_exam([RuleNodule("ground-glass", 8.0)], "high")
    assert single is not None and single.count == "single"
    assert fleischner_exam([], "low") is None
    with pytest.raises(ValueError, match="risk"):
        fleischner(RuleNodule("solid", 5.0), "medium")  # type: ignore[arg-type]


def test_tables_are_data_with_sources():
    lung_rads_table = load_table("lung_rads_v2022.json")
    assert lung_rads_table["version"] == "v2022"
    assert "American College of Radiology" in lung_rads_table["source"]
    assert lung_rads_table["growth_mm"] == 1.5
    assert {r["category"] for r in lung_rads_table["rules"]} <= set(lung_rads_table["categories"])
    fleischner_table = load_table("fleischner_2017.json")
    assert fleischner_table["version"] == "2017" and "MacMahon" in fleischner_table["source"]
