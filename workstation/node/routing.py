"""Which workflow a complete series goes to: routing rules as data, first match wins.

A site changes what the node runs by editing a JSON file (the shipped default is
``resources/rules/node_routing.json``; ``--rules FILE`` replaces it), never the code.
A rule matches on what the series' headers say: modality, body part, series and study
description (regular expressions), the number of time points (4D or not), slice
thickness and image count. A series no rule takes is ignored, with a line saying why.

The same :class:`SeriesFeatures` come from the node's arrivals and from files on disk
(:func:`features_of` over :func:`arrival_of` of each header), so a rule decides alike
for a series the node received and one a test or a site reads from a folder.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from workstation.dicom.instance import InstanceHeader

#: The workflow a rule names to leave a series alone on purpose.
IGNORE = "ignore"
_RANGE_KEYS = ("temporal_positions", "slice_thickness_mm", "instances")
_LIST_KEYS = ("modality", "body_part")
_REGEX_KEYS = ("series_description", "study_description")
_MATCH_KEYS = (*_LIST_KEYS, *_REGEX_KEYS, "four_d", *_RANGE_KEYS)
_RULE_KEYS = ("name", "workflow", "match", "why")


class RulesError(ValueError):
    """A routing rules file that cannot be used; the message names the file and the fault."""


@dataclass(frozen=True)
class Arrival:
    """What routing needs from one instance's header (kept per instance by the node)."""

    modality: str
    body_part: str
    series_description: str
    study_description: str
    slice_thickness_mm: float | None
    #: Where the image lies (ImagePositionPatient to 0.1 mm); None when it does not say.
    position: str | None
    temporal_position: int | None


def arrival_of(header: InstanceHeader) -> Arrival:
    position = None
    if header.image_position is not None:
        position = ",".join(f"{value:.1f}" for value in header.image_position)
    return Arrival(
        modality=header.modality.upper(),
        body_part=header.body_part.upper(),
        series_description=header.series_description,
        study_description=header.study_description,
        slice_thickness_mm=header.slice_thickness,
        position=position,
        temporal_position=header.temporal_position,
    )


@dataclass(frozen=True)
class SeriesFeatures:
    """One series as the rules see it."""

    modality: str
    body_part: str
    series_description: str
    study_description: str
    slice_thickness_mm: float | None
    instances: int
    #: Time points: how often each position repeats, or the temporal position IDs seen.
    temporal_positions: int

    @property
    def four_d(self) -> bool:
        return self.temporal_positions > 1

    def describe(self) -> str:
        """``CT 'CTP 4D' (HEAD, 240 images, 30 time points, 5.0 mm)``, for log lines."""
        thickness = "?" if self.slice_thickness_mm is None else f"{self.slice_thickness_mm:g}"
        body_part = self.body_part or "no body part"
        return (
            f"{self.modality or '?'} {self.series_description!r} ({body_part}, "
            f"{self.instances} images, {self.temporal_positions} time point(s), {thickness} mm)"
        )


def features_of(arrivals: Iterable[Arrival]) -> SeriesFeatures:
    """The features of a series from its instances' arrivals (the most common value of
    each header field, as a series' instances may disagree)."""
    arrivals = list(arrivals)
    if not arrivals:
        raise ValueError("a series without instances has no features")

    def common(name: str) -> Any:
        values = [getattr(a, name) for a in arrivals if getattr(a, name) not in (None, "")]
        return Counter(values).most_common(1)[0][0] if values else None

    positions = {a.position for a in arrivals if a.position is not None}
    repeats = round(len(arrivals) / len(positions)) if positions else 1
    temporal_ids = {a.temporal_position for a in arrivals if a.temporal_position is not None}
    return SeriesFeatures(
        modality=common("modality") or "",
        body_part=common("body_part") or "",
        series_description=common("series_description") or "",
        study_description=common("study_description") or "",
        slice_thickness_mm=common("slice_thickness_mm"),
        instances=len(arrivals),
        temporal_positions=max(1, repeats, len(temporal_ids)),
    )


@dataclass(frozen=True)
class Range:
    low: float = -math.inf
    high: float = math.inf

    def holds(self, value: float | None) -> bool:
        return value is not None and self.low <= value <= self.high


@dataclass(frozen=True)
class Rule:
    """Series matching every condition given go to ``workflow`` (or are ignored)."""

    name: str
    workflow: str
    lists: Mapping[str, frozenset[str]]
    patterns: Mapping[str, re.Pattern[str]]
    ranges: Mapping[str, Range]
    four_d: bool | None = None

    def matches(self, series: SeriesFeatures) -> bool:
        if any(getattr(series, key) not in allowed for key, allowed in self.lists.items()):
            return False
        if any(not p.search(getattr(series, key)) for key, p in self.patterns.items()):
            return False
        if self.four_d is not None and series.four_d != self.four_d:
            return False
        return all(r.holds(getattr(series, key)) for key, r in self.ranges.items())


@dataclass(frozen=True)
class RoutingRules:
    """The rules of one file, in order."""

    source: str
    rules: tuple[Rule, ...]

    def route(self, series: SeriesFeatures) -> Rule | None:
        """The first rule the series matches, or None."""
        return next((rule for rule in self.rules if rule.matches(series)), None)


def default_rules_path() -> Path:
    return Path(str(resources.files("resources") / "rules" / "node_routing.json"))


def load_rules(path: Path | None, workflows: Collection[str]) -> RoutingRules:
    """The rules in ``path`` (the shipped default when None), each naming one of
    ``workflows`` or ``"ignore"``; RulesError naming the file and the fault otherwise."""
    path = path or default_rules_path()
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise RulesError(f"cannot read the routing rules {path}: {error.strerror}") from None
    except ValueError as error:
        raise RulesError(f"the routing rules {path} are not valid JSON: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("rules"), list):
        raise RulesError(f'{path}: expected {{"rules": [...]}}')
    rules = []
    for number, entry in enumerate(document["rules"], start=1):
        try:
            rules.append(_rule(entry, {*workflows, IGNORE}))
        except (RulesError, TypeError, ValueError) as error:
            raise RulesError(f"{path}, rule {number}: {error}") from None
    return RoutingRules(str(path), tuple(rules))


def _rule(entry: object, workflows: Collection[str]) -> Rule:
    if not isinstance(entry, dict):
        raise RulesError("a rule is an object with name, workflow and match")
    unknown = sorted(set(entry) - set(_RULE_KEYS))
    if unknown:
        raise RulesError(f"unknown key(s) {', '.join(unknown)} (known: {', '.join(_RULE_KEYS)})")
    name, workflow, match = entry.get("name"), entry.get("workflow"), entry.get("match", {})
    if not isinstance(name, str) or not name:
        raise RulesError("every rule needs a name")
    if workflow not in workflows:
        raise RulesError(f"{name}: workflow {workflow!r} is not one of {', '.join(workflows)}")
    if not isinstance(match, dict):
        raise RulesError(f"{name}: match is an object")
    unknown = sorted(set(match) - set(_MATCH_KEYS))
    if unknown:
        raise RulesError(f"{name}: cannot match on {', '.join(unknown)}")
    four_d = match.get("four_d")
    if four_d is not None and not isinstance(four_d, bool):
        raise RulesError(f"{name}: four_d is true or false")
    return Rule(
        name=name,
        workflow=workflow,
        lists={key: _names(name, key, match[key]) for key in _LIST_KEYS if key in match},
        patterns={key: _pattern(name, key, match[key]) for key in _REGEX_KEYS if key in match},
        ranges={key: _range(name, key, match[key]) for key in _RANGE_KEYS if key in match},
        four_d=four_d,
    )


def _names(rule: str, key: str, value: object) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RulesError(f'{rule}: {key} is a list of names ("" for none given)')
    return frozenset(v.upper() for v in value)


def _pattern(rule: str, key: str, value: object) -> re.Pattern[str]:
    if not isinstance(value, str):
        raise RulesError(f"{rule}: {key} is a regular expression")
    try:
        return re.compile(value, re.IGNORECASE)
    except re.error as error:
        raise RulesError(f"{rule}: {key} {value!r} is not a regular expression ({error})") from None


def _range(rule: str, key: str, value: object) -> Range:
    if not isinstance(value, dict) or not value or set(value) - {"min", "max"}:
        raise RulesError(f"{rule}: {key} is {{'min': N, 'max': N}} (either or both)")
    bounds = dict(value)
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in bounds.values()):
        raise RulesError(f"{rule}: {key} bounds are numbers")
    found = Range(float(bounds.get("min", -math.inf)), float(bounds.get("max", math.inf)))
    if found.low > found.high:
        raise RulesError(f"{rule}: {key} min is above max")
    return found
