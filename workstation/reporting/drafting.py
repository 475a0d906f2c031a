"""A first draft from AI results and a template, for the physician to edit.

The draft's AI findings all start pending. :func:`prefill_conclusion` writes the
impression, the recommendations and the ICD-10 codes from the findings the
physician *accepted* (never from the others), in the report's language; the
editor panel calls it again whenever decisions change, the CLI once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from workstation.model.report import AIFinding, Patient, Report, Study
from workstation.reporting.adapters import adapter_for_finding, refreshed_findings
from workstation.reporting.results import ResultSet
from workstation.reporting.templates import load_labels, load_template, template_for


def new_draft(
    results: Sequence[ResultSet],
    patient: Patient,
    study: Study,
    *,
    language: str = "vi",
    institution: str = "",
) -> Report:
    """A draft with every finding of ``results`` pending and the template's text."""
    if not results:
        raise ValueError("a report needs at least one result folder")
    template = template_for(results[0].kind, language)
    exam = template.exam(results[0].modality)
    findings: list[AIFinding] = []
    seen: set[str] = set()
    for result in results:
        for finding in result.findings:
            if finding.finding_id in seen:
                raise ValueError(f"two result folders both have a finding {finding.finding_id!r}")
            seen.add(finding.finding_id)
            findings.append(finding)
    return Report(
        patient=patient,
        study=study,
        template_id=template.template_id,
        language=language,
        exam_code=exam.code,
        exam_display=exam.display,
        institution=institution,
        indication=template.indication,
        technique=template.technique,
        findings_text=template.findings_text,
        recommendations=template.recommendations,
        ai_findings=tuple(findings),
    )


def prefill_conclusion(report: Report) -> Report:
    """Impression, recommendations and ICD-10 codes written from the accepted findings.

    Exam-level findings (e.g. the exam's Lung-RADS) are recomputed from the accepted
    ones first, so the conclusion never states more than the physician accepted.
    """
    template = load_template(report.template_id, report.language)
    labels = load_labels(report.language)
    report = with_refreshed_findings(report)
    lines, advice = [], []
    for finding in report.accepted_findings:
        adapter = adapter_for_finding(finding)
        if adapter is None:
            continue
        lines.append(adapter.conclusion_line(finding, labels))
        advice.append(adapter.recommendation(finding, labels))
    impression = "\n".join(line for line in lines if line)
    return report.edit(
        impression=impression or template.impression_without_findings,
        recommendations="\n".join([*(a for a in advice if a), template.recommendations]),
        icd10=template.icd10_with_findings if impression else template.icd10_without_findings,
    )


def with_refreshed_findings(report: Report) -> Report:
    """``report`` (a draft) with its exam-level findings recomputed from the accepted ones."""
    labels = load_labels(report.language)
    findings = refreshed_findings(report.ai_findings, labels)
    if findings == report.ai_findings:
        return report
    return dataclasses.replace(report, ai_findings=findings)
