"""A first draft from AI results and a template, for the physician to edit.

The draft's AI findings all start pending. :func:`prefill_conclusion` writes the
impression, the recommendations and the ICD-10 codes from the findings the
physician *accepted* (never from the others), in the report's language; the
editor panel calls it again whenever decisions change, the CLI once.
"""

from __future__ import annotations

from collections.abc import Sequence

from workstation.model.report import AIFinding, Patient, Report, Study
from workstation.reporting.results import ResultSet, format_value, triage_decision
from workstation.reporting.templates import Labels, load_labels, load_template, template_for


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


def _finding_line(finding: AIFinding, labels: Labels) -> str:
    values = {m.key: m.value for m in finding.measurements}

    def shown(key: str, digits: int = 1) -> str:
        return format_value(values[key], labels, digits) if key in values else "-"

    if finding.kind == "lung-nodule":
        data = finding.data
        kind = str(data.get("type", ""))
        category = data.get("lung_rads")
        if isinstance(category, dict):
            category = category.get("category")
        return labels.text(
            "nodule_line",
            id=data.get("id", ""),
            type=labels["nodule_types"].get(kind, kind),
            diameter=shown("mean_diameter_mm"),
            volume=shown("volume_mm3", 0),
            category=category or "-",
        )
    if finding.kind == "perfusion":
        defuse3 = triage_decision((finding.data.get("triage") or {}).get("defuse3")) or "-"
        return labels.text(
            "perfusion_line",
            core=shown("core_ml"),
            hypoperfusion=shown("hypoperfusion_ml"),
            mismatch=shown("mismatch_ml"),
            ratio=shown("mismatch_ratio"),
            defuse3=labels["triage_values"].get(defuse3, defuse3),
        )
    return f"{finding.title}: {finding.summary}"


def prefill_conclusion(report: Report) -> Report:
    """Impression, recommendations and ICD-10 codes written from the accepted findings."""
    template = load_template(report.template_id, report.language)
    labels = load_labels(report.language)
    accepted = report.accepted_findings
    measured = [f for f in accepted if f.kind != "lung-rads"]
    advice = [f"{f.title}: {f.summary}" for f in accepted if f.kind == "lung-rads"]
    impression = "\n".join(_finding_line(f, labels) for f in measured)
    return report.edit(
        impression=impression or template.impression_without_findings,
        recommendations="\n".join([*advice, template.recommendations]),
        icd10=template.icd10_with_findings if measured else template.icd10_without_findings,
    )
