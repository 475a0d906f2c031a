"""The side panel: layout, window/level presets, 3D presets, slab, tools, measurements.

Buttons are bound to the window's menu actions (one action, one shortcut, one
checked state, whether clicked here or chosen from the menu); the slab controls
have no menu twin and report through :attr:`ToolsPanel.slab_changed`.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from workstation.model.context import ReadingContext
from workstation.ui.common.patient_banner import PatientBanner
from workstation.ui.reading.measurements_panel import MeasurementsPanel

SLAB_MODES = {"Off": "none", "MIP": "mip", "MinIP": "minip", "Mean": "mean"}
DEFAULT_SLAB_MM = 10.0


def _button_grid(title: str, actions: Sequence[QAction], columns: int) -> QGroupBox:
    box = QGroupBox(title)
    grid = QGridLayout(box)
    grid.setContentsMargins(4, 4, 4, 4)
    for position, action in enumerate(actions):
        button = QToolButton()
        button.setDefaultAction(action)
        button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        grid.addWidget(button, position // columns, position % columns)
    return box


class ToolsPanel(QWidget):
    """Controls for the viewer beside it, and the measurements of the open study."""

    #: (mode: "none" | "mip" | "minip" | "mean", thickness in mm)
    slab_changed = Signal(str, float)

    def __init__(
        self,
        *,
        layouts: Sequence[QAction],
        presets: Sequence[QAction],
        volume_presets: Sequence[QAction],
        tools: Sequence[QAction],
        context: ReadingContext,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.banner = PatientBanner(context)
        self.slab_mode = QComboBox()
        self.slab_mode.addItems(list(SLAB_MODES))
        self.slab_mode.setToolTip("Thick-slab projection of the slice views")
        self.slab_thickness = QDoubleSpinBox()
        self.slab_thickness.setRange(1.0, 200.0)
        self.slab_thickness.setSingleStep(1.0)
        self.slab_thickness.setSuffix(" mm")
        self.slab_thickness.setValue(DEFAULT_SLAB_MM)
        self.slab_thickness.setEnabled(False)
        slab = QGroupBox("Slab")
        slab_form = QFormLayout(slab)
        slab_form.addRow("Mode", self.slab_mode)
        slab_form.addRow("Thickness", self.slab_thickness)

        self.measurements = MeasurementsPanel()
        measurements = QGroupBox("Measurements")
        measurements_layout = QVBoxLayout(measurements)
        measurements_layout.setContentsMargins(4, 4, 4, 4)
        measurements_layout.addWidget(self.banner)  # whose measurements these are
        measurements_layout.addWidget(self.measurements)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(_button_grid("Layout", layouts, 3))
        layout.addWidget(_button_grid("Window / level", presets, 2))
        layout.addWidget(_button_grid("3D rendering", volume_presets, 2))
        layout.addWidget(slab)
        layout.addWidget(_button_grid("Tools", tools, 2))
        layout.addWidget(measurements, 1)

        self.slab_mode.currentTextChanged.connect(self._emit_slab)
        self.slab_thickness.valueChanged.connect(self._emit_slab)

    def slab(self) -> tuple[str, float]:
        return SLAB_MODES[self.slab_mode.currentText()], self.slab_thickness.value()

    def _emit_slab(self) -> None:
        mode, thickness = self.slab()
        self.slab_thickness.setEnabled(mode != "none")
        self.slab_changed.emit(mode, thickness)
