"""The Perfusion panel's parts: the run dialog (clinical values, ADC map, AIF/VOF) and
the summary card.

Both only show and collect values; :mod:`workstation.ui.perfusion.panel` wires them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from workstation.ui.common.form_dialog import lay_out_form_dialog, note_label
from workstation.ui.common.styles import AI_LABEL_STYLE

if TYPE_CHECKING:
    from ai.perfusion import ClinicalInputs, PerfusionResult
    from workstation.dicom.series_input import SeriesRequest
    from workstation.perfusion.analysis import PerfusionOptions

#: Where the crosshair is (LPS mm), or None: what "Use Crosshair" fills in.
CrosshairAt = Callable[[], "tuple[float, float, float] | None"]

NOT_GIVEN = "not given"
STATUS_COLOURS = {"eligible": "#3ec46d", "not eligible": "#ff6b6b", "needs input": "#ffb000"}


def ai_label_text(result: PerfusionResult) -> str:
    """The label every AI result shows: algorithm name and version, and what to do."""
    algorithm = result.algorithm
    return f"AI-generated — {algorithm['name']} {algorithm['version']}; review before use"


def _optional_spin(box: QSpinBox | QDoubleSpinBox, high: float, suffix: str = "") -> None:
    """The minimum (-1) means "not given": the rules then say "needs input"."""
    box.setRange(-1, high)
    box.setSpecialValueText(NOT_GIVEN)
    box.setSuffix(suffix)
    box.setValue(-1)


def _point_text(point: Sequence[float] | None) -> str:
    return "" if point is None else ", ".join(f"{value:.1f}" for value in point)


def parse_point(text: str) -> tuple[float, float, float] | None:
    """``X, Y, Z`` in LPS mm; empty means "find it automatically". ValueError otherwise."""
    if not text.strip():
        return None
    parts = [part for part in text.replace(";", ",").split(",") if part.strip()]
    if len(parts) != 3:
        raise ValueError(f"expected X, Y, Z in LPS mm, got {text!r}")
    x, y, z = (float(part) for part in parts)
    return x, y, z


class PointField(QWidget):
    """An LPS point typed or taken from the crosshair; empty means automatic."""

    def __init__(self, crosshair: CrosshairAt, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.text = QLineEdit()
        self.text.setPlaceholderText("automatic")
        use = QPushButton("Use Crosshair")
        use.setToolTip("Put the crosshair on the vessel first, then press this")
        use.clicked.connect(lambda: self.text.setText(_point_text(crosshair())))
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.text, 1)
        row.addWidget(use)

    def point(self) -> tuple[float, float, float] | None:
        return parse_point(self.text.text())


class PerfusionDialog(QDialog):
    """Age, NIHSS and hours since last known well (each may stay "not given"); with
    ``run_options``, also the ADC map and the arterial and venous voxels, as
    ``halong perfusion --adc --aif --vof`` takes them."""

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        run_options: bool = True,
        adc_choices: Sequence[SeriesRequest] = (),
        crosshair: CrosshairAt = lambda: None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(
            "Perfusion — analyse this series" if run_options else "Perfusion — clinical values"
        )
        self.age = QSpinBox()
        _optional_spin(self.age, 120, " years")
        self.nihss = QSpinBox()
        _optional_spin(self.nihss, 42)
        self.onset_hours = QDoubleSpinBox()
        self.onset_hours.setDecimals(1)
        self.onset_hours.setSingleStep(0.5)
        _optional_spin(self.onset_hours, 168.0, " h")
        form = QFormLayout()
        form.addRow("&Age:", self.age)
        form.addRow("&NIHSS:", self.nihss)
        form.addRow("&Hours since last known well:", self.onset_hours)
        self.adc = QComboBox()
        self.adc.addItem("None (CT, or MR without ADC)", None)
        for request in adc_choices:
            self.adc.addItem(request.label, request)
        self.aif = PointField(crosshair)
        self.vof = PointField(crosshair)
        self.message = QLabel()
        self.message.setStyleSheet("color: #ff6b6b;")
        if run_options:
            form.addRow("A&DC map (MR core):", self.adc)
            form.addRow("Arterial &input voxel (LPS mm):", self.aif)
            form.addRow("&Venous output voxel (LPS mm):", self.vof)
        note = note_label(
            "DEFUSE 3 and DAWN need the clinical values. Leave a value “not given” and the "
            "rule says “needs input”; you can enter it later without re-running."
        )
        self.ok_button = lay_out_form_dialog(self, form, note, self.message)

    def accept(self) -> None:
        """Close only with points that read as X, Y, Z (else say why and stay open)."""
        try:
            self.aif.point(), self.vof.point()
        except ValueError as error:
            self.message.setText(str(error))
            return
        self.message.clear()
        super().accept()

    def set_inputs(self, clinical: ClinicalInputs) -> None:
        self.age.setValue(-1 if clinical.age_years is None else round(clinical.age_years))
        self.nihss.setValue(-1 if clinical.nihss is None else clinical.nihss)
        hours = clinical.onset_hours
        self.onset_hours.setValue(-1.0 if hours is None else hours)

    def inputs(self) -> ClinicalInputs:
        from ai.perfusion import ClinicalInputs

        hours = self.onset_hours.value()
        return ClinicalInputs(
            age_years=None if self.age.value() < 0 else float(self.age.value()),
            nihss=None if self.nihss.value() < 0 else self.nihss.value(),
            onset_hours=None if hours < 0 else hours,
        )

    def options(self) -> PerfusionOptions:
        """Everything chosen (the points were checked when the dialog was accepted)."""
        from workstation.perfusion.analysis import PerfusionOptions

        aif, vof = self.aif.point(), self.vof.point()
        return PerfusionOptions(
            clinical=self.inputs(), adc=self.adc.currentData(), aif_lps_mm=aif, vof_lps_mm=vof
        )


def ml_text(value: float | None) -> str:
    """A volume as the card shows it (``n/a`` when not measured)."""
    return "n/a" if value is None else f"{value:.1f} ml"


def _number(value: float | None) -> str:
    if value is None:
        return "n/a"
    return "∞" if math.isinf(value) else f"{value:.2f}"


def clinical_text(clinical: ClinicalInputs) -> str:
    age = NOT_GIVEN if clinical.age_years is None else f"{clinical.age_years:g}"
    nihss = NOT_GIVEN if clinical.nihss is None else str(clinical.nihss)
    hours = NOT_GIVEN if clinical.onset_hours is None else f"{clinical.onset_hours:g} h"
    return f"Age {age}, NIHSS {nihss}, last known well {hours} ago"


class SummaryCard(QFrame):
    """Volumes, ratio, HIR, DEFUSE 3 and DAWN with their reasons, QC warnings, AI label."""

    #: Rows of the volume table: (key, heading); the heading of "core" names its source.
    ROWS = (
        ("core_ml", "Core"),
        ("hypoperfusion_ml", "Tmax > 6 s"),
        ("mismatch_ml", "Mismatch volume"),
        ("mismatch_ratio", "Mismatch ratio"),
        ("tmax_gt10_ml", "Tmax > 10 s"),
        ("hir", "HIR (Tmax>10 / Tmax>6)"),
    )

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.ai_label = QLabel()
        self.ai_label.setObjectName("PerfusionAiLabel")
        self.ai_label.setStyleSheet(AI_LABEL_STYLE)
        self.ai_label.setWordWrap(True)
        grid = QGridLayout()
        self.headings: dict[str, QLabel] = {}
        self.values: dict[str, QLabel] = {}
        for row, (key, heading) in enumerate(self.ROWS):
            self.headings[key] = QLabel(heading)
            self.values[key] = QLabel()
            self.values[key].setObjectName(f"perfusion_{key}")
            self.values[key].setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.values[key].setAlignment(Qt.AlignmentFlag.AlignRight)
            grid.addWidget(self.headings[key], row, 0)
            grid.addWidget(self.values[key], row, 1)
        self.clinical = QLabel()
        self.triage: dict[str, QLabel] = {"defuse3": QLabel(), "dawn": QLabel()}
        self.qc = QLabel()
        for label in (self.clinical, *self.triage.values(), self.qc):
            label.setWordWrap(True)
            label.setTextFormat(Qt.TextFormat.RichText)
        layout = QVBoxLayout(self)
        layout.addWidget(self.ai_label)
        layout.addLayout(grid)
        layout.addWidget(self.clinical)
        layout.addWidget(self.triage["defuse3"])
        layout.addWidget(self.triage["dawn"])
        layout.addWidget(self.qc)

    def clear(self) -> None:
        """Nothing of a result stays (another study's numbers must never show)."""
        for label in (*self.values.values(), self.ai_label, self.clinical, self.qc):
            label.clear()
        for label in self.triage.values():
            label.clear()

    def show_result(self, result: PerfusionResult, clinical: ClinicalInputs) -> None:
        volumes = result.volumes
        thresholds = result.thresholds
        core_source = thresholds.get("core_source") or "no core measured"
        if core_source == "relative CBF":
            core_source = f"rCBF < {100 * float(thresholds['core_relative_cbf']):g} %"
        self.headings["core_ml"].setText(f"Core ({core_source})")
        shown = {
            "core_ml": ml_text(volumes.core_ml),
            "hypoperfusion_ml": ml_text(volumes.hypoperfusion_ml),
            "mismatch_ml": ml_text(volumes.mismatch_ml),
            "mismatch_ratio": _number(volumes.mismatch_ratio),
            "tmax_gt10_ml": ml_text(volumes.tmax_gt10_ml),
            "hir": _number(volumes.hir),
        }
        for key, text in shown.items():
            self.values[key].setText(text)
        self.ai_label.setText(ai_label_text(result))
        self.clinical.setText(clinical_text(clinical))
        self.show_triage(result)
        raised = [flag for flag in result.qc.flags if flag.raised]
        lines = [f"⚠ {flag.name.replace('_', ' ')}: {flag.message}" for flag in raised]
        lines += [f"note: {note}" for note in result.qc.notes]
        heading = "<b>QC warnings</b>" if raised else "<b>QC</b>: no flags raised"
        self.qc.setText("<br>".join([heading, *(_escape(line) for line in lines)]))

    def show_triage(self, result: PerfusionResult) -> None:
        for key, decision in (("defuse3", result.defuse3), ("dawn", result.dawn)):
            colour = STATUS_COLOURS.get(decision.status, "white")
            reasons = "".join(f"<li>{_escape(reason)}</li>" for reason in decision.reasons)
            self.triage[key].setText(
                f"<b>{_escape(decision.rule)}</b>: "
                f"<span style='color:{colour}; font-weight:bold'>{decision.status}</span>"
                f"<ul style='margin:0'>{reasons}</ul>"
            )


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
