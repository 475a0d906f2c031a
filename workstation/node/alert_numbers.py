"""The key numbers of a result, as an alert carries them to the web page, the API and the EMR.

Read from the findings the result's adapter made (never from the raw file): for
perfusion the volumes and ratios with the engine's DEFUSE 3 and DAWN decisions; for
lung the exam's Lung-RADS category, the nodule count and the largest long axis. Values
are JSON-safe: an infinite mismatch ratio (no core) is the string ``"inf"``, as in
``perfusion.json``. The lines are what people read, in the report's words.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from workstation.lung.report_adapter import EXAM, NODULE
from workstation.perfusion.report_adapter import PERFUSION, RULES, triage_decision
from workstation.reporting.pdf import show_measurement
from workstation.reporting.results import ResultSet
from workstation.reporting.templates import Labels


def json_number(value: float) -> float | str:
    return "inf" if math.isinf(value) else round(value, 2)


def key_numbers(result: ResultSet, labels: Labels) -> tuple[dict[str, Any], list[str]]:
    """(values by key, lines to show) for ``result``."""
    values: dict[str, Any] = {}
    lines: list[str] = []
    for finding in result.findings:
        if finding.kind == PERFUSION:
            for measurement in finding.measurements:
                values[measurement.key] = json_number(measurement.value)
                lines.append(show_measurement(measurement, labels))
            triage = finding.data.get("triage") or {}
            for rule, name in RULES:
                decision = triage_decision(triage.get(rule))
                if decision:
                    values[rule] = decision
                    lines.append(f"{name}: {decision}")
        elif finding.kind == EXAM:
            exam = finding.data.get("lung_rads")
            if isinstance(exam, Mapping) and exam.get("category") is not None:
                values["lung_rads"] = str(exam["category"])
    if result.kind == "lung":
        nodules = [f for f in result.findings if f.kind == NODULE]
        values["nodules"] = len(nodules)
        axes = [m for f in nodules for m in f.measurements if m.key == "long_axis_mm"]
        if "lung_rads" in values:
            lines.append(f"Lung-RADS {values['lung_rads']}")
        lines.append(f"Nodules: {len(nodules)}")
        if axes:
            longest = max(axes, key=lambda m: m.value)
            values["long_axis_mm"] = json_number(longest.value)
            lines.append(f"Largest {show_measurement(longest, labels).lower()}")
    return values, lines
