"""Result-file schemas: what the real engines write passes, hand-edited nonsense does not.

The valid documents come from the engines themselves, run on small phantoms, and go
through JSON text as a file would; each refused edit must be named by its path.
"""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import pytest

from workstation.reporting.result_schema import (
    ResultSchemaError,
    require_valid,
    schema_problems,
)

pytestmark = pytest.mark.slow  # the engines run once for the module (about 40 s on 2 cores)

CHEST = ((90, 224, 224), (1.1, 1.1, 1.5))
PATIENT = {"age_years": 70, "nihss": 14, "onset_hours": 9.0}


def _as_file(document: Any) -> Any:
    """Through JSON text and back, as lung.json / perfusion.json reach a report."""
    return json.loads(json.dumps(document))


def _lung_documents() -> dict[str, dict]:
    from ai.lung import LungRequest, analyse_chest_ct
    from ai.lung.review import Decision, NoduleReview
    from ai.phantoms import NoduleSpec, make_chest_ct

    phantom = make_chest_ct(
        97_201,
        *CHEST,
        nodules=[
            NoduleSpec("solid", 10.0),
            NoduleSpec("part-solid", 16.0, 10.0),
            NoduleSpec("ground-glass", 12.0),
        ],
    )
    result = analyse_chest_ct(LungRequest(volume=phantom.volume))
    assert len(result.nodules) >= 3
    documents = {"lung": result.to_json()}

    # the reader accepts one, rejects another and draws it again (a reader's nodule,
    # probability null), and leaves the rest pending
    review = NoduleReview(result, phantom.volume)
    first, second = review.items[0], review.items[1]
    review.decide(first.id, Decision.ACCEPTED)
    review.decide(second.id, Decision.REJECTED)
    added = review.add(second.nodule.measurements.center_lps_mm)
    assert added.nodule.added_by_reader
    documents["lung reviewed"] = review.reviewed_result("BS. Hoa (TEST)").to_json()

    # a follow-up a year on: one nodule grew, one is stable, one is new, one resolved
    seed = 97_301
    specs = [
        NoduleSpec("solid", 9.0),
        NoduleSpec("ground-glass", 12.0),
        NoduleSpec("solid", 7.0),
        NoduleSpec("solid", 8.0),
    ]
    where = [n.center_lps_mm for n in make_chest_ct(seed, *CHEST, nodules=specs).nodules]

    def scan(sizes: dict[int, float], date: str):
        nodules = [
            NoduleSpec(specs[i].type, size, center_lps_mm=where[i]) for i, size in sizes.items()
        ]
        volume = make_chest_ct(seed, *CHEST, nodules=nodules).volume
        volume.attributes["StudyDate"] = date
        return volume

    current = scan({0: 9.0, 1: 12.0, 2: 7.0}, "20240601")
    prior = scan({0: 7.0, 1: 12.0, 3: 8.0}, "20230601")
    follow_up = analyse_chest_ct(LungRequest(volume=current, prior=prior))
    documents["lung follow-up"] = follow_up.to_json()
    return documents


def _perfusion_documents() -> dict[str, dict]:
    from ai.perfusion import ClinicalInputs, PerfusionRequest, run_perfusion
    from ai.phantoms import make_adc_head, make_ctp_head, make_mr_dsc_head

    ct = make_ctp_head(seed=4, noise_hu=5.0, n_frames=40)
    ct_result = run_perfusion(PerfusionRequest(ct.volume, clinical=ClinicalInputs(**PATIENT)))
    # an ADC core larger than the Tmax > 6 s volume: the engine writes a negative mismatch
    dsc = make_mr_dsc_head(seed=0, infarct=False)
    mr_result = run_perfusion(PerfusionRequest(dsc.volume, adc=make_adc_head(seed=0).volume))
    return {"perfusion CT": ct_result.to_json(), "perfusion MR": mr_result.to_json()}


@pytest.fixture(scope="module")
def documents() -> dict[str, dict]:
    produced = {**_lung_documents(), **_perfusion_documents()}
    return {name: _as_file(document) for name, document in produced.items()}


def _schema(name: str) -> str:
    return name.split()[0]


@pytest.mark.parametrize(
    "name", ["lung", "lung reviewed", "lung follow-up", "perfusion CT", "perfusion MR"]
)
def test_what_the_engines_write_is_valid(documents, name: str) -> None:
    assert schema_problems(documents[name], _schema(name)) == []
    require_valid(documents[name], _schema(name), name)


def test_the_documents_cover_what_the_schemas_allow(documents) -> None:
    """The reviewed result, the follow-up and the MR run exercise the schemas' null branches."""
    reviewed = documents["lung reviewed"]
    assert reviewed["review"]["reader"] and reviewed["review"]["rejected"]
    readers = [n for n in reviewed["nodules"] if n["found_by"] == "reader"]
    assert readers and readers[0]["probability"] is None
    assert all(n["prior"] is None for n in documents["lung"]["nodules"])
    statuses = {n["prior"]["status"] for n in documents["lung follow-up"]["nodules"]}
    assert {"growing", "new"} <= statuses
    assert documents["lung follow-up"]["prior"]["resolved_nodules"]
    assert documents["perfusion MR"]["mismatch_ml"] < 0


def _edit(document: dict, path: tuple, value: Any = None, delete: bool = False) -> Any:
    edited = copy.deepcopy(document)
    *parents, last = path
    target = edited
    for key in parents:
        target = target[key]
    if delete:
        del target[last]
    else:
        target[last] = value
    return _as_file(edited)


NAN, INF = math.nan, math.inf
REFUSED = [
    # document, path, new value, what the problem line starts with
    ("lung", ("nodules", 0, "volume_mm3"), -50, "nodules[0].volume_mm3: -50 is less than"),
    ("lung", ("nodules", 0, "volume_mm3"), NAN, "nodules[0].volume_mm3: NaN is not a finite"),
    ("lung", ("nodules", 0, "volume_mm3"), INF, "nodules[0].volume_mm3: Infinity is not"),
    ("lung", ("nodules", 0, "long_axis_mm"), -INF, "nodules[0].long_axis_mm: -Infinity is not"),
    ("lung", ("nodules", 0, "volume_mm3"), "5386", "nodules[0].volume_mm3: '5386' is not of"),
    ("lung", ("nodules", 0, "mean_hu"), -3000, "nodules[0].mean_hu: -3000 is less than"),
    ("lung", ("nodules", 0, "mean_hu"), 5000, "nodules[0].mean_hu: 5000 is greater than"),
    ("lung", ("nodules", 0, "type"), "cavitary", "nodules[0].type: 'cavitary' is not one of"),
    ("lung", ("nodules", 0, "juxtapleural"), "no", "nodules[0].juxtapleural: 'no' is not of"),
    ("lung", ("nodules", 0, "id"), 0, "nodules[0].id: 0 is less than the minimum of 1"),
    ("lung", ("lung_rads", "category"), "5", "lung_rads.category: '5' is not one of"),
    ("lung", ("nodules", 0, "lung_rads"), "4C", "nodules[0].lung_rads: '4C' is not one of"),
    ("lung", ("algorithm", "name"), "Other CAD", "algorithm.name: 'Halong lung nodule CAD' was"),
    ("lung", ("algorithm", "version"), "9.9", "algorithm.version: '9.9' is not one of"),
    ("lung", ("nodules", 0, "probability"), 1.5, "nodules[0].probability: 1.5 is greater than"),
    ("lung", ("ai_generated",), False, "ai_generated: True was expected"),
    ("lung", ("timings_s", "lung_mask"), -1.0, "timings_s.lung_mask: -1.0 is less than"),
    ("lung follow-up", ("nodules", 0, "prior", "status"), "gone", "nodules[0].prior.status:"),
    ("lung reviewed", ("review", "nodules", 0, "decision"), "maybe", "review.nodules[0].decision"),
    ("perfusion CT", ("core_ml",), -1, "core_ml: -1 is less than the minimum of 0"),
    ("perfusion CT", ("hir",), NAN, "hir: NaN is not a finite number"),
    ("perfusion CT", ("hir",), 1.2, "hir: 1.2 is greater than the maximum of 1"),
    ("perfusion CT", ("hypoperfusion_ml",), None, "hypoperfusion_ml: None is not of type"),
    ("perfusion CT", ("mismatch_ratio",), -2.0, "mismatch_ratio: -2.0 is less than"),
    ("perfusion CT", ("mismatch_ratio",), "Infinity", "mismatch_ratio: 'Infinity' does not"),
    ("perfusion CT", ("algorithm", "name"), "other-perfusion", "algorithm.name: 'halong-perf"),
    ("perfusion CT", ("algorithm", "version"), "9.9", "algorithm.version: '9.9' is not one of"),
    ("perfusion CT", ("ai_generated",), False, "ai_generated: True was expected"),
    ("perfusion CT", ("triage", "defuse3", "status"), "yes", "triage.defuse3.status: 'yes'"),
    ("perfusion CT", ("modality",), "PET", "modality: 'PET' is not one of"),
]


@pytest.mark.parametrize(
    ("name", "path", "value", "expected"), REFUSED, ids=[f"{r[0]}:{r[3]}" for r in REFUSED]
)
def test_hand_edits_are_refused_by_name(documents, name, path, value, expected) -> None:
    problems = schema_problems(_edit(documents[name], path, value), _schema(name))
    assert any(line.startswith(expected) for line in problems), problems
    with pytest.raises(ResultSchemaError, match=f"^{name}: "):
        require_valid(_edit(documents[name], path, value), _schema(name), name)


@pytest.mark.parametrize(
    ("name", "path"),
    [("lung", ("nodules",)), ("lung", ("algorithm",)), ("perfusion CT", ("triage",))],
)
def test_missing_required_keys_are_refused(documents, name, path) -> None:
    problems = schema_problems(_edit(documents[name], path, delete=True), _schema(name))
    assert problems == [f"(top level): {path[-1]!r} is a required property"]


@pytest.mark.parametrize(
    ("path", "value"),
    [(("mismatch_ratio",), "inf"), (("mismatch_ratio",), None), (("core_ml",), None)],
)
def test_what_the_perfusion_engine_may_write_instead_of_a_number(documents, path, value) -> None:
    assert schema_problems(_edit(documents["perfusion CT"], path, value), "perfusion") == []


def test_unknown_top_level_keys_are_allowed(documents) -> None:
    edited = _edit(documents["lung"], ("note",), {"by": "a later engine"})
    assert schema_problems(edited, "lung") == []


def test_require_valid_names_the_label_and_at_most_three_problems(documents) -> None:
    broken = copy.deepcopy(documents["lung"])
    broken["nodules"][0].update(volume_mm3=-1, long_axis_mm=NAN, type="x", probability=2)
    broken["algorithm"]["version"] = "0.0"
    problems = schema_problems(_as_file(broken), "lung")
    assert len(problems) == 5
    with pytest.raises(ResultSchemaError) as raised:
        require_valid(_as_file(broken), "lung", "lung.json in /results/ct-1")
    assert str(raised.value) == "lung.json in /results/ct-1: " + "; ".join(problems[:3]) + (
        " (and 2 more)"
    )

    one = _edit(documents["lung"], ("nodules", 0, "volume_mm3"), -1)
    with pytest.raises(ResultSchemaError) as raised:
        require_valid(one, "lung", "lung.json")
    assert str(raised.value) == (
        "lung.json: nodules[0].volume_mm3: -1 is less than the minimum of 0"
    )


def test_an_unknown_schema_name_is_an_error() -> None:
    with pytest.raises(ValueError, match="no result schema"):
        schema_problems({}, "../lung")
