"""Lung results in a report: one finding per nodule, and the exam's Lung-RADS and Fleischner.

The exam-level finding is never the engine's word: it is recomputed from the nodules
the physician accepted (Lung-RADS v2022 and Fleischner 2017, by the engine's own rule
tables), every time decisions change and again when the report is signed. Nodules a
named reader accepted in the viewer's review start accepted here, by that reader.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workstation.lung.outputs import LUNG_JSON
from workstation.model.report import AIFinding, Algorithm, Decision
from workstation.reporting.results import measurements_of

if TYPE_CHECKING:
    from workstation.model.report import Report
    from workstation.reporting.results import ResultSet
    from workstation.reporting.templates import Labels

NODULE = "lung-nodule"
EXAM = "lung-rads"
#: UCUM unit of each nodule measurement reports carry, in the order they show them.
NODULE_UNITS = {
    "volume_mm3": "mm3",
    "long_axis_mm": "mm",
    "short_axis_mm": "mm",
    "mean_diameter_mm": "mm",
    "mean_hu": "[hnsf'U]",
    "solid_core_mm": "mm",
}


def _category(value: Any) -> str:
    if isinstance(value, Mapping):
        value = value.get("category")
    return "" if value is None else str(value)


def _location(location: Any) -> str:
    """``right upper lobe`` / ``left lung, lower zone`` from the engine's location record."""
    if isinstance(location, Mapping):
        lung, lobe, zone = (location.get(k) for k in ("lung", "lobe", "zone"))
        if lobe:
            return f"{lung} {lobe}".strip() if lung and str(lung) not in str(lobe) else str(lobe)
        return ", ".join(str(part) for part in (lung, zone) if part)
    return str(location or "")


def _reader_decisions(document: Mapping[str, Any]) -> dict[Any, dict[str, Any]]:
    """Nodule id -> the decision a reader made in the viewer's Lung nodules panel.

    A nodule the reader accepted there starts accepted here, by that reader and at that
    time; everything else (and every file without a ``review``) starts pending.
    """
    review = document.get("review")
    if not isinstance(review, Mapping) or not str(review.get("reader") or "").strip():
        return {}
    try:
        at = datetime.fromisoformat(str(review.get("reviewed_at")))
    except ValueError:
        return {}
    decided = {}
    for entry in review.get("nodules") or ():
        if isinstance(entry, Mapping) and entry.get("decision") == Decision.ACCEPTED.value:
            decided[entry.get("id")] = {
                "decision": Decision.ACCEPTED,
                "decided_by": str(review["reader"]),
                "decided_at": at,
            }
    return decided


def _risk(document: Mapping[str, Any]) -> str:
    fleischner = document.get("fleischner")
    risk = fleischner.get("risk") if isinstance(fleischner, Mapping) else None
    return str(risk or "low")


def _exam_summary(lung_rads: Mapping[str, Any], fleischner: Any, labels: Labels) -> str:
    summary = labels.text("lung_rads", category=_category(lung_rads))
    management = lung_rads.get("management", "")
    if management:
        summary += f": {management}"
    if fleischner:
        advice = fleischner.get("recommendation") if isinstance(fleischner, Mapping) else None
        summary += f". {labels['fleischner']}: {advice or json.dumps(fleischner)}"
    return summary


def exam_of(nodules: Sequence[Mapping[str, Any]], risk: str) -> tuple[dict, dict | None]:
    """Lung-RADS and Fleischner of the exam made of exactly ``nodules`` (lung.json records)."""
    from ai.lung.rules import RuleNodule, fleischner_exam, lung_rads_exam

    inputs = [
        RuleNodule(
            type=str(n["type"]),  # type: ignore[arg-type]
            mean_diameter_mm=float(n["mean_diameter_mm"]),
            solid_core_mm=float(n.get("solid_core_mm") or 0.0),
            status=str((n.get("prior") or {}).get("status") or "baseline"),  # type: ignore[arg-type]
        )
        for n in nodules
    ]
    lung_rads = lung_rads_exam(inputs)
    fleischner = fleischner_exam(inputs, risk)  # type: ignore[arg-type]
    exam = {"category": lung_rads.category, "management": lung_rads.management}
    advice = None
    if fleischner is not None:
        advice = {**fleischner.to_json(), "nodule_id": nodules[fleischner.nodule_index or 0]["id"]}
    return exam, advice


class LungReportAdapter:
    """The lung capability's :class:`~workstation.reporting.adapters.ResultAdapter`."""

    kind = "lung"
    result_file = LUNG_JSON
    schema = "lung"
    #: Findings recomputed from the accepted ones, never accepted as the engine said.
    exam_finding_kinds = (EXAM,)
    finding_kinds = (NODULE, EXAM)

    def series_uid(self, document: Mapping[str, Any]) -> str:
        return str(document.get("series_uid") or "")

    def findings(
        self, document: Mapping[str, Any], algorithm: Algorithm, labels: Labels
    ) -> Iterable[AIFinding]:
        decisions = _reader_decisions(document)
        for nodule in document.get("nodules", ()):
            number = nodule.get("id")
            kind = str(nodule.get("type", ""))
            parts = [labels["nodule_types"].get(kind, kind)]
            if nodule.get("juxtapleural"):
                parts.append(labels["juxtapleural"])
            parts.append(_location(nodule.get("location")))
            category = _category(nodule.get("lung_rads"))
            if category:
                parts.append(labels.text("lung_rads", category=category))
            yield AIFinding(
                finding_id=f"nodule-{number}",
                kind=NODULE,
                title=labels.text("nodule_title", id=number),
                algorithm=algorithm,
                measurements=tuple(measurements_of(nodule, NODULE_UNITS, labels)),
                summary=", ".join(p for p in parts if p),
                data=dict(nodule),
                **decisions.get(number, {}),
            )
        if document.get("lung_rads"):
            lung_rads, fleischner = document["lung_rads"], document.get("fleischner")
            yield AIFinding(
                finding_id=EXAM,
                kind=EXAM,
                title=labels["lung_rads_title"],
                algorithm=algorithm,
                summary=_exam_summary(lung_rads, fleischner, labels),
                data={"lung_rads": lung_rads, "fleischner": fleischner, "risk": _risk(document)},
            )

    def refreshed(self, findings: Sequence[AIFinding], labels: Labels) -> tuple[AIFinding, ...]:
        """The exam finding recomputed from the accepted nodules only (Lung-RADS 1 if none)."""
        accepted = [dict(f.data) for f in findings if f.kind == NODULE and f.accepted]
        refreshed = []
        for finding in findings:
            if finding.kind == EXAM:
                risk = str(finding.data.get("risk") or "low")
                lung_rads, fleischner = exam_of(accepted, risk)
                data = {"lung_rads": lung_rads, "fleischner": fleischner, "risk": risk}
                summary = _exam_summary(lung_rads, fleischner, labels)
                finding = dataclasses.replace(finding, data=data, summary=summary)
            refreshed.append(finding)
        return tuple(refreshed)

    def category(self, finding: AIFinding, labels: Labels) -> str:
        key = "lung_rads"
        category = _category(finding.data.get(key))
        return labels.text("lung_rads", category=category) if category else ""

    def conclusion_line(self, finding: AIFinding, labels: Labels) -> str:
        if finding.kind != NODULE:
            return ""
        values = {m.key: m for m in finding.measurements}

        def shown(key: str, digits: int = 1) -> str:
            return f"{values[key].value:.{digits}f}" if key in values else "-"

        data = finding.data
        kind = str(data.get("type", ""))
        return labels.text(
            "nodule_line",
            id=data.get("id", ""),
            type=labels["nodule_types"].get(kind, kind),
            diameter=shown("mean_diameter_mm"),
            volume=shown("volume_mm3", 0),
            category=_category(data.get("lung_rads")) or "-",
        )

    def recommendation(self, finding: AIFinding, labels: Labels) -> str:
        return f"{finding.title}: {finding.summary}" if finding.kind == EXAM else ""

    def summary_box(self, finding: AIFinding, labels: Labels) -> tuple[str, list[str]] | None:
        return None

    def write_report_dicom(
        self,
        report: Report,
        result: ResultSet,
        out_dir: Path,
        names: Mapping[str, str],
        database_path: Path | None,
        previous_sr: Sequence[Path],
    ) -> dict[str, Path]:
        from workstation.lung.report_objects import write_verified_sr_and_seg

        return write_verified_sr_and_seg(report, result, out_dir, names, database_path, previous_sr)


ADAPTER = LungReportAdapter()
