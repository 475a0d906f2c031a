"""The Perfusion tool: maps, core and penumbra, curves and triage on the open series.

Tools › Perfusion… (Ctrl+Shift+P, on a 4D series) asks for the clinical values the
triage rules need, an optional ADC map of the study and optional arterial and venous
voxels (as ``halong perfusion --adc --aif --vof``), runs the engine as a background job
with progress and Cancel in the status bar, then shows, under a header naming the
patient:

* a map (CBF, CBV, MTT, Tmax or TTP) as a coloured overlay with its legend,
  optionally hiding values below a threshold;
* the core and Tmax > 6 s outlines, in the colours of ``summary.png``;
* the arterial and venous curves, and the curve of the voxel under the crosshair
  (or a probe), in a curves dock;
* the summary card: volumes, mismatch, HIR, DEFUSE 3 and DAWN with their reasons,
  QC warnings, and the AI label with the algorithm's name and version.

"Save Outputs" writes what ``halong perfusion --out`` writes (with its sealed manifest)
into the study's results folder, or a folder the user picks, and tells the reading
context, where the report panel finds it. Each study keeps its own result. The docks
are built on first use: the window opens without pyqtgraph.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDockWidget,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from workstation.perfusion.analysis import PerfusionOptions, adc_choices, analyse, retriage
from workstation.perfusion.display import (
    CORE_LABEL,
    HYPOPERFUSION_LABEL,
    MAPS,
    lesion_centre,
    lesion_labels,
    map_values,
    map_window,
    vascular_curves,
    voxel_curve,
)
from workstation.ui.common.patient_banner import PatientBanner
from workstation.ui.perfusion.widgets import PerfusionDialog, SummaryCard, ml_text
from workstation.ui.shell.analysis_tool import AnalysisTool

if TYPE_CHECKING:
    from ai.perfusion import ClinicalInputs, PerfusionResult
    from viewers.curves import CurvesPanel
    from workstation.dicom.series_input import LoadedSeries
    from workstation.model.context import ReadingContext
    from workstation.model.measurements import Measurement
    from workstation.perfusion.outputs import WrittenOutputs
    from workstation.ui.common.workers import Job
    from workstation.ui.shell.host import PanelHost

#: The map shown first, and the threshold each map starts with when thresholding is on.
DEFAULT_MAP = "tmax"
DEFAULT_THRESHOLDS = {"tmax": 6.0, "mtt": 8.0}
MAP_OPACITY = 0.6
OUTLINE_OPACITY = 1.0
SAVE_FOLDER_KEY = "perfusion/last_output_folder"
CURVES_MIN_HEIGHT = 200
DOCK_WIDTH = 360


@dataclass
class PerfusionAnalysis:
    """One analysis and what it was run on."""

    loaded: LoadedSeries
    options: PerfusionOptions
    result: PerfusionResult
    #: Folders the outputs were saved to.
    saved: list[Path] = field(default_factory=list)


def _lesion_colours() -> dict[int, tuple[float, float, float]]:
    from workstation.perfusion.figures import CORE_RGB, HYPOPERFUSION_RGB

    return {HYPOPERFUSION_LABEL: HYPOPERFUSION_RGB, CORE_LABEL: CORE_RGB}


def _swatch(rgb: tuple[float, float, float], text: str) -> str:
    colour = "#{:02x}{:02x}{:02x}".format(*(round(255 * c) for c in rgb))
    return f"<span style='color:{colour}'>■</span> {text}"


class PerfusionPanel(QWidget):
    """The dock's content: the summary card, the overlay controls, clinical values, save."""

    #: The overlay choice changed (map, threshold or outlines).
    overlay_changed = Signal()

    def __init__(self, context: ReadingContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.banner = PatientBanner(context)
        self.status = QLabel("Run Tools › Perfusion… on a perfusion series.")
        self.status.setWordWrap(True)
        self.card = SummaryCard()
        self.card.hide()
        self.map_choice = QComboBox()
        self.map_choice.addItem("No map", None)
        for name, (label, unit) in MAPS.items():
            self.map_choice.addItem(f"{label} ({unit})", name)
        self.map_choice.setCurrentIndex(self.map_choice.findData(DEFAULT_MAP))
        self.threshold_on = QCheckBox("Hide values below")
        self.threshold = QDoubleSpinBox()
        self.threshold.setDecimals(1)
        self.outlines = QCheckBox("Outlines:")
        self.outlines.setChecked(True)
        colours = _lesion_colours()
        self.outline_legend = QLabel(
            f"{_swatch(colours[CORE_LABEL], 'core')}  "
            f"{_swatch(colours[HYPOPERFUSION_LABEL], 'Tmax > 6 s')}"
        )
        self.clinical_button = QPushButton("Clinical Values…")
        self.clinical_button.setToolTip("Enter age, NIHSS, onset: DEFUSE 3 and DAWN decide again")
        self.save_button = QPushButton("Save for Report")
        self.save_button.setToolTip(
            "Write perfusion.json, NIfTI maps, summary.png and DICOM (as halong perfusion does) "
            "into the study's results, where the report finds them"
        )
        self.save_as_button = QPushButton("Save Outputs To…")
        self.save_as_button.setToolTip("The same files, into a folder you choose")
        self.controls = QWidget()
        rows = QVBoxLayout(self.controls)
        rows.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(QLabel("Map:"))
        row.addWidget(self.map_choice, 1)
        rows.addLayout(row)
        row = QHBoxLayout()
        row.addWidget(self.threshold_on)
        row.addWidget(self.threshold, 1)
        rows.addLayout(row)
        row = QHBoxLayout()
        row.addWidget(self.outlines)
        row.addWidget(self.outline_legend, 1)
        rows.addLayout(row)
        row = QHBoxLayout()
        row.addWidget(self.clinical_button)
        row.addWidget(self.save_button)
        row.addWidget(self.save_as_button)
        rows.addLayout(row)
        self.controls.setEnabled(False)
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addWidget(self.status)
        layout.addWidget(self.card)
        layout.addWidget(self.controls)
        layout.addStretch(1)
        self.map_choice.currentIndexChanged.connect(self._map_chosen)
        self.threshold_on.toggled.connect(self._threshold_toggled)
        self.threshold.valueChanged.connect(lambda _value: self.overlay_changed.emit())
        self.outlines.toggled.connect(lambda _on: self.overlay_changed.emit())
        self._map_chosen()

    @property
    def map_name(self) -> str | None:
        return self.map_choice.currentData()

    @property
    def threshold_value(self) -> float | None:
        """The threshold to apply, or None when thresholding is off (or no map)."""
        if self.map_name is None or not self.threshold_on.isChecked():
            return None
        return self.threshold.value()

    def choose_map(self, name: str | None) -> None:
        self.map_choice.setCurrentIndex(self.map_choice.findData(name))

    def _map_chosen(self) -> None:
        name = self.map_name
        self.threshold_on.setEnabled(name is not None)
        self.threshold.setEnabled(name is not None and self.threshold_on.isChecked())
        if name is not None:
            low, high = map_window(name)
            self.threshold.blockSignals(True)
            self.threshold.setRange(low, high)
            self.threshold.setSuffix(f" {MAPS[name][1]}")
            self.threshold.setValue(DEFAULT_THRESHOLDS.get(name, low))
            self.threshold.blockSignals(False)
        self.overlay_changed.emit()

    def _threshold_toggled(self, on: bool) -> None:
        self.threshold.setEnabled(on and self.map_name is not None)
        self.overlay_changed.emit()

    def clear(self, message: str) -> None:
        """No result for the study being read: the card of another study goes."""
        self.status.setText(message)
        self.card.hide()
        self.card.clear()
        self.controls.setEnabled(False)


class PerfusionCurves(QWidget):
    """Arterial and venous curves above, the crosshair's voxel below (same time axis)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        from viewers.curves import CurvesPanel

        super().__init__(parent)
        self.vascular: CurvesPanel = CurvesPanel("time (s)", "", "Arterial and venous input")
        self.voxel: CurvesPanel = CurvesPanel("time (s)", "", "Voxel at the crosshair")
        self.voxel_position = QLabel("Shift+click (or the crosshair or probe tool) on a voxel.")
        below = QWidget()
        column = QVBoxLayout(below)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.voxel, 1)
        column.addWidget(self.voxel_position)
        layout = QHBoxLayout(self)  # side by side, half each
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.vascular, 1)
        layout.addWidget(below, 1)

    def clear(self) -> None:
        self.vascular.clear()
        self.voxel.clear()
        self.voxel_position.setText("Shift+click (or the crosshair or probe tool) on a voxel.")


class PerfusionTool(AnalysisTool):
    """The Perfusion tool: job, docks, overlays, curves and saving, per study."""

    key = "perfusion"
    title = "Perfusion"

    def __init__(self, host: PanelHost) -> None:
        super().__init__(host)
        self.dialog: PerfusionDialog | None = None
        self.panel: PerfusionPanel | None = None
        self.curves: PerfusionCurves | None = None
        self.curves_dock: QDockWidget | None = None
        self.action = host.add_action(
            "perfusion", "&Perfusion…", "Ctrl+Shift+P", self.start, menu="&Tools",
            tip="Perfusion maps, core and penumbra, DEFUSE 3 / DAWN triage",
        )  # fmt: skip
        self._update_actions()

    # --- running -------------------------------------------------------------------

    def _open_volume(self) -> LoadedSeries | None:
        loaded = self.host.loaded
        return loaded if loaded is not None and loaded.volume.is_4d else None

    def _update_actions(self) -> None:
        if self.action is not None:
            self.action.setEnabled(self._open_volume() is not None and not self.running)

    def _crosshair(self) -> tuple[float, float, float] | None:
        viewer = self.host.viewer
        point = viewer.crosshair if viewer is not None else None
        return None if point is None else (float(point[0]), float(point[1]), float(point[2]))

    def start(self) -> None:
        """Ask for the run's values, then run (the menu action)."""
        loaded = self._open_volume()
        if loaded is None:
            self.host.notify("Open a perfusion (4D) series first")
            return
        if self.running:
            self.host.notify("A perfusion analysis is still running")
            return
        choices = adc_choices(
            self.host.home.database_path,
            loaded.volume.provenance.study_uid,
            loaded.volume.provenance.series_uid,
        )
        dialog = PerfusionDialog(
            self.host.main_widget, adc_choices=choices, crosshair=self._crosshair
        )
        if self.analysis is not None and self.analysis.loaded is loaded:
            dialog.set_inputs(self.analysis.options.clinical)
        dialog.accepted.connect(lambda: self.run(dialog.options()))
        dialog.finished.connect(dialog.deleteLater)
        self.dialog = dialog
        dialog.open()

    def run(self, options: PerfusionOptions) -> Job | None:
        """Analyse the open 4D series in the background; the result is shown when done."""
        loaded = self._open_volume()
        if loaded is None or self.running:
            return None
        self._ensure_docks()
        return self._start_job(
            loaded,
            partial(analyse, loaded, options, self.host.home.database_path),
            lambda result: self._finished(loaded, options, result),
        )

    def _finished(
        self, loaded: LoadedSeries, options: PerfusionOptions, result: PerfusionResult
    ) -> None:
        analysis = PerfusionAnalysis(loaded, options, result)
        if self._finished_elsewhere(analysis):
            return
        self.show_current(first_time=True)
        self.host.notify(
            f"Perfusion done: core {ml_text(result.volumes.core_ml)}, "
            f"Tmax > 6 s {ml_text(result.volumes.hypoperfusion_ml)} (AI-generated; review)",
            15_000,
        )
        self.result_shown.emit(analysis)

    # --- docks -----------------------------------------------------------------------

    def _ensure_docks(self) -> None:
        if self.dock is not None:
            return
        self.panel = PerfusionPanel(self.host.context)
        self.panel.overlay_changed.connect(self._overlay_changed)
        self.panel.clinical_button.clicked.connect(self.edit_clinical)
        self.panel.save_button.clicked.connect(self.save_for_report)
        self.panel.save_as_button.clicked.connect(self.choose_folder_and_save)
        self.dock = self.host.add_dock("Perfusion", "PerfusionDock", self.panel, size=DOCK_WIDTH)
        self.curves = PerfusionCurves()
        self.curves.setMinimumHeight(CURVES_MIN_HEIGHT)
        self.curves_dock = self.host.add_dock(
            "Perfusion Curves",
            "PerfusionCurvesDock",
            self.curves,
            area=Qt.DockWidgetArea.BottomDockWidgetArea,
            beside_tools=False,
            scroll=False,
        )
        self.dock.raise_()

    # --- showing the result ----------------------------------------------------------------

    def show_current(self, first_time: bool = False) -> None:
        """The study's result: card and curves, overlays when the viewer shows the series
        analysed; or cleared, when the study has none."""
        assert self.panel is not None and self.curves is not None
        analysis = self.analysis
        if analysis is None:
            self.panel.clear(self._no_result())
            self.curves.clear()
            return
        result = analysis.result
        self.panel.card.show_result(result, analysis.options.clinical)
        self.panel.card.show()
        self.curves.vascular.set_labels("time (s)", result.aif.unit, "Arterial and venous input")
        self.curves.voxel.set_labels("time (s)", result.aif.unit, "Voxel at the crosshair")
        self.curves.vascular.set_curves(
            {name: (curve.times_s, curve.values) for name, curve in vascular_curves(result).items()}
        )
        if first_time:
            self.curves.voxel.clear()
        self._show_on_viewer(first_time)

    def _show_on_viewer(self, first_time: bool = False) -> None:
        """Overlays and curves on the viewer, when it shows the series analysed."""
        assert self.panel is not None and self.analysis is not None
        on_screen = self._say_whose_result()
        self.panel.controls.setEnabled(on_screen)
        if not on_screen:
            return
        viewer = self.host.viewer
        assert viewer is not None
        if not self._clicks_connected:
            viewer.measurement_added.connect(self._probe_placed)
        self._follow_clicks(self.show_voxel)
        self.apply_overlays()
        if first_time:
            centre = lesion_centre(self.analysis.result, self.analysis.loaded.volume)
            if centre is not None:
                viewer.go_to(centre)
                self.show_voxel(centre)

    def _overlay_changed(self) -> None:
        if self._result_on_screen():
            self.apply_overlays()

    def apply_overlays(self) -> None:
        """The chosen map (with its legend and threshold) and the lesion outlines."""
        if not self._result_on_screen():
            return
        assert self.panel is not None and self.analysis is not None
        viewer = self.host.viewer
        assert viewer is not None
        result = self.analysis.result
        viewer.clear_overlays()
        name = self.panel.map_name
        if name is not None:
            label, unit = MAPS[name]
            viewer.set_parametric_overlay(
                map_values(result, name),
                lut="rainbow",
                value_range=map_window(name),
                threshold=self.panel.threshold_value,
                title=f"AI {label} ({unit})",
                opacity=MAP_OPACITY,
            )
        if self.panel.outlines.isChecked():
            viewer.set_label_overlay(
                lesion_labels(result), _lesion_colours(), OUTLINE_OPACITY, outline=True
            )

    # --- curves -----------------------------------------------------------------------

    def show_voxel(self, lps: Sequence[float]) -> None:
        """Plot the curve of the voxel at ``lps`` (the crosshair moved there)."""
        if not self._result_on_screen() or self.curves is None:
            return
        assert self.analysis is not None
        curve = voxel_curve(self.analysis.loaded.volume, self.analysis.result, lps)
        if curve is None:
            return
        x, y, z = (float(c) for c in lps)
        self.curves.voxel.set_curves({"voxel": (curve.times_s, curve.values)})
        self.curves.voxel_position.setText(f"Voxel at LPS {x:.1f}, {y:.1f}, {z:.1f} mm")

    def _probe_placed(self, measurement: Measurement) -> None:
        if str(measurement.kind) == "probe" and measurement.points:
            self.show_voxel(measurement.points[0])

    # --- clinical values and saving --------------------------------------------------------

    def edit_clinical(self) -> None:
        """Ask for the clinical values again; DEFUSE 3 and DAWN decide again at once."""
        if self.analysis is None:
            return
        dialog = PerfusionDialog(self.host.main_widget, run_options=False)
        dialog.set_inputs(self.analysis.options.clinical)
        dialog.accepted.connect(lambda: self.set_clinical(dialog.inputs()))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def set_clinical(self, clinical: ClinicalInputs) -> None:
        analysis = self.analysis
        if analysis is None or self.panel is None:
            return
        analysis.options = dataclasses.replace(analysis.options, clinical=clinical)
        retriage(analysis.result, clinical)
        self.panel.card.show_result(analysis.result, clinical)

    def results_folder(self, analysis: PerfusionAnalysis) -> Path:
        """A new folder under the study's results for this save."""
        return self.host.home.new_result_folder(analysis.loaded.study_key, self.key)

    def save_for_report(self) -> Job | None:
        """Write the outputs into the study's results, where the report panel finds them."""
        if self.analysis is None:
            return None
        return self.save_to(self.results_folder(self.analysis))

    def choose_folder_and_save(self) -> None:
        if self.analysis is None:
            return
        from workstation.ui.common.settings import read_text

        start = read_text(self.host.settings, SAVE_FOLDER_KEY)
        folder = QFileDialog.getExistingDirectory(
            self.host.main_widget, "Save the perfusion outputs into a folder", start
        )
        if folder:
            self.host.settings.setValue(SAVE_FOLDER_KEY, folder)
            self.save_to(Path(folder))

    def save_to(self, folder: Path) -> Job | None:
        """Write the outputs into ``folder`` in the background (as ``halong perfusion``)."""
        from workstation.perfusion.outputs import save_outputs

        analysis = self.analysis
        if analysis is None:
            return None
        job = self.host.jobs.submit(
            "save perfusion outputs",
            partial(
                save_outputs,
                analysis.result,
                analysis.loaded,
                Path(folder),
                self.host.home.result_seal_key(),
            ),
            on_result=lambda written: self._saved(analysis, written),
            on_error=partial(self.host.show_error, "Perfusion outputs not saved"),
        )
        self.host.progress.track(job, f"Saving perfusion outputs to {Path(folder).name}")
        return job

    def _saved(self, analysis: PerfusionAnalysis, written: WrittenOutputs) -> None:
        analysis.saved.append(written.folder)
        self.host.context.add_result(self.key, written.folder, analysis.loaded.study_key)
        self.host.notify(
            f"Perfusion outputs saved to {written.folder} ({len(written.files)} files)", 10_000
        )
        self.saved.emit(written.folder)
