"""Report lifecycle rules: drafts change, final reports never do, amendments chain."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest

from workstation.model.report import (
    AIFinding,
    Algorithm,
    Decision,
    Icd10Code,
    Measurement,
    Patient,
    Physician,
    Report,
    ReportLockedError,
    ReportRuleError,
    ReportStatus,
    Study,
)

ALGORITHM = Algorithm("halong-lung", "0.3.1")
DOCTOR = Physician("BS. Lê Hoa", "CCHN-1")


def _draft() -> Report:
    findings = (
        AIFinding(
            "nodule-1", "lung-nodule", "Nodule 1", ALGORITHM, (Measurement("v", "V", 5.0, "mm3"),)
        ),
        AIFinding("nodule-2", "lung-nodule", "Nodule 2", ALGORITHM),
        AIFinding("nodule-3", "lung-nodule", "Nodule 3", ALGORITHM),
    )
    return Report(
        patient=Patient("P1", "Lê^Văn Tám"),
        study=Study("1.2.3", "ACC"),
        template_id="chest-ct-nodules",
        language="vi",
        exam_code="24627-2",
        exam_display="CT Chest",
        icd10=(Icd10Code("R91", "Phát hiện bất thường trên chẩn đoán hình ảnh phổi"),),
        findings_text="Phổi: ba nốt.",
        impression="Nốt phổi.",
        ai_findings=findings,
    )


def test_finalising_keeps_only_accepted_ai_findings():
    draft = _draft().accept("nodule-1", DOCTOR.name).reject("nodule-2", DOCTOR.name)
    final = draft.finalize(DOCTOR)
    assert final.status is ReportStatus.FINAL
    assert [f.finding_id for f in final.ai_findings] == ["nodule-1"]  # pending nodule-3 dropped
    (kept,) = final.ai_findings
    assert kept.decision is Decision.ACCEPTED and kept.decided_by == DOCTOR.name
    assert kept.algorithm == ALGORITHM and final.finalized_at is not None


def test_a_final_report_cannot_be_edited():
    final = _draft().finalize(DOCTOR)
    with pytest.raises(ReportLockedError):
        final.edit(impression="changed")
    with pytest.raises(ReportLockedError):
        final.accept("nodule-1", DOCTOR.name)
    with pytest.raises(ReportLockedError):
        final.finalize(DOCTOR)
    with pytest.raises(AttributeError):  # frozen: no way around the methods either
        final.impression = "changed"  # type: ignore[misc]


def test_an_amendment_is_a_new_version_referencing_the_previous_one():
    first = _draft().edit(impression="Nốt thùy trên phải").finalize(DOCTOR)
    draft = first.amend("sai thùy")
    assert draft.is_draft and draft.version == 2 and draft.replaces == first.report_id
    assert draft.set_id == first.set_id and draft.report_id != first.report_id
    second = draft.edit(impression="Nốt thùy dưới phải").finalize(DOCTOR)
    assert second.status is ReportStatus.AMENDED and second.amendment_reason == "sai thùy"
    assert first.impression == "Nốt thùy trên phải"  # the signed version is untouched
    third = second.amend("thêm kết luận").finalize(DOCTOR)
    assert (third.version, third.replaces) == (3, second.report_id)
    with pytest.raises(ReportRuleError):
        _draft().amend("a draft is edited, not amended")
    with pytest.raises(ReportRuleError):
        first.amend("   ")


def test_finalising_needs_a_physician_and_an_icd10_code():
    with pytest.raises(ReportRuleError):
        _draft().finalize(Physician("  "))
    with pytest.raises(ReportRuleError):
        _draft().edit(icd10=()).finalize(DOCTOR)
    with pytest.raises(ReportRuleError):
        _draft().accept("nodule-1", "")


def test_only_text_fields_are_editable():
    with pytest.raises(ReportRuleError):
        _draft().edit(patient=Patient("P2", "Other"))


@pytest.mark.parametrize("code", ["I63.9", "R91", "C34.1", "C34", "Z12.2"])
def test_who_icd10_codes(code):
    assert Icd10Code(code, "x").code == code


@pytest.mark.parametrize("code", ["i63.9", "R91.", "C341", "I63.91.2", "", "R91.X"])
def test_malformed_icd10_codes_are_refused(code):
    with pytest.raises(ValueError):
        Icd10Code(code, "x")


def test_json_round_trip_keeps_everything():
    draft = _draft().accept("nodule-1", DOCTOR.name)
    findings = draft.ai_findings
    infinite = AIFinding(
        "perfusion", "perfusion", "P", ALGORITHM, (Measurement("ratio", "R", math.inf, "1"),)
    )
    draft = dataclasses.replace(draft, ai_findings=(*findings, infinite))
    for report in (draft, draft.finalize(DOCTOR)):
        text = json.dumps(report.to_dict(), allow_nan=False)
        assert Report.from_dict(json.loads(text)) == report


@pytest.mark.parametrize(
    ("field", "text"),
    [
        ("findings_text", ""),
        ("findings_text", "Lungs: \nAirways: "),  # a template's bare headings
        ("impression", "  \n "),
    ],
)
def test_empty_findings_or_impression_are_never_final(field, text):
    draft = _draft().edit(**{field: text})
    with pytest.raises(ReportRuleError, match="the text is empty"):
        draft.finalize(DOCTOR)
