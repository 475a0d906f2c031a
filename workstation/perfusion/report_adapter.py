"""Perfusion results in a report: one finding with the volumes, DEFUSE 3 / DAWN and QC."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workstation.model.report import AIFinding, Algorithm
from workstation.reporting.results import format_value, measurements_of

if TYPE_CHECKING:
    from workstation.model.report import Report
    from workstation.reporting.results import ResultSet
    from workstation.reporting.templates import Labels

PERFUSION = "perfusion"
RESULT_FILE = "perfusion.json"
RULES = (("defuse3", "DEFUSE 3"), ("dawn", "DAWN"))
#: UCUM unit of each volume and ratio reports carry, in the order they show them.
UNITS = {
    "core_ml": "mL",
    "hypoperfusion_ml": "mL",
    "tmax_gt10_ml": "mL",
    "mismatch_ml": "mL",
    "mismatch_ratio": "1",
    "hir": "1",
}


def triage_decision(triage: Any) -> str:
    """``eligible`` / ``not eligible`` / ``needs input`` from one rule's result."""
    if isinstance(triage, Mapping):
        for key in ("decision", "result", "status", "eligible"):
            if key in triage:
                value = triage[key]
                if isinstance(value, bool):
                    return "eligible" if value else "not eligible"
                return str(value).replace("_", " ")
        return ""
    return "" if triage is None else str(triage).replace("_", " ")


def quality_flags(qc: Any) -> list[str]:
    """The raised QC flags: ``qc["raised"]``, or the flags set to true."""
    if not isinstance(qc, Mapping):
        return []
    if isinstance(qc.get("raised"), list):
        return [str(flag) for flag in qc["raised"]]
    return [str(flag) for flag, value in qc.items() if value is True]


def triage_reasons(triage: Any) -> list[str]:
    reasons = triage.get("reasons", []) if isinstance(triage, Mapping) else []
    return [str(reason) for reason in reasons]


def _rule_text(finding: AIFinding, rule: str, labels: Labels) -> str:
    decision = triage_decision((finding.data.get("triage") or {}).get(rule))
    return labels["triage_values"].get(decision, decision) if decision else ""


class PerfusionReportAdapter:
    """The perfusion capability's :class:`~workstation.reporting.adapters.ResultAdapter`."""

    kind = "perfusion"
    result_file = RESULT_FILE
    schema = "perfusion"
    #: Findings recomputed from the accepted ones, never accepted as the engine said.
    exam_finding_kinds = ()
    finding_kinds = (PERFUSION,)

    def series_uid(self, document: Mapping[str, Any]) -> str:
        source = document.get("input")
        return str(source.get("series_uid") or "") if isinstance(source, Mapping) else ""

    def findings(
        self, document: Mapping[str, Any], algorithm: Algorithm, labels: Labels
    ) -> Iterable[AIFinding]:
        data = {
            key: document.get(key)
            for key in ("modality", "thresholds", "triage", "qc")
            if key in document
        }
        triage = data.get("triage") or {}
        parts = []
        for rule, name in RULES:
            decision = triage_decision(triage.get(rule))
            if decision:
                parts.append(f"{name}: {labels['triage_values'].get(decision, decision)}")
        yield AIFinding(
            finding_id=PERFUSION,
            kind=PERFUSION,
            title=labels["perfusion_title"],
            algorithm=algorithm,
            measurements=tuple(measurements_of(document, UNITS, labels)),
            summary="; ".join(parts),
            data=data,
        )

    def refreshed(self, findings: Sequence[AIFinding], labels: Labels) -> tuple[AIFinding, ...]:
        return tuple(findings)  # no exam-level finding: the volumes are the finding

    def category(self, finding: AIFinding, labels: Labels) -> str:
        defuse3 = _rule_text(finding, "defuse3", labels)
        return f"DEFUSE 3: {defuse3}" if defuse3 else ""

    def conclusion_line(self, finding: AIFinding, labels: Labels) -> str:
        values = {m.key: m.value for m in finding.measurements}

        def shown(key: str) -> str:
            return format_value(values[key], labels) if key in values else "-"

        return labels.text(
            "perfusion_line",
            core=shown("core_ml"),
            hypoperfusion=shown("hypoperfusion_ml"),
            mismatch=shown("mismatch_ml"),
            ratio=shown("mismatch_ratio"),
            defuse3=_rule_text(finding, "defuse3", labels) or "-",
        )

    def recommendation(self, finding: AIFinding, labels: Labels) -> str:
        return ""

    def summary_box(self, finding: AIFinding, labels: Labels) -> tuple[str, list[str]] | None:
        """The perfusion summary: volumes, both rules with their reasons, raised QC flags."""
        from workstation.reporting.pdf import show_measurement

        lines = [show_measurement(m, labels) for m in finding.measurements]
        triage = finding.data.get("triage") or {}
        for rule, name in RULES:
            shown = _rule_text(finding, rule, labels)
            if shown:
                reasons = "; ".join(triage_reasons(triage.get(rule)))
                lines.append(f"{name}: {shown}" + (f" ({reasons})" if reasons else ""))
        raised = quality_flags(finding.data.get("qc"))
        if raised:
            lines.append("QC: " + ", ".join(raised))
        return labels["perfusion_summary"], lines

    def write_report_dicom(
        self,
        report: Report,
        result: ResultSet,
        out_dir: Path,
        names: Mapping[str, str],
        database_path: Path | None,
        previous_sr: Sequence[Path],
    ) -> dict[str, Path]:
        return {}  # the volumes travel in the PDF, FHIR and HL7 (no SEG of them yet)


ADAPTER = PerfusionReportAdapter()
