"""Late-window thrombectomy selection rules (DEFUSE 3, DAWN) as pure functions.

Each rule returns ``eligible``, ``not eligible`` or ``needs input``, with the
reasons: every criterion that failed, or every value still missing, or every
criterion met. A criterion that fails decides ``not eligible`` even while other
values are missing (nothing could make the patient eligible then).

* DEFUSE 3 (Albers et al., NEJM 2018): 6-16 h from last known well, age 18-90,
  NIHSS >= 6, core < 70 ml, mismatch volume >= 15 ml, mismatch ratio >= 1.8.
  The comparison operators and thresholds are settings.
* DAWN (Nogueira et al., NEJM 2018): 6-24 h, and clinical-core mismatch:
  A: age >= 80, NIHSS >= 10, core < 21 ml; B: age < 80, NIHSS >= 10, core < 31 ml;
  C: age < 80, NIHSS >= 20, core < 51 ml.

Both trials also required a large-vessel occlusion (ICA or M1) on angiography
and DAWN a pre-stroke mRS of 0-1; those are not assessed here and are listed in
the reasons of every eligible decision. Imaging values are the reported (rounded)
volumes, so a core shown as 70.0 ml is not < 70 ml.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

Comparison = Literal["<", "<=", ">", ">="]
Status = Literal["eligible", "not eligible", "needs input"]

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_NOT_ASSESSED = "large-vessel occlusion (ICA or M1) on CTA/MRA not assessed by this software"
_NOT_ASSESSED_DAWN = (_NOT_ASSESSED, "pre-stroke mRS 0-1 not assessed by this software")


@dataclass(frozen=True)
class ClinicalInputs:
    """Values the user supplies; None while unknown."""

    age_years: float | None = None
    nihss: int | None = None
    #: Hours since the patient was last known well.
    onset_hours: float | None = None


@dataclass(frozen=True)
class ImagingValues:
    """Reported volumes (ml) and mismatch ratio (inf when there is no core)."""

    core_ml: float | None
    hypoperfusion_ml: float | None
    mismatch_ml: float | None
    mismatch_ratio: float | None


@dataclass(frozen=True)
class Criterion:
    """``<label> <comparison> <threshold>`` on one value."""

    label: str
    comparison: Comparison
    threshold: float
    unit: str = ""

    def holds(self, value: float) -> bool:
        if self.comparison not in _COMPARE:
            raise ValueError(f"unknown comparison {self.comparison!r}")
        return _COMPARE[self.comparison](value, self.threshold)

    @property
    def requirement(self) -> str:
        return f"{self.comparison} {self.threshold:g}{self.unit}"

    def describe(self, value: float) -> str:
        shown = "∞" if math.isinf(value) else f"{value:g}"
        sign = "meets" if self.holds(value) else "fails"
        return f"{self.label} {shown}{self.unit} {sign} {self.requirement}"


@dataclass
class TriageDecision:
    rule: str
    status: Status
    reasons: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {"rule": self.rule, "status": self.status, "reasons": list(self.reasons)}


@dataclass
class _Checklist:
    """Collects met, failed and missing criteria, then decides."""

    met: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def check(self, criterion: Criterion, value: float | None, missing_label: str) -> None:
        if value is None:
            self.missing.append(missing_label)
        elif criterion.holds(value):
            self.met.append(criterion.describe(value))
        else:
            self.failed.append(criterion.describe(value))

    def decide(self, rule: str, extra_if_eligible: list[str]) -> TriageDecision:
        if self.failed:
            return TriageDecision(rule, "not eligible", self.failed)
        if self.missing:
            return TriageDecision(rule, "needs input", [f"missing: {m}" for m in self.missing])
        return TriageDecision(rule, "eligible", self.met + extra_if_eligible)


@dataclass(frozen=True)
class Defuse3Rule:
    core: Criterion = Criterion("core", "<", 70.0, " ml")
    mismatch: Criterion = Criterion("mismatch volume", ">=", 15.0, " ml")
    ratio: Criterion = Criterion("mismatch ratio", ">=", 1.8)
    earliest_hours: Criterion = Criterion("time since last known well", ">=", 6.0, " h")
    latest_hours: Criterion = Criterion("time since last known well", "<=", 16.0, " h")
    youngest: Criterion = Criterion("age", ">=", 18.0, " y")
    oldest: Criterion = Criterion("age", "<=", 90.0, " y")
    nihss: Criterion = Criterion("NIHSS", ">=", 6.0)


def defuse3(
    imaging: ImagingValues, clinical: ClinicalInputs, rule: Defuse3Rule | None = None
) -> TriageDecision:
    """DEFUSE 3 eligibility (see the module doc)."""
    rule = rule or Defuse3Rule()
    checks = _Checklist()
    checks.check(rule.core, imaging.core_ml, "core volume")
    checks.check(rule.mismatch, imaging.mismatch_ml, "mismatch volume")
    checks.check(rule.ratio, imaging.mismatch_ratio, "mismatch ratio")
    for criterion in (rule.earliest_hours, rule.latest_hours):
        checks.check(criterion, clinical.onset_hours, "hours since last known well")
    for criterion in (rule.youngest, rule.oldest):
        checks.check(criterion, clinical.age_years, "age")
    checks.check(rule.nihss, clinical.nihss, "NIHSS")
    checks.missing = list(dict.fromkeys(checks.missing))
    return checks.decide("DEFUSE 3", [_NOT_ASSESSED])


@dataclass(frozen=True)
class DawnGroup:
    """One row of the DAWN clinical-core mismatch table."""

    name: str
    age: Criterion
    nihss: Criterion
    core: Criterion


DAWN_GROUPS = (
    DawnGroup(
        "A",
        Criterion("age", ">=", 80.0, " y"),
        Criterion("NIHSS", ">=", 10.0),
        Criterion("core", "<", 21.0, " ml"),
    ),
    DawnGroup(
        "B",
        Criterion("age", "<", 80.0, " y"),
        Criterion("NIHSS", ">=", 10.0),
        Criterion("core", "<", 31.0, " ml"),
    ),
    DawnGroup(
        "C",
        Criterion("age", "<", 80.0, " y"),
        Criterion("NIHSS", ">=", 20.0),
        Criterion("core", "<", 51.0, " ml"),
    ),
)


@dataclass(frozen=True)
class DawnRule:
    groups: tuple[DawnGroup, ...] = DAWN_GROUPS
    earliest_hours: Criterion = Criterion("time since last known well", ">=", 6.0, " h")
    latest_hours: Criterion = Criterion("time since last known well", "<=", 24.0, " h")


def dawn(
    imaging: ImagingValues, clinical: ClinicalInputs, rule: DawnRule | None = None
) -> TriageDecision:
    """DAWN eligibility: in the time window and in one group of the table."""
    rule = rule or DawnRule()
    checks = _Checklist()
    for criterion in (rule.earliest_hours, rule.latest_hours):
        checks.check(criterion, clinical.onset_hours, "hours since last known well")
    if clinical.age_years is None:
        checks.missing.append("age")
    if clinical.nihss is None:
        checks.missing.append("NIHSS")
    if imaging.core_ml is None:
        checks.missing.append("core volume")
    checks.missing = list(dict.fromkeys(checks.missing))
    if checks.failed or checks.missing:
        return checks.decide("DAWN", [])
    values = (clinical.age_years, clinical.nihss, imaging.core_ml)
    for group in rule.groups:
        criteria = list(zip((group.age, group.nihss, group.core), values, strict=True))
        if all(criterion.holds(value) for criterion, value in criteria):  # type: ignore[arg-type]
            met = ", ".join(criterion.describe(value) for criterion, value in criteria)  # type: ignore[arg-type]
            return TriageDecision(
                "DAWN",
                "eligible",
                [*checks.met, f"group {group.name}: {met}", *_NOT_ASSESSED_DAWN],
            )
    age, nihss, core = values
    reasons = [f"age {age:g} y, NIHSS {nihss}, core {core:g} ml fits no DAWN group"]
    for group in rule.groups:
        needs = ", ".join(
            f"{c.label} {c.requirement}" for c in (group.age, group.nihss, group.core)
        )
        reasons.append(f"group {group.name} needs {needs}")
    return TriageDecision("DAWN", "not eligible", reasons)
