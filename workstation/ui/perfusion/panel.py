"""The Stroke action: perfusion maps, core and penumbra, curves and triage on the open series.

Tools › Stroke Perfusion… (Ctrl+Shift+P, on a 4D series) asks for the clinical
values the triage rules need, runs the engine (:func:`ai.perfusion.run_perfusion`)
as a background job with progress and Cancel in the status bar, then shows:

* a map (CBF, CBV, MTT, Tmax or TTP) as a coloured overlay with its legend,
  optionally hiding values below a threshold;
* the core and Tmax > 6 s outlines, in the colours of ``summary.png``;
* the arterial and venous curves, and the curve of the voxel under the crosshair
  (or a probe), in a curves dock;
* the summary card: volumes, mismatch, HIR, DEFUSE 3 and DAWN with their reasons,
  QC warnings, and the AI label with the algorithm's name and version.

"Save outputs…" writes what ``halong perfusion --out`` writes, so ``halong report``
and the report panel can use the folder. The docks are built on first use: the
window opens without pyqtgraph.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
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

from workstation.perfusion.analysis import PerfusionOptions, analyse, retriage
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
from workstation.perfusion.outputs import save_outputs
from workstation.ui.perfusion.widgets import ClinicalDialog, SummaryCard, ml_text
from workstation.ui.shell.analysis_tool import AnalysisTool
from workstation.ui.shell.docks import add_panel_dock

if TYPE_CHECKING:
    from ai.perfusion import ClinicalInputs, PerfusionResult
    from viewers.curves import CurvesPanel
    from workstation.dicom.series_input import LoadedSeries
    from workstation.model.measurements import Measurement
    from workstation.perfusion.outputs import WrittenOutputs
    from workstation.ui.shell.main_window import MainWindow
    from workstation.ui.shell.workers import Job

#: The map shown first, and the threshold each map starts with when thresholding is on.
DEFAULT_MAP = "tmax"
DEFAULT_THRESHOLDS = {"tmax": 6.0, "mtt": 8.0}
MAP_OPACITY = 0.6
OUTLINE_OPACITY = 1.0
SAVE_FOLDER_KEY = "stroke/last_output_folder"
CURVES_MIN_HEIGHT = 200
DOCK_WIDTH = 360


@dataclass
class StrokeAnalysis:
    """One analysis and what it was run on."""

    loaded: LoadedSeries
    clinical: ClinicalInputs
    result: PerfusionResult
    #: Folders the outputs were saved to.
    saved: list[Path] = field(default_factory=list)


def _lesion_colours() -> dict[int, tuple[float, float, float]]:
    from workstation.perfusion.figures import CORE_RGB, HYPOPERFUSION_RGB

    return {HYPOPERFUSION_LABEL: HYPOPERFUSION_RGB, CORE_LABEL: CORE_RGB}


def _swatch(rgb: tuple[float, float, float], text: str) -> str:
    colour = "#{:02x}{:02x}{:02x}".format(*(round(255 * c) for c in rgb))
    return f"<span style='color:{colour}'>■</span> {text}"


class StrokePanel(QWidget):
    """The dock's content: the summary card, the overlay controls, clinical values, save."""

    #: The overlay choice changed (map, threshold or outlines).
    overlay_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.status = QLabel("Run Tools › Stroke Perfusion… on a perfusion series.")
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
        self.save_button = QPushButton("Save Outputs…")
        self.save_button.setToolTip(
            "Write perfusion.json, NIfTI maps, summary.png and DICOM (as halong perfusion does)"
        )
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
        rows.addLayout(row)
        self.controls.setEnabled(False)
        layout = QVBoxLayout(self)
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


class StrokeCurves(QWidget):
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


class StrokeTool(AnalysisTool):
    """The Stroke action of a :class:`MainWindow`: job, docks, overlays, curves, saving."""

    title = "Stroke perfusion"

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.analysis: StrokeAnalysis | None = None
        self.dialog: ClinicalDialog | None = None
        self.panel: StrokePanel | None = None
        self.curves: StrokeCurves | None = None
        self.curves_dock: QDockWidget | None = None
        self._saved_by_study: dict[str, list[Path]] = {}
        window.series_opened.connect(self._series_opened)

    def bind(self, action: QAction) -> None:
        """The menu action that starts the analysis: enabled while a 4D series is open."""
        self.action = action
        self._update_actions()

    # --- running -------------------------------------------------------------------

    def _open_volume(self) -> LoadedSeries | None:
        loaded = self.window.loaded
        return loaded if loaded is not None and loaded.volume.is_4d else None

    def _update_actions(self) -> None:
        if self.action is not None:
            self.action.setEnabled(self._open_volume() is not None and not self.running)

    def start(self) -> None:
        """Ask for the clinical values, then run (the menu action)."""
        loaded = self._open_volume()
        if loaded is None:
            self.window.statusBar().showMessage("Open a perfusion (4D) series first", 5000)
            return
        if self.running:
            return
        if self.dialog is None:
            self.dialog = ClinicalDialog(self.window)
            self.dialog.accepted.connect(lambda: self.run(self.dialog.inputs()))
        if self.analysis is not None and self.analysis.loaded is loaded:
            self.dialog.set_inputs(self.analysis.clinical)
        self.dialog.open()

    def run(self, clinical: ClinicalInputs) -> Job | None:
        """Analyse the open 4D series in the background; the result is shown when done."""
        loaded = self._open_volume()
        if loaded is None or self.running:
            return None
        self._ensure_docks()
        return self._start_job(
            loaded,
            partial(analyse, loaded.volume, PerfusionOptions(clinical=clinical)),
            lambda result: self._finished(loaded, clinical, result),
        )

    def _finished(
        self, loaded: LoadedSeries, clinical: ClinicalInputs, result: PerfusionResult
    ) -> None:
        self.analysis = StrokeAnalysis(loaded, clinical, result)
        assert self.panel is not None and self.curves is not None
        self.panel.card.show_result(result, clinical)
        self.panel.card.show()
        self.curves.vascular.set_labels("time (s)", result.aif.unit, "Arterial and venous input")
        self.curves.voxel.set_labels("time (s)", result.aif.unit, "Voxel at the crosshair")
        self.curves.vascular.set_curves(
            {name: (curve.times_s, curve.values) for name, curve in vascular_curves(result).items()}
        )
        self.curves.voxel.clear()
        self._show_on_viewer(first_time=True)
        self.window.statusBar().showMessage(
            f"Stroke perfusion done: core {ml_text(result.volumes.core_ml)}, "
            f"Tmax > 6 s {ml_text(result.volumes.hypoperfusion_ml)} (AI-generated; review)",
            15_000,
        )
        self.result_shown.emit(self.analysis)

    # --- docks -----------------------------------------------------------------------

    def _ensure_docks(self) -> None:
        if self.dock is not None:
            return
        window = self.window
        self.panel = StrokePanel()
        self.panel.overlay_changed.connect(self._overlay_changed)
        self.panel.clinical_button.clicked.connect(self.edit_clinical)
        self.panel.save_button.clicked.connect(self.choose_folder_and_save)
        self.dock = add_panel_dock(
            window, "Stroke", "StrokeDock", self.panel, tab_with=window.tools_dock, size=DOCK_WIDTH
        )
        self.curves = StrokeCurves()
        self.curves.setMinimumHeight(CURVES_MIN_HEIGHT)
        self.curves_dock = add_panel_dock(
            window,
            "Perfusion Curves",
            "StrokeCurvesDock",
            self.curves,
            area=Qt.DockWidgetArea.BottomDockWidgetArea,
            scroll=False,
        )
        self.dock.raise_()

    # --- showing the result on the viewer ------------------------------------------------

    def _series_opened(self, loaded: LoadedSeries) -> None:
        self._update_actions()
        if self.analysis is not None and self.panel is not None:
            self._show_on_viewer()

    def _show_on_viewer(self, first_time: bool = False) -> None:
        """Overlays and curves on the viewer, when it shows the series analysed."""
        assert self.panel is not None and self.analysis is not None
        on_screen = self._say_whose_result()
        self.panel.controls.setEnabled(on_screen)
        if not on_screen:
            return
        viewer = self.window.viewer
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
        viewer = self.window.viewer
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
        dialog = ClinicalDialog(self.window)
        dialog.set_inputs(self.analysis.clinical)
        dialog.accepted.connect(lambda: self.set_clinical(dialog.inputs()))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def set_clinical(self, clinical: ClinicalInputs) -> None:
        analysis = self.analysis
        if analysis is None or self.panel is None:
            return
        analysis.clinical = clinical
        retriage(analysis.result, clinical)
        self.panel.card.show_result(analysis.result, clinical)

    def choose_folder_and_save(self) -> None:
        if self.analysis is None:
            return
        from workstation.ui.shell.settings import read_text

        start = read_text(self.window.settings, SAVE_FOLDER_KEY)
        folder = QFileDialog.getExistingDirectory(
            self.window, "Save the stroke perfusion outputs into a folder", start
        )
        if folder:
            self.window.settings.setValue(SAVE_FOLDER_KEY, folder)
            self.save_to(Path(folder))

    def save_to(self, folder: Path) -> Job | None:
        """Write the outputs into ``folder`` in the background (as ``halong perfusion``)."""
        analysis = self.analysis
        if analysis is None:
            return None
        job = self.window.jobs.submit(
            "save stroke outputs",
            partial(
                save_outputs,
                analysis.result,
                analysis.loaded,
                Path(folder),
                self.window.home.result_seal_key(),
            ),
            on_result=lambda written: self._saved(analysis, written),
            on_error=partial(self.window.show_error, "Stroke outputs not saved"),
        )
        self.window.progress.track(job, f"Saving stroke outputs to {Path(folder).name}")
        return job

    def _saved(self, analysis: StrokeAnalysis, written: WrittenOutputs) -> None:
        analysis.saved.append(written.folder)
        study_uid = analysis.loaded.volume.provenance.study_uid
        folders = self._saved_by_study.setdefault(study_uid, [])
        if written.folder not in folders:
            folders.append(written.folder)
        self.window.statusBar().showMessage(
            f"Stroke outputs saved to {written.folder} ({len(written.files)} files)", 10_000
        )
        self.saved.emit(written.folder)

    def saved_folders(self, study_uid: str) -> list[Path]:
        """Output folders saved in this session for the study (for the report panel)."""
        return list(self._saved_by_study.get(study_uid, []))
