"""The exam's Lung-RADS and Fleischner in a report: recomputed from the accepted nodules,
by the published tables (Lung-RADS v2022, Fleischner 2017)."""

from __future__ import annotations

import pytest

from workstation.lung.report_adapter import exam_of


def _nodule(number: int, kind: str, diameter: float, solid: float = 0.0, prior=None) -> dict:
    return {
        "id": number,
        "type": kind,
        "mean_diameter_mm": diameter,
        "solid_core_mm": solid if kind != "solid" else diameter,
        "prior": prior,
    }


@pytest.mark.parametrize(
    ("nodules", "category"),
    [
        ([], "1"),  # no nodule accepted: negative
        ([_nodule(1, "ground-glass", 5.1)], "2"),  # GGN < 30 mm: 2
        ([_nodule(1, "solid", 5.9)], "2"),  # solid < 6 mm at baseline: 2
        ([_nodule(1, "solid", 7.0)], "3"),  # solid >= 6 to < 8 mm: 3
        ([_nodule(1, "solid", 10.1), _nodule(2, "ground-glass", 5.1)], "4A"),  # 8 to < 15: 4A
        ([_nodule(1, "solid", 16.0)], "4B"),  # solid >= 15 mm: 4B
        ([_nodule(1, "solid", 7.0, prior={"status": "new"})], "4A"),  # new 6 to < 8 mm: 4A
    ],
)
def test_the_exam_is_its_most_suspicious_accepted_nodule(nodules, category):
    lung_rads, _ = exam_of(nodules, "low")
    assert lung_rads["category"] == category


def test_fleischner_follows_the_accepted_nodules_only():
    _, none = exam_of([], "low")
    assert none is None
    _, small = exam_of([_nodule(3, "solid", 5.0)], "low")
    assert small["nodule_id"] == 3 and small["count"] == "single"
    assert "No routine follow-up" in small["recommendation"]
    _, larger = exam_of([_nodule(3, "solid", 5.0), _nodule(4, "solid", 9.0)], "high")
    assert larger["nodule_id"] == 4 and larger["count"] == "multiple"
