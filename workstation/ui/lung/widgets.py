"""The Lung nodules panel's parts: the run dialog, the nodule table and the details box.

They only show and collect values; :mod:`workstation.ui.lung.panel` wires them.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from workstation.lung.analysis import LungSettings, PriorChoice
from workstation.ui.common.form_dialog import lay_out_form_dialog, note_label

if TYPE_CHECKING:
    from ai.lung.review import NoduleReview, ReviewItem

#: Overlay and table colours of each decision (RGB 0..1); rejected nodules are not drawn.
DECISION_RGB = {"pending": (1.0, 0.72, 0.0), "accepted": (0.2, 0.85, 0.35)}
SELECTED_RGB = (0.25, 0.8, 1.0)
REJECTED_TEXT = "#8a8a8a"


class LungRunDialog(QDialog):
    """Risk, solid threshold, an optional prior of the same patient, an optional bundle."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Lung nodules — analyse this CT")
        self.risk = QComboBox()
        self.risk.addItem("Low risk", "low")
        self.risk.addItem("High risk", "high")
        self.risk.setToolTip("The patient's risk for the Fleischner 2017 recommendation")
        self.solid_threshold = QDoubleSpinBox()
        self.solid_threshold.setRange(-700.0, 100.0)
        self.solid_threshold.setSingleStep(50.0)
        self.solid_threshold.setDecimals(0)
        self.solid_threshold.setSuffix(" HU")
        self.solid_threshold.setValue(-300.0)
        self.solid_threshold.setToolTip("Nodule tissue above this counts as solid component")
        self.prior = QComboBox()
        self.bundle = QLineEdit()
        self.bundle.setPlaceholderText("the shipped nodule classifier")
        self.bundle.setToolTip("A MONAI bundle folder of your own (read locally, no network)")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._choose_bundle)
        bundle_row = QHBoxLayout()
        bundle_row.addWidget(self.bundle, 1)
        bundle_row.addWidget(browse)
        form = QFormLayout()
        form.addRow("&Patient risk:", self.risk)
        form.addRow("&Solid component above:", self.solid_threshold)
        form.addRow("&Compare with prior:", self.prior)
        form.addRow("Model bundle:", bundle_row)  # a row, not a widget: no & buddy
        self.device = QComboBox()
        for text, value in (("Automatic (GPU if there is one)", None), ("CPU", "cpu"),
                            ("GPU (CUDA)", "cuda")):  # fmt: skip
            self.device.addItem(text, value)
        self.device.setToolTip("Where the network runs (halong lung --device)")
        form.addRow("&Run on:", self.device)
        note = note_label(
            "The engine runs in the background; the viewer stays usable and Cancel in the "
            "status bar stops it. Every nodule it finds starts pending, for you to accept "
            "or reject."
        )
        self.ok_button = lay_out_form_dialog(self, form, note)

    def set_priors(self, choices: Sequence[PriorChoice]) -> None:
        self.prior.clear()
        self.prior.addItem("No prior", None)
        for choice in choices:
            self.prior.addItem(choice.text, choice)
        self.prior.setEnabled(bool(choices))

    def _choose_bundle(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "A MONAI bundle folder", self.bundle.text())
        if folder:
            self.bundle.setText(folder)

    def settings(self) -> LungSettings:
        prior: PriorChoice | None = self.prior.currentData()
        bundle = self.bundle.text().strip()
        return LungSettings(
            risk=self.risk.currentData(),
            solid_threshold_hu=self.solid_threshold.value(),
            prior=prior.request if prior is not None else None,
            bundle_dir=Path(bundle).expanduser() if bundle else None,
            device=self.device.currentData(),
        )


class _NumberItem(QTableWidgetItem):
    """A cell that sorts by its number, not its text (``None`` sorts first)."""

    def __init__(self, text: str, value: float | None) -> None:
        super().__init__(text)
        self.setData(Qt.ItemDataRole.UserRole + 1, -1e300 if value is None else float(value))
        self.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

    def __lt__(self, other: QTableWidgetItem) -> bool:
        role = Qt.ItemDataRole.UserRole + 1
        return float(self.data(role)) < float(other.data(role))


#: Columns: heading, and the tooltip that says what the number is.
COLUMNS = (
    ("#", "Nodule number"),
    ("Decision", "Pending until you accept or reject it"),
    ("Type", "Solid, part-solid or ground-glass"),
    ("Mean ⌀ mm", "(long + short axis) / 2 on the axial slice of largest area"),
    ("Volume mm³", "Segmented volume"),
    ("Lung-RADS", "Lung-RADS v2022 category of this nodule"),
    ("Where", "Lung and zone; (p) juxtapleural"),
    ("vs prior", "Volume change since the prior, or new"),
    ("Score", "The network's probability; 'reader' if you added it"),
)
ID_COLUMN, DECISION_COLUMN, SIZE_COLUMN, CATEGORY_COLUMN = 0, 1, 3, 5


def prior_text(item: ReviewItem) -> str:
    prior = item.nodule.prior
    if prior is None:
        return ""
    if prior.volume_change_percent is None:
        return prior.status
    return f"{prior.volume_change_percent:+.0f} % ({prior.status})"


class NoduleTable(QTableWidget):
    """The nodules, sortable by any column (size and category included)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels([heading for heading, _ in COLUMNS])
        for column, (_, tip) in enumerate(COLUMNS):
            self.horizontalHeaderItem(column).setToolTip(tip)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.verticalHeader().hide()
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.setSortingEnabled(True)
        self.sortByColumn(SIZE_COLUMN, Qt.SortOrder.DescendingOrder)

    def show_review(self, review: NoduleReview, selected: int | None) -> None:
        """Fill the rows again, keeping the sort order and the selected nodule."""
        self.setSortingEnabled(False)
        self.blockSignals(True)
        self.setRowCount(len(review.items))
        for row, item in enumerate(review.items):
            for column, cell in enumerate(_cells(item)):
                self.setItem(row, column, cell)
        self.setSortingEnabled(True)
        self.blockSignals(False)
        if selected is not None:
            self.select_nodule(selected)

    def nodule_at_row(self, row: int) -> int | None:
        cell = self.item(row, ID_COLUMN)
        return None if cell is None else int(cell.data(Qt.ItemDataRole.UserRole))

    def selected_nodule(self) -> int | None:
        rows = self.selectionModel().selectedRows()
        return self.nodule_at_row(rows[0].row()) if rows else None

    def select_nodule(self, nodule_id: int) -> None:
        for row in range(self.rowCount()):
            if self.nodule_at_row(row) == nodule_id:
                self.selectRow(row)
                self.scrollToItem(self.item(row, ID_COLUMN))
                return

    def step(self, delta: int) -> int | None:
        """Select the next (+1) or previous (-1) row as shown; the nodule now selected."""
        if self.rowCount() == 0:
            return None
        rows = self.selectionModel().selectedRows()
        row = rows[0].row() + delta if rows else 0
        row = max(0, min(self.rowCount() - 1, row))
        self.selectRow(row)
        return self.nodule_at_row(row)


def _cells(item: ReviewItem) -> list[QTableWidgetItem]:
    nodule = item.nodule
    m = nodule.measurements
    where = f"{nodule.location.side} {nodule.location.zone}" + (
        " (p)" if nodule.location.juxtapleural else ""
    )
    change = nodule.prior.volume_change_percent if nodule.prior else None
    score = "reader" if nodule.probability is None else f"{nodule.probability:.2f}"
    category = nodule.lung_rads.category if nodule.lung_rads else "–"
    cells = [
        _NumberItem(str(item.id), item.id),
        QTableWidgetItem(str(item.decision) + (" (edited)" if item.edited else "")),
        QTableWidgetItem(m.type),
        _NumberItem(f"{m.mean_diameter_mm:.1f}", m.mean_diameter_mm),
        _NumberItem(f"{m.volume_mm3:.0f}", m.volume_mm3),
        QTableWidgetItem(category if str(item.decision) != "rejected" else "–"),
        QTableWidgetItem(where),
        _NumberItem(prior_text(item), change),
        _NumberItem(score, nodule.probability),
    ]
    cells[ID_COLUMN].setData(Qt.ItemDataRole.UserRole, item.id)
    decision = str(item.decision)
    if decision == "rejected":
        for cell in cells:
            cell.setForeground(QBrush(QColor(REJECTED_TEXT)))
    else:
        r, g, b = (round(255 * c) for c in DECISION_RGB[decision])
        cells[DECISION_COLUMN].setForeground(QBrush(QColor(r, g, b)))
    return cells


def details_html(item: ReviewItem | None, has_prior: bool) -> str:
    """Everything measured on the selected nodule, for the details box."""
    if item is None:
        return "Select a nodule in the list."
    nodule = item.nodule
    m = nodule.measurements
    if nodule.probability is None:
        found = "added by the reader"
    elif nodule.found_as_mass:
        found = "mass rule (solid, ≥ 2 cm thick)"
    else:
        found = f"network, score {nodule.probability:.2f}"
    rows = [
        ("Long × short axis (axial)", f"{m.long_axis_mm:.1f} × {m.short_axis_mm:.1f} mm"),
        ("Long × short axis (3D)", f"{m.long_axis_3d_mm:.1f} × {m.short_axis_3d_mm:.1f} mm"),
        ("Mean diameter", f"{m.mean_diameter_mm:.1f} mm"),
        ("Volume", f"{m.volume_mm3:.0f} mm³"),
        ("Mean / max HU", f"{m.mean_hu:.0f} / {m.max_hu:.0f}"),
        ("Solid component", f"{m.solid_core_mm:.1f} mm, {m.solid_volume_mm3:.0f} mm³"),
        ("Juxtapleural", "yes" if nodule.location.juxtapleural else "no"),
        ("Found by", found),
    ]
    if nodule.lung_rads is not None:
        rows.append(("Lung-RADS", f"{nodule.lung_rads.category}: {nodule.lung_rads.finding}"))
    if nodule.fleischner is not None:
        rows.append(("Fleischner", nodule.fleischner.recommendation))
    prior = nodule.prior
    if has_prior and prior is not None:
        rows.append(("Against the prior", prior.status))
        if prior.prior_volume_mm3 is not None:
            rows.append(("Prior volume", f"{prior.prior_volume_mm3:.0f} mm³"))
        if prior.volume_doubling_time_days is not None:
            rows.append(("Volume doubling time", f"{prior.volume_doubling_time_days:.0f} days"))
    cells = "".join(f"<tr><td>{escape(k)}</td><td><b>{escape(v)}</b></td></tr>" for k, v in rows)
    return f"<b>Nodule {item.id}</b> ({escape(m.type)})<table>{cells}</table>"
