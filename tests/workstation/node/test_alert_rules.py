"""Alert rules as data: the defaults on a real perfusion result and on lung results, the
engine's triage read (never re-decided), thresholds, and a malformed rules file."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from support.node_alerts import perfusion_result

from workstation.lung.report_adapter import ADAPTER as LUNG
from workstation.model.report import Algorithm
from workstation.node.alert_rules import AlertRulesError, load_rules, matches
from workstation.perfusion.report_adapter import ADAPTER as PERFUSION
from workstation.reporting.results import ResultSet, load_results
from workstation.reporting.templates import load_labels

LABELS = load_labels("en")
ALGORITHM = Algorithm("test", "1")


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return perfusion_result(tmp_path_factory)


def _result(adapter, document) -> ResultSet:
    findings = tuple(adapter.findings(document, ALGORITHM, LABELS))
    return ResultSet(Path("."), adapter, document, ALGORITHM, findings)


def _perfusion(document, **changes) -> ResultSet:
    changed = copy.deepcopy(document) | changes
    return _result(PERFUSION, changed)


def _ids(result_set: ResultSet, rules=None) -> list[str]:
    return [match.rule_id for match in matches(rules or load_rules(), result_set)]


def test_the_phantom_result_is_a_target_mismatch_as_its_truth_says(result) -> None:
    truth = result.truth
    mismatch = truth.hypoperfusion_ml - truth.core_ml
    # the truth meets DEFUSE 3's imaging criteria, and is no large core
    assert truth.core_ml < 70 and mismatch >= 15 and truth.hypoperfusion_ml / truth.core_ml >= 1.8
    found = matches(load_rules(), load_results(result.folder, LABELS))
    assert [match.rule_id for match in found] == ["target-mismatch"]
    # the node has no clinical values: the engine said it needs them, and the alert says so
    assert "needs input" in found[0].evidence and "NIHSS" in found[0].evidence


def test_the_engines_decision_is_read_not_made_again(result) -> None:
    document = result.document
    failed = {"rule": "DEFUSE 3", "status": "not eligible", "reasons": ["core 80 ml fails < 70 ml"]}
    assert _ids(_perfusion(document, triage={"defuse3": failed})) == []
    eligible = {"rule": "DEFUSE 3", "status": "eligible", "reasons": []}
    assert _ids(_perfusion(document, triage={"defuse3": eligible})) == ["target-mismatch"]
    no_core = {
        "rule": "DEFUSE 3",
        "status": "needs input",
        "reasons": ["missing: core volume", "missing: age"],
    }
    assert _ids(_perfusion(document, triage={"defuse3": no_core}, core_ml=None)) == []


def test_a_large_core_alerts_on_its_own(result) -> None:
    document = result.document
    failed = {"rule": "DEFUSE 3", "status": "not eligible", "reasons": ["core 82 ml fails"]}
    found = matches(load_rules(), _perfusion(document, core_ml=82.0, triage={"defuse3": failed}))
    assert [m.rule_id for m in found] == ["large-core"]
    assert "82" in found[0].evidence
    at_threshold = _perfusion(document, core_ml=70.0, triage={"defuse3": failed})
    assert _ids(at_threshold) == ["large-core"]  # 70 ml is a large core (>= 70)
    below = _perfusion(document, core_ml=69.9, triage={"defuse3": failed})
    assert _ids(below) == []


def _nodule(number: int, long_axis: float, category: str) -> dict:
    return {
        "id": number,
        "type": "solid",
        "volume_mm3": 500.0,
        "long_axis_mm": long_axis,
        "short_axis_mm": long_axis * 0.7,
        "mean_diameter_mm": long_axis * 0.85,
        "mean_hu": 30.0,
        "solid_core_mm": long_axis * 0.85,
        "lung_rads": category,
        "location": {"lung": "right", "lobe": "right upper lobe"},
    }


def _lung(category: str, *nodules: dict) -> ResultSet:
    document = {
        "series_uid": "1.2.3",
        "lung_rads": {"category": category, "management": "see the table"},
        "fleischner": None,
        "nodules": list(nodules),
    }
    return _result(LUNG, document)


def test_lung_rules_lung_rads_4b_4x_and_a_mass() -> None:
    assert _ids(_lung("4B", _nodule(1, 18.0, "4B"))) == ["lung-rads-4b-4x"]
    assert _ids(_lung("4X", _nodule(1, 12.0, "4X"))) == ["lung-rads-4b-4x"]
    assert _ids(_lung("4A", _nodule(1, 12.0, "4A"))) == []
    found = matches(load_rules(), _lung("4A", _nodule(1, 12.0, "4A"), _nodule(2, 31.5, "4A")))
    assert [m.rule_id for m in found] == ["lung-mass"]
    assert "Nodule 2" in found[0].evidence and "31.5" in found[0].evidence
    assert _ids(_lung("4A", _nodule(1, 29.9, "4A"))) == []


def test_a_rules_file_changes_the_thresholds(tmp_path: Path) -> None:
    rules = {
        "rules": [
            {
                "id": "any-nodule",
                "result": "lung",
                "finding": "Nodule of 5 mm or more",
                "when": {"measurement": "long_axis_mm", "at_least": 5},
            }
        ]
    }
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(rules))
    assert _ids(_lung("2", _nodule(1, 6.0, "2")), load_rules(path)) == ["any-nodule"]


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("{", "not valid JSON"),
        ('{"rules": []}', "no 'rules' list"),
        ('{"rules": [{"id": "x", "result": "lung", "finding": "f", "when": {}}]}', "rule 1 (x)"),
        (
            '{"rules": [{"id": "x", "result": "lung", "finding": "f",'
            ' "when": {"measurement": "core_ml", "at_least": "70"}}]}',
            "'at_least' must be a number",
        ),
        (
            '{"rules": [{"id": "x", "result": "lung", "finding": "f",'
            ' "when": {"lung_rads": ["4B"], "typo": 1}}]}',
            "unknown key(s) typo",
        ),
    ],
)
def test_a_malformed_rules_file_is_named_in_one_line(tmp_path: Path, text: str, named: str) -> None:
    path = tmp_path / "rules.json"
    path.write_text(text)
    with pytest.raises(AlertRulesError) as refused:
        load_rules(path)
    assert named in str(refused.value) and "\n" not in str(refused.value)
