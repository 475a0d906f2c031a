"""Which results are critical: alert rules as data (``resources/rules/node_alerts.json``).

A rule names a result kind, the finding it reports and one condition on the result as
the project reads it (:func:`workstation.reporting.results.load_results`): the engine's
own triage decision (never decided again here), a measurement of any finding against
a threshold, or the exam's Lung-RADS category. Hospitals edit a copy of the file; a
malformed one is refused with one line naming what is wrong, before any result.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

from workstation.perfusion.report_adapter import triage_decision, triage_reasons
from workstation.reporting.results import ResultSet

DEFAULT_RULES = "node_alerts.json"
_MISSING = "missing: "


class AlertRulesError(ValueError):
    """The rules file cannot be used; the message names the rule and the problem."""


class Condition(Protocol):
    def evidence(self, result: ResultSet) -> str | None:
        """What in ``result`` meets the condition, in words; None when nothing does."""


@dataclass(frozen=True)
class TriageCondition:
    """The engine's decision of one triage rule is one of ``statuses``, with none of
    ``unless_missing`` among the values it lacked."""

    rule: str
    statuses: frozenset[str]
    unless_missing: frozenset[str]

    def evidence(self, result: ResultSet) -> str | None:
        for finding in result.findings:
            decision = (finding.data.get("triage") or {}).get(self.rule)
            status = triage_decision(decision)
            if status not in self.statuses:
                continue
            missing = [
                reason.removeprefix(_MISSING)
                for reason in triage_reasons(decision)
                if reason.startswith(_MISSING)
            ]
            if self.unless_missing.intersection(missing):
                continue
            name = decision.get("rule") if isinstance(decision, Mapping) else None
            waiting = f" (missing {', '.join(missing)})" if missing else ""
            return f"{name or self.rule}: {status}{waiting}"
        return None


@dataclass(frozen=True)
class MeasurementCondition:
    """Some finding carries measurement ``key`` at least ``at_least`` (or below ``below``)."""

    key: str
    at_least: float | None
    below: float | None

    def evidence(self, result: ResultSet) -> str | None:
        hits = []
        for finding in result.findings:
            for measurement in finding.measurements:
                if measurement.key != self.key or not self._holds(measurement.value):
                    continue
                hits.append(
                    f"{finding.title}: {measurement.label} {measurement.value:g} {measurement.unit}"
                )
        return "; ".join(hits) or None

    def _holds(self, value: float) -> bool:
        if self.at_least is not None and not value >= self.at_least:
            return False
        return self.below is None or value < self.below


@dataclass(frozen=True)
class LungRadsCondition:
    """The exam's Lung-RADS category (the engine's) is one of ``categories``."""

    categories: frozenset[str]

    def evidence(self, result: ResultSet) -> str | None:
        for finding in result.findings:
            exam = finding.data.get("lung_rads")
            category = exam.get("category") if isinstance(exam, Mapping) else None
            if category is not None and str(category) in self.categories:
                return f"Lung-RADS {category}"
        return None


@dataclass(frozen=True)
class AlertRule:
    rule_id: str
    result_kind: str
    finding: str
    condition: Condition


@dataclass(frozen=True)
class RuleMatch:
    """One rule a result met, and what in the result met it."""

    rule_id: str
    finding: str
    evidence: str

    @property
    def text(self) -> str:
        return f"{self.finding} — {self.evidence}"


def matches(rules: Sequence[AlertRule], result: ResultSet) -> list[RuleMatch]:
    """The rules ``result`` meets, in the file's order."""
    found = []
    for rule in rules:
        if rule.result_kind != result.kind:
            continue
        evidence = rule.condition.evidence(result)
        if evidence:
            found.append(RuleMatch(rule.rule_id, rule.finding, evidence))
    return found


def load_rules(path: Path | None = None) -> tuple[AlertRule, ...]:
    """The rules of ``path``, or the defaults shipped in ``resources/rules``."""
    if path is None:
        source = resources.files("resources").joinpath("rules", DEFAULT_RULES)
        text, name = source.read_text(encoding="utf-8"), DEFAULT_RULES
    else:
        name = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise AlertRulesError(f"cannot read the alert rules {name}: {error}") from None
    try:
        document = json.loads(text)
    except ValueError as error:
        raise AlertRulesError(f"the alert rules {name} are not valid JSON: {error}") from None
    entries = document.get("rules") if isinstance(document, Mapping) else None
    if not isinstance(entries, list) or not entries:
        raise AlertRulesError(f"the alert rules {name} hold no 'rules' list")
    rules = [_rule(entry, f"{name}, rule {number}") for number, entry in enumerate(entries, 1)]
    ids = [rule.rule_id for rule in rules]
    if len(set(ids)) != len(ids):
        raise AlertRulesError(f"the alert rules {name} use a rule id twice")
    return tuple(rules)


def _rule(entry: Any, where: str) -> AlertRule:
    if not isinstance(entry, Mapping):
        raise AlertRulesError(f"{where}: not an object")
    for key in ("id", "result", "finding"):
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            raise AlertRulesError(f"{where}: '{key}' must be a non-empty string")
    where = f"{where} ({entry['id']})"
    when = entry.get("when")
    if not isinstance(when, Mapping):
        raise AlertRulesError(f"{where}: 'when' must be an object")
    return AlertRule(entry["id"], entry["result"], entry["finding"], _condition(when, where))


def _condition(when: Mapping[str, Any], where: str) -> Condition:
    if "triage" in when:
        _only(when, {"triage", "status", "unless_missing"}, where)
        return TriageCondition(
            str(when["triage"]),
            _strings(when.get("status"), "status", where),
            _strings(when.get("unless_missing", []), "unless_missing", where, empty=True),
        )
    if "measurement" in when:
        _only(when, {"measurement", "at_least", "below"}, where)
        at_least, below = (_number(when.get(k), k, where) for k in ("at_least", "below"))
        if at_least is None and below is None:
            raise AlertRulesError(f"{where}: a measurement needs 'at_least' or 'below'")
        return MeasurementCondition(str(when["measurement"]), at_least, below)
    if "lung_rads" in when:
        _only(when, {"lung_rads"}, where)
        return LungRadsCondition(_strings(when["lung_rads"], "lung_rads", where))
    raise AlertRulesError(f"{where}: 'when' needs one of triage, measurement, lung_rads")


def _only(when: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(when) - allowed)
    if unknown:
        raise AlertRulesError(f"{where}: unknown key(s) {', '.join(unknown)} in 'when'")


def _strings(value: Any, key: str, where: str, empty: bool = False) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise AlertRulesError(f"{where}: '{key}' must be a list of strings")
    if not value and not empty:
        raise AlertRulesError(f"{where}: '{key}' is empty")
    return frozenset(value)


def _number(value: Any, key: str, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AlertRulesError(f"{where}: '{key}' must be a number")
    return float(value)
