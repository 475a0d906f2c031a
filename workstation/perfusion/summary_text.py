"""What a perfusion summary says, in Vietnamese or English, from ``labels.<language>.json``.

Words come from the report labels (``perfusion_image`` holds those only the picture
uses), so the picture and the signed report name things alike. Numbers are the reported
(rounded) values the triage decided on. The engine has no large-vessel occlusion input,
so an "eligible" DEFUSE 3 or DAWN decision is worded as conditional on one.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from workstation.perfusion.summary_header import ResultTime
from workstation.reporting.templates import Labels

if TYPE_CHECKING:
    from ai.perfusion.result import PerfusionResult
    from ai.perfusion.triage import TriageDecision


def shown(value: object, labels: Labels, unit: str = "") -> str:
    """A reported value: "12.3 mL", "∞" for a ratio without core, "n/a" when not measured."""
    if value is None:
        return labels["perfusion_image"]["not_measured"]
    if value == "inf" or (isinstance(value, float) and math.isinf(value)):
        return "∞"
    return f"{value}{unit}"


def duration(seconds: float, labels: Labels) -> str:
    """``3 phút 20 giây`` / ``3 min 20 s``: hours and minutes only once they are reached."""
    units = labels["perfusion_image"]["duration_units"]
    hours, rest = divmod(round(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(hours, "h"), (minutes, "min"), (secs, "s")]
    while len(parts) > 1 and parts[0][0] == 0:
        parts.pop(0)
    return " ".join(f"{value} {units[unit]}" for value, unit in parts)


def result_time_line(time: ResultTime, labels: Labels) -> str:
    words = labels["perfusion_image"]
    since = words["since_last_image"] if time.since_last_image else words["analysis_time"]
    return f"{since}: {duration(time.seconds, labels)}"


def triage_line(decision: TriageDecision, labels: Labels) -> str:
    """``DEFUSE 3: đủ tiêu chuẩn nếu xác nhận tắc mạch máu lớn`` (LVO is never assessed)."""
    if decision.status == "eligible":
        status = labels["perfusion_image"]["eligible_if_lvo"]
    else:
        status = labels["triage_values"][decision.status]
    return f"{decision.rule}: {status}"


def qc_line(result: PerfusionResult, labels: Labels) -> str:
    words = labels["perfusion_image"]
    raised = ", ".join(flag.name for flag in result.qc.raised) or words["no_qc_flags"]
    return f"{words['qc']}: {raised}"


def core_threshold(result: PerfusionResult) -> str:
    """The core's definition as used: "rCBF < 30%", "ADC < 620", or "" without a core."""
    thresholds = result.thresholds
    if result.lesions.core_source == "ADC":
        return f"ADC < {thresholds['adc_core_1e-6_mm2_per_s']:g}"
    if result.lesions.core_source is None:
        return ""
    return f"rCBF < {100 * float(thresholds['core_relative_cbf']):g}%"


def hypoperfusion_threshold(result: PerfusionResult) -> str:
    return f"Tmax > {result.thresholds['hypoperfusion_tmax_s']:g} s"


def volume_lines(result: PerfusionResult, labels: Labels) -> list[tuple[str, str, str]]:
    """(key, label, value) of core, Tmax > 6 s, mismatch volume and ratio, and HIR."""
    data = result.to_json()
    core_label = (
        labels["perfusion_image"]["core_adc"]
        if result.lesions.core_source == "ADC"
        else labels.measurement("core_ml")
    )
    return [
        ("core_ml", core_label, shown(data["core_ml"], labels, " mL")),
        *(
            (key, labels.measurement(key), shown(data[key], labels, unit))
            for key, unit in (
                ("hypoperfusion_ml", " mL"),
                ("mismatch_ml", " mL"),
                ("mismatch_ratio", ""),
                ("hir", ""),
            )
        ),
    ]
