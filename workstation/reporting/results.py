"""AI results (``lung.json``, ``perfusion.json``) as findings a physician can accept.

Each nodule of ``lung.json`` becomes one finding, its exam-level Lung-RADS and
Fleischner advice another, and the volumes and triage of ``perfusion.json`` one
more: the physician accepts or rejects each on its own. Every finding starts
``pending`` and carries the algorithm's name and version from the result file, except
nodules a named reader already accepted in the viewer (``lung.json``'s ``review``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from workstation.model.report import AIFinding, Algorithm, Decision, Measurement
from workstation.reporting.templates import Labels

RESULT_FILES = {"lung": "lung.json", "perfusion": "perfusion.json"}

#: UCUM unit of each measurement key the engines write.
UNITS = {
    "volume_mm3": "mm3",
    "long_axis_mm": "mm",
    "short_axis_mm": "mm",
    "mean_diameter_mm": "mm",
    "solid_core_mm": "mm",
    "mean_hu": "[hnsf'U]",
    "core_ml": "mL",
    "hypoperfusion_ml": "mL",
    "tmax_gt10_ml": "mL",
    "mismatch_ml": "mL",
    "mismatch_ratio": "1",
    "hir": "1",
}
NODULE_MEASUREMENTS = (
    "volume_mm3",
    "long_axis_mm",
    "short_axis_mm",
    "mean_diameter_mm",
    "mean_hu",
    "solid_core_mm",
)
PERFUSION_MEASUREMENTS = (
    "core_ml",
    "hypoperfusion_ml",
    "tmax_gt10_ml",
    "mismatch_ml",
    "mismatch_ratio",
    "hir",
)


class ResultError(Exception):
    """A result folder holds no result we can read."""


@dataclass(frozen=True)
class ResultSet:
    """What one engine wrote into one folder."""

    folder: Path
    kind: str  # "lung" | "perfusion"
    document: Mapping[str, Any]
    algorithm: Algorithm
    findings: tuple[AIFinding, ...]

    @property
    def modality(self) -> str:
        return str(self.document.get("modality") or "CT")

    @property
    def series_uid(self) -> str:
        # lung.json has it at the top; perfusion.json under "input"
        nested = self.document.get("input")
        nested_uid = nested.get("series_uid") if isinstance(nested, Mapping) else None
        return str(self.document.get("series_uid") or nested_uid or "")

    @property
    def dicom_files(self) -> list[Path]:
        # lung writes its DICOM beside the JSON, perfusion into dicom/
        return sorted([*self.folder.glob("*.dcm"), *self.folder.glob("dicom/*.dcm")])

    @property
    def images(self) -> list[Path]:
        """PNG pictures the engine drew (e.g. perfusion ``summary.png``)."""
        return sorted(self.folder.glob("*.png"))


def load_results(folder: str | Path, labels: Labels) -> ResultSet:
    """Read the result file in ``folder`` and turn it into pending findings."""
    folder = Path(folder)
    for kind, name in RESULT_FILES.items():
        path = folder / name
        if path.is_file():
            document = json.loads(path.read_text(encoding="utf-8"))
            algorithm = _algorithm(document, default_name=f"halong-{kind}")
            builder = _lung_findings if kind == "lung" else _perfusion_findings
            findings = tuple(builder(document, algorithm, labels))
            return ResultSet(folder, kind, document, algorithm, findings)
    names = " or ".join(RESULT_FILES.values())
    raise ResultError(f"{folder}: no {names} found")


def _algorithm(document: Mapping[str, Any], default_name: str) -> Algorithm:
    algorithm = document.get("algorithm") or {}
    return Algorithm(
        name=str(algorithm.get("name") or default_name),
        version=str(algorithm.get("version") or "unknown"),
        device=str(algorithm.get("device") or ""),
    )


def _number(value: Any) -> float | None:
    """A float from a JSON value; ``"inf"``/``"Infinity"``/``null`` ratios included."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.inf if str(value).strip().lower() in {"∞", "infinite"} else None


def _measurements(record: Mapping[str, Any], keys: Iterable[str], labels: Labels):
    for key in keys:
        value = _number(record.get(key))
        if value is not None:
            yield Measurement(key, labels.measurement(key), value, UNITS[key])


def format_value(value: float, labels: Labels, digits: int = 1) -> str:
    return labels["infinite"] if math.isinf(value) else f"{value:.{digits}f}"


def _category(value: Any) -> str:
    if isinstance(value, Mapping):
        value = value.get("category")
    return "" if value is None else str(value)


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


def _lung_findings(document: Mapping[str, Any], algorithm: Algorithm, labels: Labels):
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
            kind="lung-nodule",
            title=labels.text("nodule_title", id=number),
            algorithm=algorithm,
            measurements=tuple(_measurements(nodule, NODULE_MEASUREMENTS, labels)),
            summary=", ".join(p for p in parts if p),
            data=dict(nodule),
            **decisions.get(number, {}),
        )
    lung_rads = document.get("lung_rads")
    if lung_rads:
        management = lung_rads.get("management", "") if isinstance(lung_rads, Mapping) else ""
        summary = labels.text("lung_rads", category=_category(lung_rads))
        if management:
            summary += f": {management}"
        fleischner = document.get("fleischner")
        if fleischner:
            advice = fleischner.get("recommendation") if isinstance(fleischner, Mapping) else None
            advice = advice or (fleischner if isinstance(fleischner, str) else None)
            advice = advice or json.dumps(fleischner, ensure_ascii=False)
            summary += f". {labels['fleischner']}: {advice}"
        yield AIFinding(
            finding_id="lung-rads",
            kind="lung-rads",
            title=labels["lung_rads_title"],
            algorithm=algorithm,
            summary=summary,
            data={"lung_rads": lung_rads, "fleischner": fleischner},
        )


def _location(location: Any) -> str:
    """``right upper lobe`` / ``left lung, lower zone`` from the engine's location record."""
    if isinstance(location, Mapping):
        lung, lobe, zone = (location.get(k) for k in ("lung", "lobe", "zone"))
        if lobe:
            return f"{lung} {lobe}".strip() if lung and str(lung) not in str(lobe) else str(lobe)
        return ", ".join(str(part) for part in (lung, zone) if part)
    return str(location or "")


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


def _perfusion_findings(document: Mapping[str, Any], algorithm: Algorithm, labels: Labels):
    triage = document.get("triage") or {}
    parts = []
    for rule, label in (("defuse3", "DEFUSE 3"), ("dawn", "DAWN")):
        decision = triage_decision(triage.get(rule))
        if decision:
            parts.append(f"{label}: {labels['triage_values'].get(decision, decision)}")
    yield AIFinding(
        finding_id="perfusion",
        kind="perfusion",
        title=labels["perfusion_title"],
        algorithm=algorithm,
        measurements=tuple(_measurements(document, PERFUSION_MEASUREMENTS, labels)),
        summary="; ".join(parts),
        data={
            key: document.get(key)
            for key in ("modality", "thresholds", "triage", "qc")
            if key in document
        },
    )
