"""The Lung nodules action: find, review and measure nodules on the open chest CT.

Tools › Lung Nodules… (Ctrl+Shift+L, on a 3D CT) asks for the patient's risk, the
solid-component threshold, an optional prior CT of the same patient and an optional
bundle, then runs the engine (:func:`ai.lung.analyse_chest_ct`) as a background job
with progress and Cancel in the status bar. The result is shown as:

* a sortable list of nodules (size, category, type, place, change, score) with the
  AI label (algorithm, version, model, device); a click moves every view there;
* the nodules' outlines on the slices: amber pending, green accepted, cyan selected
  (rejected ones disappear);
* per nodule: Accept (Y), Reject (X), Re-segment, Move (M: click where it really is)
  and Add a missed one (N: click it), each measured by the engine's own code, with
  Lung-RADS and Fleischner following at once; the exam counts accepted nodules only;
* a growth chart (pyqtgraph) of volume against days since the prior, when one is given.

"Save for Report" writes the accepted nodules as ``halong lung`` would (lung.json, SEG,
SR, sealed manifest) with the reader's decisions, into the study's results folder, and
tells the reading context, where the report panel finds them. Each study keeps its own
review (see :class:`~workstation.ui.shell.analysis_tool.AnalysisTool`): the panel shows
the one of the study being read, under a header naming the patient.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QDockWidget,
    QDoubleSpinBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from workstation.lung.analysis import analyse, is_chest_ct, prior_choices
from workstation.lung.figures import NODULE_NAME, growth_points, nodule_labels
from workstation.lung.review_journal import ReviewJournal, apply_operation, replay
from workstation.ui.common.patient_banner import PatientBanner
from workstation.ui.common.styles import AI_LABEL_STYLE
from workstation.ui.lung.widgets import (
    DECISION_RGB,
    SELECTED_RGB,
    LungRunDialog,
    NoduleTable,
    details_html,
)
from workstation.ui.shell.analysis_tool import AnalysisTool

if TYPE_CHECKING:
    from ai.lung import LungResult
    from ai.lung.review import NoduleReview, ReviewItem
    from viewers.curves import CurvesPanel
    from workstation.dicom.series_input import LoadedSeries
    from workstation.lung.analysis import LungSettings
    from workstation.model.context import ReadingContext
    from workstation.ui.common.workers import Job
    from workstation.ui.shell.host import PanelHost

DOCK_WIDTH = 460
CHART_HEIGHT = 220
OUTLINE_OPACITY = 1.0
#: Nodules are read in the lung window.
READING_PRESET = "lung"
#: The default size hint for clicks (re-segment, move, add), mm.
SIZE_HINT_MM = 10.0


@dataclass
class LungAnalysis:
    """One run, what it ran on, and the reader's review of it."""

    loaded: LoadedSeries
    settings: LungSettings
    review: NoduleReview
    #: Folders the reviewed result was saved to, newest last.
    saved: list[Path] = field(default_factory=list)
    #: A decision or edit since the last save.
    unsaved_changes: bool = False
    #: Every decision and edit, on disk until saved (see workstation.lung.review_journal).
    journal: ReviewJournal | None = None
    #: The nodule selected in the list.
    selected: int | None = None
    #: The overlay's label volume (made again after edits).
    labels: np.ndarray | None = field(default=None, repr=False)


def ai_label_text(result: LungResult) -> str:
    algorithm = result.algorithm
    model = f", model {algorithm.model}" if algorithm.model else ""
    return (
        f"AI-generated — {algorithm.name} {algorithm.version}{model} on {algorithm.device}; "
        "accept or reject each nodule"
    )


class LungPanel(QWidget):
    """The dock's content: AI label, exam summary, nodule list, edit buttons, details."""

    def __init__(self, context: ReadingContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.banner = PatientBanner(context)
        self.status = QLabel("Run Tools › Lung Nodules… on a chest CT.")
        self.status.setWordWrap(True)
        self.ai_label = QLabel()
        self.ai_label.setObjectName("LungAiLabel")
        self.ai_label.setStyleSheet(AI_LABEL_STYLE)
        self.ai_label.setWordWrap(True)
        self.ai_label.hide()
        self.exam = QLabel()
        self.exam.setObjectName("LungExam")
        self.exam.setWordWrap(True)
        self.exam.setTextFormat(Qt.TextFormat.RichText)
        self.table = NoduleTable()
        self.table.setMinimumHeight(160)
        self.size_hint = QDoubleSpinBox()
        self.size_hint.setRange(3.0, 60.0)
        self.size_hint.setDecimals(0)
        self.size_hint.setSuffix(" mm")
        self.size_hint.setValue(SIZE_HINT_MM)
        self.size_hint.setToolTip("About how big the nodule you point at is (for the edits)")
        self.accept_button = QPushButton("Accept")
        self.reject_button = QPushButton("Reject")
        self.resegment_button = QPushButton("Re-segment")
        self.move_button = QPushButton("Move…")
        self.add_button = QPushButton("Add…")
        self.save_button = QPushButton("Save for Report")
        for button in (self.move_button, self.add_button):
            button.setCheckable(True)
        self.details = QLabel()
        self.details.setWordWrap(True)
        self.details.setTextFormat(Qt.TextFormat.RichText)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.controls = QWidget()
        rows = QVBoxLayout(self.controls)
        rows.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(self.accept_button)
        row.addWidget(self.reject_button)
        row.addWidget(self.resegment_button)
        rows.addLayout(row)
        row = QHBoxLayout()
        row.addWidget(self.move_button)
        row.addWidget(self.add_button)
        row.addWidget(QLabel("Size:"))
        row.addWidget(self.size_hint)
        rows.addLayout(row)
        rows.addWidget(self.table, 1)
        rows.addWidget(self.details)
        rows.addWidget(self.save_button)
        self.controls.setEnabled(False)
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addWidget(self.status)
        layout.addWidget(self.ai_label)
        layout.addWidget(self.exam)
        layout.addWidget(self.controls, 1)

    def clear(self, message: str) -> None:
        """No result for the study being read: nothing of another study stays."""
        self.status.setText(message)
        self.ai_label.clear()
        self.ai_label.hide()
        self.exam.clear()
        self.table.setRowCount(0)
        self.details.clear()
        self.controls.setEnabled(False)

    def show_exam(self, review: NoduleReview) -> None:
        from ai.lung.review import Decision

        lung_rads, fleischner = review.exam_lung_rads, review.exam_fleischner
        counts = ", ".join(f"{review.count(d)} {d}" for d in Decision)
        advice = fleischner.recommendation if fleischner else "no nodule accepted"
        self.exam.setText(
            f"<b>Exam Lung-RADS {lung_rads.category}</b> (accepted nodules): "
            f"{lung_rads.management}<br>"
            f"<b>Fleischner</b> ({review.result.risk} risk): {advice}<br>"
            f"{len(review.items)} nodule(s): {counts}"
        )


class LungTool(AnalysisTool):
    """The Lung nodules tool: job, dock, overlay, review and chart, per study."""

    key = "lung"
    title = "Lung nodules"
    #: The review changed (a decision or an edit): the :class:`LungAnalysis`.
    review_changed = Signal(object)
    #: An edit could not be made; the message is for the user.
    edit_refused = Signal(str)

    def __init__(self, host: PanelHost) -> None:
        super().__init__(host)
        self.dialog: LungRunDialog | None = None
        self.panel: LungPanel | None = None
        self.chart: CurvesPanel | None = None
        self.chart_dock: QDockWidget | None = None
        #: "move" or "add" while the next click on a slice says where.
        self.pick_mode: str | None = None
        self._tool_before_pick = "none"
        self.review_actions: dict[str, QAction] = {}
        self.action = host.add_action(
            "lung_nodules", "&Lung Nodules…", "Ctrl+Shift+L", self.start, menu="&Tools",
            tip="Find, measure and categorise lung nodules; review each",
        )  # fmt: skip
        self._make_review_actions()
        host.add_close_guard(self.confirm_close)
        self._update_actions()

    @property
    def selected(self) -> int | None:
        analysis = self.analysis
        return analysis.selected if analysis is not None else None

    @selected.setter
    def selected(self, nodule_id: int | None) -> None:
        if self.analysis is not None:
            self.analysis.selected = nodule_id

    def _make_review_actions(self) -> None:
        """Window-wide shortcuts for the review (shown in the Tools menu and tooltips)."""
        entries = (
            ("accept", "Accept Nodule", "Y", self.accept_selected, False),
            ("reject", "Reject Nodule", "X", self.reject_selected, False),
            ("next", "Next Nodule", "]", partial(self.step, 1), False),
            ("previous", "Previous Nodule", "[", partial(self.step, -1), False),
            ("move", "Move Nodule (click it)…", "M", partial(self.toggle_pick, "move"), True),
            ("add", "Add Missed Nodule (click it)…", "N", partial(self.toggle_pick, "add"), True),
            ("save", "Save Nodules for Report", "Ctrl+Shift+S", self.save_for_report, False),
        )  # fmt: skip
        for key, text, shortcut, slot, checkable in entries:
            self.review_actions[key] = self.host.add_action(
                f"lung_{key}", text, shortcut, slot, checkable=checkable, menu="&Tools"
            )

    # --- running -------------------------------------------------------------------

    def _open_ct(self) -> LoadedSeries | None:
        loaded = self.host.loaded
        return loaded if loaded is not None and is_chest_ct(loaded.volume) else None

    def _update_actions(self) -> None:
        if self.action is not None:
            self.action.setEnabled(self._open_ct() is not None and not self.running)
        reviewing = self._result_on_screen()
        for action in self.review_actions.values():
            action.setEnabled(reviewing)
        if self.panel is not None:
            self.panel.controls.setEnabled(reviewing)

    def start(self) -> None:
        """Ask for the run's settings, then run (the menu action)."""
        loaded = self._open_ct()
        if loaded is None:
            self.host.notify("Open a chest CT (one 3D CT series) first")
            return
        if self.running or not self._may_discard_review():
            return
        if self.dialog is None:
            self.dialog = LungRunDialog(self.host.main_widget)
            self.dialog.accepted.connect(lambda: self.run(self.dialog.settings()))
        self.dialog.set_priors(prior_choices(self.host.home.database_path, loaded.volume))
        self.dialog.open()

    def _may_discard_review(self) -> bool:
        """Whether a new run may replace a review with unsaved decisions (asks the reader)."""
        analysis = self.analysis
        if analysis is None or not analysis.unsaved_changes or not self.host.interactive:
            return True
        answer = QMessageBox.question(
            self.host.main_widget,
            "Lung nodules",
            "Your decisions on the current nodule list are not saved for the report. "
            "Run the analysis again and discard them?",
        )
        if answer != QMessageBox.StandardButton.Yes:
            return False
        _discard_journal(analysis)
        return True

    def run(self, settings: LungSettings) -> Job | None:
        """Analyse the open CT in the background; the result is shown when done."""
        loaded = self._open_ct()
        if loaded is None or self.running:
            return None
        self._ensure_dock()
        return self._start_job(
            loaded,
            partial(analyse, loaded, settings, self.host.home.database_path),
            lambda result: self._finished(loaded, settings, result),
        )

    def _finished(self, loaded: LoadedSeries, settings: LungSettings, result: LungResult) -> None:
        from ai.lung.review import NoduleReview

        review = NoduleReview(result, loaded.volume, settings.solid_threshold_hu)
        analysis = LungAnalysis(loaded, settings, review)
        restored = self._open_journal(analysis)
        if self._finished_elsewhere(analysis):
            return
        if self._result_on_screen():
            self.host.set_preset(READING_PRESET)
        self.show_current()
        first = self._first_row_nodule()
        if first is not None:
            self.select(first)
        message = f"Lung nodules: {len(result.nodules)} found (AI-generated; review each)"
        if restored:
            message += f"; {restored} unsaved decision(s) and edit(s) of yours restored"
        self.host.notify(message, 15_000)
        self.result_shown.emit(analysis)

    def _open_journal(self, analysis: LungAnalysis) -> int:
        """This series' journal; what an earlier session left unsaved is replayed first."""
        loaded, review = analysis.loaded, analysis.review
        journal = ReviewJournal.for_review(
            self.host.home.study_results(loaded.study_key), loaded.request.key, review
        )
        analysis.journal = journal
        operations = journal.saved_operations()
        if not operations:
            return 0
        restored = replay(review, operations)
        analysis.unsaved_changes = True
        with contextlib.suppress(OSError):  # the file stays as it was; the next decision retries
            journal.adopt(operations)
        return restored

    def _first_row_nodule(self) -> int | None:
        assert self.panel is not None
        return self.panel.table.nodule_at_row(0) if self.panel.table.rowCount() else None

    # --- docks -----------------------------------------------------------------------

    def _ensure_dock(self) -> None:
        if self.dock is not None:
            return
        self.panel = LungPanel(self.host.context)
        panel = self.panel
        panel.table.itemSelectionChanged.connect(self._row_selected)
        panel.accept_button.clicked.connect(self.accept_selected)
        panel.reject_button.clicked.connect(self.reject_selected)
        panel.resegment_button.clicked.connect(self.resegment_selected)
        panel.move_button.clicked.connect(partial(self.toggle_pick, "move"))
        panel.add_button.clicked.connect(partial(self.toggle_pick, "add"))
        panel.save_button.clicked.connect(self.save_for_report)
        for button, key in (
            (panel.accept_button, "accept"),
            (panel.reject_button, "reject"),
            (panel.move_button, "move"),
            (panel.add_button, "add"),
            (panel.save_button, "save"),
        ):
            button.setToolTip(self.review_actions[key].toolTip())
        self.dock = self.host.add_dock("Lung Nodules", "LungDock", panel, size=DOCK_WIDTH)
        self.dock.raise_()

    def _ensure_chart(self) -> CurvesPanel:
        if self.chart is None:
            from viewers.curves import CurvesPanel

            self.chart = CurvesPanel("days since the prior", "volume (mm³)", "Nodule growth")
            self.chart.setMinimumHeight(CHART_HEIGHT)
            self.chart_dock = self.host.add_dock(
                "Nodule Growth",
                "LungGrowthDock",
                self.chart,
                area=Qt.DockWidgetArea.BottomDockWidgetArea,
                beside_tools=False,
                scroll=False,
            )
        return self.chart

    # --- showing the result on the viewer ------------------------------------------------

    def show_current(self) -> None:
        """The study's review: list, exam, overlay and chart (overlay only when the viewer
        shows the series analysed); or cleared, when the study has none."""
        assert self.panel is not None
        self.end_pick()
        self._update_actions()
        analysis = self.analysis
        if analysis is None:
            self.panel.clear(self._no_result())
            if self.chart is not None and self.chart_dock is not None:
                self.chart.clear()
                self.chart_dock.hide()
            return
        self.panel.ai_label.setText(ai_label_text(analysis.review.result))
        self.panel.ai_label.show()
        self._refresh_panel()
        if not self._say_whose_result():
            return
        self._follow_clicks(self._clicked)
        analysis.labels = None
        self.apply_overlay()

    def _refresh_panel(self) -> None:
        assert self.panel is not None and self.analysis is not None
        review = self.analysis.review
        self.panel.table.show_review(review, self.selected)
        self.panel.show_exam(review)
        self._show_details()
        self._show_growth()

    def _show_details(self) -> None:
        assert self.panel is not None and self.analysis is not None
        item = self._selected_item()
        self.panel.details.setText(details_html(item, self.analysis.review.has_prior))

    def _show_growth(self) -> None:
        analysis = self.analysis
        if analysis is None or not analysis.review.has_prior:
            if self.chart_dock is not None:
                self.chart_dock.hide()
            return
        chart = self._ensure_chart()
        assert self.chart_dock is not None
        self.chart_dock.show()
        chart.clear()
        selected_name = NODULE_NAME.format(id=self.selected) if self.selected else None
        for name, (days, volumes) in growth_points(analysis.review).items():
            colour = tuple(round(255 * c) for c in SELECTED_RGB) if name == selected_name else None
            chart.add_curve(name, days, volumes, colour=colour)

    def apply_overlay(self) -> None:
        """Nodule outlines coloured by decision; the selected one in cyan; rejected hidden."""
        if not self._result_on_screen():
            return
        assert self.analysis is not None
        viewer = self.host.viewer
        assert viewer is not None
        analysis = self.analysis
        if analysis.labels is None:  # only edits change the voxels; decisions change colours
            analysis.labels = nodule_labels(analysis.review)
        colours = {}
        for item in self.analysis.review.items:
            decision = str(item.decision)
            if item.id == self.selected and decision in DECISION_RGB:
                colours[item.id] = SELECTED_RGB
            elif decision in DECISION_RGB:
                colours[item.id] = DECISION_RGB[decision]
        viewer.set_label_overlay(analysis.labels, colours, OUTLINE_OPACITY, outline=True)

    # --- selection -------------------------------------------------------------------

    def _selected_item(self) -> ReviewItem | None:
        if self.analysis is None or self.selected is None:
            return None
        try:
            return self.analysis.review.item(self.selected)
        except KeyError:
            return None

    def _row_selected(self) -> None:
        assert self.panel is not None
        nodule_id = self.panel.table.selected_nodule()
        if nodule_id is not None and nodule_id != self.selected:
            self.select(nodule_id)

    def select(self, nodule_id: int) -> None:
        """Select a nodule in the list and move every view to its centre."""
        if self.analysis is None or self.panel is None:
            return
        try:
            item = self.analysis.review.item(nodule_id)
        except KeyError:
            return
        self.selected = nodule_id
        self.panel.table.select_nodule(nodule_id)
        self._show_details()
        self._show_growth()
        if self._result_on_screen():
            viewer = self.host.viewer
            assert viewer is not None
            viewer.go_to(item.nodule.measurements.center_lps_mm)
            self.apply_overlay()

    def step(self, delta: int) -> None:
        """The next or previous nodule, in the list's order."""
        if self.panel is None or not self._result_on_screen():
            return
        nodule_id = self.panel.table.step(delta)
        if nodule_id is not None:
            self.select(nodule_id)

    # --- decisions ---------------------------------------------------------------------

    def accept_selected(self) -> None:
        self._decide("accepted")

    def reject_selected(self) -> None:
        self._decide("rejected")

    def decide(self, nodule_id: int, decision: str) -> None:
        if self.analysis is None:
            return
        operation = {"op": "decide", "id": nodule_id, "decision": decision}
        apply_operation(self.analysis.review, operation)
        self._record(operation)
        self._changed()

    def _record(self, operation: dict) -> None:
        """Into the journal first: a crash from now on loses nothing (see review_journal)."""
        journal = self.analysis.journal if self.analysis is not None else None
        if journal is not None:
            try:
                journal.record(operation)
            except OSError as error:
                self.host.notify(f"Could not keep your lung decisions on disk: {error}", 10_000)

    def _decide(self, decision: str) -> None:
        if self.selected is not None and self._result_on_screen():
            self.decide(self.selected, decision)

    def _changed(self, voxels_changed: bool = False) -> None:
        assert self.analysis is not None
        self.analysis.unsaved_changes = True
        if voxels_changed:
            self.analysis.labels = None
        self._refresh_panel()
        self.apply_overlay()
        self.review_changed.emit(self.analysis)

    # --- edits ---------------------------------------------------------------------------

    @property
    def size_hint_mm(self) -> float:
        return self.panel.size_hint.value() if self.panel is not None else SIZE_HINT_MM

    def resegment_selected(self) -> None:
        if self.selected is None or self.analysis is None or not self._result_on_screen():
            return
        self._edit({"op": "resegment", "id": self.selected, "size_mm": self.size_hint_mm})

    def toggle_pick(self, mode: str) -> None:
        """Move / Add: the next click on a slice says where (the crosshair tool meanwhile)."""
        if self.pick_mode == mode or not self._result_on_screen():
            self.end_pick()
            return
        if mode == "move" and self.selected is None:
            self.host.notify("Select the nodule to move first")
            self.end_pick()
            return
        if self.pick_mode is None:
            self._tool_before_pick = self.host.current_tool()
        self.pick_mode = mode
        self.host.set_tool("crosshair")
        self._show_pick_state()
        what = "where the nodule really is" if mode == "move" else "on the missed nodule"
        self.host.notify(f"Click {what} (Esc to stop)", 10_000)

    def end_pick(self) -> None:
        if self.pick_mode is not None:
            self.pick_mode = None
            if self.host.current_tool() == "crosshair":
                self.host.set_tool(self._tool_before_pick)
        self._show_pick_state()

    def _show_pick_state(self) -> None:
        for key in ("move", "add"):
            on = self.pick_mode == key
            if key in self.review_actions:
                self.review_actions[key].setChecked(on)
            if self.panel is not None:
                button = self.panel.move_button if key == "move" else self.panel.add_button
                button.setChecked(on)

    def _clicked(self, lps: Sequence[float]) -> None:
        """A click on a slice: an edit when picking, else select the nodule clicked, if any."""
        if self.analysis is None or not self._result_on_screen():
            return
        mode = self.pick_mode if self.host.current_tool() == "crosshair" else None
        if mode is None:
            self.pick_mode = None
            self._show_pick_state()
            hit = self.analysis.review.item_at(lps)
            if hit is not None and hit.id != self.selected:
                self.select(hit.id)
            return
        self.end_pick()
        if mode == "move":
            self.move_to(lps)
        else:
            self.add_at(lps)

    def move_to(self, lps: Sequence[float]) -> None:
        """Move the selected nodule to ``lps`` (what Move… and a click do)."""
        if self.analysis is not None and self.selected is not None:
            point = [float(c) for c in lps]
            hint = self.size_hint_mm
            self._edit({"op": "move", "id": self.selected, "lps": point, "size_mm": hint})

    def add_at(self, lps: Sequence[float]) -> None:
        """Add the nodule at ``lps`` the engine missed (what Add… and a click do)."""
        if self.analysis is not None:
            point = [float(c) for c in lps]
            self._edit({"op": "add", "lps": point, "size_mm": self.size_hint_mm})

    def _edit(self, operation: dict) -> None:
        """Run one edit (it takes well under a second); refusals are said, not raised."""
        from ai.lung.review import AlreadyListed, ReviewError

        assert self.analysis is not None
        try:
            item = apply_operation(self.analysis.review, operation)
        except AlreadyListed as listed:
            self._refuse(str(listed))
            self.select(listed.nodule_id)
            return
        except ReviewError as error:
            self._refuse(str(error))
            return
        self._record(operation)
        self.selected = item.id
        self._changed(voxels_changed=True)
        self.select(item.id)
        m = item.nodule.measurements
        self.host.notify(
            f"Nodule {item.id}: {m.type}, {m.mean_diameter_mm:.1f} mm, {m.volume_mm3:.0f} mm³",
            10_000,
        )

    def _refuse(self, message: str) -> None:
        self.host.notify(f"Not changed: {message}", 10_000)
        self.edit_refused.emit(message)

    # --- saving for the report -----------------------------------------------------------

    def save_for_report(self) -> Job | None:
        """Save the accepted nodules where the report panel finds them (asks what it must)."""
        from ai.lung.review import Decision

        analysis = self.analysis
        if analysis is None:
            return None
        reader = self._reader()
        if not reader:
            return None
        pending = analysis.review.count(Decision.PENDING)
        if pending and self.host.interactive:
            answer = QMessageBox.question(
                self.host.main_widget,
                "Lung nodules",
                f"{pending} nodule(s) are still pending and will not be in the report. Save?",
            )
            if answer != QMessageBox.StandardButton.Yes:
                return None
        return self.save_to(self.results_folder(analysis), reader)

    def _reader(self) -> str:
        """The reading context's reader, else asked for; empty (and said) if none."""
        context = self.host.context
        if not context.reader and self.host.interactive:
            reader, ok = QInputDialog.getText(
                self.host.main_widget, "Lung nodules", "Your name (recorded with your decisions):"
            )
            if ok:
                context.set_reader(reader)
        if not context.reader:
            self.host.show_error(
                "Lung nodules not saved", "Decisions need the reader's name: enter it to save."
            )
        return context.reader

    def confirm_close(self) -> bool:
        """Before the window closes: offer to save decisions not yet saved for the report,
        of every study reviewed in this session.

        False keeps the window open (the reader cancelled, or saving failed)."""
        unsaved = [a for a in self.analyses.values() if a.unsaved_changes]
        if not unsaved or not self.host.interactive:
            return True
        buttons = QMessageBox.StandardButton
        patients = ", ".join(a.loaded.request.label for a in unsaved)
        answer = QMessageBox.question(
            self.host.main_widget,
            "Lung nodules",
            f"Your decisions on the lung nodules of {patients} are not saved for the report. "
            "Save them before closing?",
            buttons.Save | buttons.Discard | buttons.Cancel,
        )
        if answer == buttons.Discard:
            for analysis in unsaved:
                _discard_journal(analysis)
            return True
        if answer != buttons.Save:
            return False
        reader = self._reader()
        if not reader:
            return False
        from workstation.lung.outputs import save_review

        seal = self.host.home.result_seal_key()
        for analysis in unsaved:
            folder = self.results_folder(analysis)
            try:  # here and now: the window waits for it rather than lose the decisions
                written = save_review(analysis.review, analysis.loaded, folder, reader, seal)
            except Exception as error:  # any failure to write: say it, keep the window open
                self.host.show_error("Lung nodules not saved", str(error))
                return False
            self._saved(analysis, folder, written)
        return True

    def results_folder(self, analysis: LungAnalysis) -> Path:
        """A new folder under the study's results for this save."""
        return self.host.home.new_result_folder(analysis.loaded.study_key, self.key)

    def save_to(self, folder: Path, reader: str) -> Job | None:
        """Write the reviewed result into ``folder`` in the background (lung.json, SEG, SR)."""
        analysis = self.analysis
        if analysis is None:
            return None
        from workstation.lung.outputs import save_review

        seal = self.host.home.result_seal_key()
        job = self.host.jobs.submit(
            "save lung nodules",
            lambda _progress, _cancel: save_review(
                analysis.review, analysis.loaded, Path(folder), reader, seal
            ),
            on_result=lambda written: self._saved(analysis, Path(folder), written),
            on_error=partial(self.host.show_error, "Lung nodules not saved"),
        )
        self.host.progress.track(job, f"Saving lung nodules to {Path(folder).name}")
        return job

    def _saved(self, analysis: LungAnalysis, folder: Path, written: dict[str, Path]) -> None:
        analysis.saved.append(folder)
        analysis.unsaved_changes = False
        _discard_journal(analysis)
        self.host.context.add_result(self.key, folder, analysis.loaded.study_key)
        accepted = len(analysis.review.accepted())
        self.host.notify(
            f"{accepted} accepted nodule(s) saved for the report in {folder} "
            f"({len(written)} files)",
            10_000,
        )
        self.saved.emit(folder)


def _discard_journal(analysis: LungAnalysis) -> None:
    if analysis.journal is not None:
        analysis.journal.discard()
