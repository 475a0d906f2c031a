"""Lung-RADS v2022 and Fleischner 2017 as pure functions over JSON tables.

The tables (``resources/rules/*.json``) hold every threshold, category and sentence of
management advice; this module only matches a nodule against their rows, first match
wins. Sizes are compared in whole tenths of a millimetre (Lung-RADS) or whole
millimetres (Fleischner) after rounding half up, as the guidelines ask, so a boundary
such as "6 mm" behaves identically for 5.95 and 6.0 on every platform.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

NoduleKind = Literal["solid", "part-solid", "ground-glass"]
Status = Literal["baseline", "new", "growing", "stable"]
Airway = Literal["subsegmental", "segmental"]
Risk = Literal["low", "high"]
Table = dict[str, Any]

LUNG_RADS_TABLE = "lung_rads_v2022.json"
#: Follow-up intervals are booked in months of 30 days ("3 months" = 90 days).
DAYS_PER_MONTH = 30
FLEISCHNER_TABLE = "fleischner_2017.json"


@dataclass(frozen=True)
class RuleNodule:
    """What the guidelines look at: type, sizes (mm) and behaviour against a prior."""

    type: NoduleKind
    mean_diameter_mm: float
    solid_core_mm: float = 0.0
    status: Status = "baseline"
    #: Solid, juxtapleural or perifissural, smooth, oval/lentiform/triangular (reader-confirmed).
    juxtapleural_benign: bool = False
    airway: Airway | None = None
    #: Spiculation, lymphadenopathy, etc.: upgrades category 3/4 to 4X (reader-confirmed).
    suspicious_features: bool = False

    @property
    def solid_mm(self) -> float:
        """The solid component; a solid nodule is all solid component."""
        return self.mean_diameter_mm if self.type == "solid" else self.solid_core_mm


@dataclass(frozen=True)
class LungRads:
    """A Lung-RADS category with its management and the table row that gave it."""

    category: str
    management: str
    finding: str

    def to_json(self) -> dict[str, str]:
        return {"category": self.category, "management": self.management, "finding": self.finding}


@dataclass(frozen=True)
class Fleischner:
    """A Fleischner recommendation, the row's rank (urgency) and the nodule it is for."""

    recommendation: str
    risk: Risk
    rank: int
    nodule_class: str
    count: str
    nodule_index: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "recommendation": self.recommendation,
            "risk": self.risk,
            "nodule_class": self.nodule_class,
            "count": self.count,
        }


@cache
def load_table(name: str) -> Table:
    """A rule table shipped in ``resources/rules`` (read once)."""
    text = resources.files("resources").joinpath("rules", name).read_text(encoding="utf-8")
    return json.loads(text)


def rounded(value_mm: float, step_mm: float) -> int:
    """``value_mm`` in whole steps, rounded half up (5.95 -> 60 tenths, 8.5 -> 9 mm)."""
    return math.floor(value_mm / step_mm + 0.5 + 1e-9)


def _in_range(value_steps: int, bounds: Sequence[float | None] | None, step_mm: float) -> bool:
    if bounds is None:
        return True
    low, high = bounds
    if low is not None and value_steps < rounded(low, step_mm):
        return False
    return high is None or value_steps < rounded(high, step_mm)


def lung_rads(nodule: RuleNodule, table: Table | None = None) -> LungRads:
    """The Lung-RADS v2022 category of one nodule."""
    table = table or load_table(LUNG_RADS_TABLE)
    step = 0.1
    mean = rounded(nodule.mean_diameter_mm, step)
    solid = rounded(nodule.solid_mm, step)
    for rule in table["rules"]:
        if (
            rule.get("airway") == nodule.airway
            and nodule.type in rule.get("type", [nodule.type])
            and nodule.status in rule["status"]
            and (nodule.juxtapleural_benign or not rule.get("juxtapleural_benign", False))
            and _in_range(mean, rule.get("mean_mm"), step)
            and _in_range(solid, rule.get("solid_mm"), step)
        ):
            category = rule["category"]
            upgrade = table["suspicious_upgrade"]
            if nodule.suspicious_features and category in upgrade["from"]:
                category = upgrade["to"]
            return LungRads(category, table["categories"][category]["management"], rule["finding"])
    raise ValueError(f"no Lung-RADS rule matches {nodule}")


def lung_rads_exam(nodules: Sequence[RuleNodule], table: Table | None = None) -> LungRads:
    """The exam's category: that of its most suspicious nodule, 1 without nodules."""
    table = table or load_table(LUNG_RADS_TABLE)
    if not nodules:
        negative = table["categories"]["1"]
        return LungRads("1", negative["management"], "No lung nodules")
    return max(
        (lung_rads(n, table) for n in nodules),
        key=lambda a: table["categories"][a.category]["rank"],
    )


def growth_status(
    current_mean_mm: float,
    prior_mean_mm: float | None,
    interval_days: float | None,
    table: Table | None = None,
) -> Status:
    """New (no prior), growing (> 1.5 mm larger), stable (≥ 3 months unchanged), or baseline."""
    table = table or load_table(LUNG_RADS_TABLE)
    if prior_mean_mm is None:
        return "new"
    growth = rounded(current_mean_mm, 0.1) - rounded(prior_mean_mm, 0.1)
    if growth > rounded(table["growth_mm"], 0.1):
        return "growing"
    if interval_days is not None and interval_days >= table["stable_months"] * DAYS_PER_MONTH:
        return "stable"
    return "baseline"


def fleischner(
    nodule: RuleNodule, risk: Risk, multiple: bool = False, table: Table | None = None
) -> Fleischner:
    """The Fleischner 2017 recommendation for one nodule, alone or among several."""
    table = table or load_table(FLEISCHNER_TABLE)
    if risk not in table["risk_levels"]:
        raise ValueError(f"risk must be one of {table['risk_levels']}, not {risk!r}")
    step = float(table["size_rounding_mm"])
    count = "multiple" if multiple else "single"
    kind = "subsolid" if multiple and nodule.type != "solid" else nodule.type
    mean = rounded(nodule.mean_diameter_mm, step)
    solid = rounded(nodule.solid_mm, step)
    for rule in table["rules"]:
        if (
            rule["class"] == kind
            and rule["count"] == count
            and risk in rule["risk"]
            and _in_range(mean, rule.get("mean_mm"), step)
            and _in_range(solid, rule.get("solid_mm"), step)
        ):
            return Fleischner(rule["recommendation"], risk, int(rule["rank"]), kind, count)
    raise ValueError(f"no Fleischner rule matches {nodule} ({count}, {risk} risk)")


def fleischner_exam(
    nodules: Sequence[RuleNodule], risk: Risk, table: Table | None = None
) -> Fleischner | None:
    """The most urgent recommendation over all nodules (solid and subsolid counted apart)."""
    table = table or load_table(FLEISCHNER_TABLE)
    solid = sum(n.type == "solid" for n in nodules)
    subsolid = len(nodules) - solid
    advice = []
    for index, nodule in enumerate(nodules):
        multiple = (solid if nodule.type == "solid" else subsolid) > 1
        result = fleischner(nodule, risk, multiple, table)
        advice.append(
            Fleischner(
                result.recommendation, risk, result.rank, result.nodule_class, result.count, index
            )
        )
    return max(advice, key=lambda a: a.rank) if advice else None
