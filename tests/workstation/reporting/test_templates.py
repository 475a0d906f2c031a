"""Templates and labels: every template in both languages, the same words in each."""

from __future__ import annotations

import json
import math

import pytest
from support.report_fixtures import perfusion_document

from workstation.reporting.results import load_results
from workstation.reporting.templates import (
    LANGUAGES,
    load_labels,
    load_template,
    template_for,
    template_ids,
)


def test_every_template_exists_in_vietnamese_and_english():
    assert set(template_ids()) == {"chest-ct-nodules", "perfusion-ct-mr"}
    for template_id in template_ids():
        versions = [load_template(template_id, language) for language in LANGUAGES]
        assert {v.language for v in versions} == set(LANGUAGES)
        assert len({tuple(sorted(v.exams)) for v in versions}) == 1  # same exams
        assert len({v.exams["CT"].code for v in versions}) == 1  # same LOINC codes
        for version in versions:
            assert version.icd10_with_findings and version.icd10_without_findings


def test_labels_have_the_same_keys_in_every_language():
    keys = [set(load_labels(language)) for language in LANGUAGES]
    assert keys[0] == keys[1]
    measurements = [set(load_labels(language)["measurements"]) for language in LANGUAGES]
    assert measurements[0] == measurements[1]


def test_results_choose_their_template_and_exam_code():
    assert template_for("lung", "vi").exam("CT").code == "24627-2"  # CT Chest
    stroke = template_for("perfusion", "en")
    assert stroke.exam("CT").code == "24725-4" and stroke.exam("MR").code == "24590-2"
    assert stroke.icd10_with_findings[0].code == "I63.9"


@pytest.mark.parametrize("ratio", ["inf", None])
def test_a_mismatch_ratio_without_core_is_infinite_or_absent(tmp_path, ratio):
    """As the engine writes it: the string "inf" (no core), or null (nothing measured)."""
    document = perfusion_document(core_ml=0.0)
    document["mismatch_ratio"] = ratio
    (tmp_path / "perfusion.json").write_text(json.dumps(document))
    (finding,) = load_results(tmp_path, load_labels("en")).findings
    values = {m.key: m.value for m in finding.measurements}
    if ratio is None:
        assert "mismatch_ratio" not in values
    else:
        assert math.isinf(values["mismatch_ratio"])
    assert values["core_ml"] == 0.0 and finding.algorithm.label == "halong-perfusion 1.0.0"


@pytest.mark.parametrize("ratio", ["Infinity", float("inf"), -1.0])
def test_a_mismatch_ratio_the_engine_never_writes_is_refused(tmp_path, ratio):
    from workstation.reporting.results import ResultError

    document = perfusion_document(core_ml=0.0)
    document["mismatch_ratio"] = ratio
    (tmp_path / "perfusion.json").write_text(json.dumps(document))
    with pytest.raises(ResultError, match="mismatch_ratio"):
        load_results(tmp_path, load_labels("en"))
