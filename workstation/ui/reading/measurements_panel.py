"""The list of the open study's measurements: kind, value, label; Delete removes.

The label cell is editable (double-click or F2). Every change emits
:attr:`MeasurementsPanel.changed` with what happened (``"added"``, ``"deleted"``,
``"relabelled"``), so the window saves at once and nothing is lost.
"""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from workstation.model.measurements import Measurement, describe

COLUMNS = ("Kind", "Value", "Label")
COL_KIND, COL_VALUE, COL_LABEL = range(len(COLUMNS))


def value_text(measurement: Measurement) -> str:
    """The measurement's values on one line, without its label."""
    return describe(dataclasses.replace(measurement, label="")).replace("\n", "; ")


class MeasurementsPanel(QTableWidget):
    """A table of measurements; select rows and press Delete to remove them."""

    changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.measurements: list[Measurement] = []
        self.setHorizontalHeaderLabels(COLUMNS)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
        )
        self.verticalHeader().hide()
        header = self.horizontalHeader()
        header.setSectionResizeMode(COL_KIND, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COL_VALUE, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(COL_LABEL, QHeaderView.ResizeMode.Interactive)
        self.setToolTip("Double-click a label to edit it; Delete removes the selected rows")
        #: Del removes the selected rows, only while the table has the focus (so a Delete
        #: meant for another panel never removes a measurement); the Tools menu shows it.
        self.delete_action = QAction("&Delete Selected Measurements", self)
        self.delete_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        self.delete_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.delete_action.triggered.connect(self.delete_selected)
        self.addAction(self.delete_action)
        self.itemChanged.connect(self._on_item_changed)

    def set_measurements(self, measurements: list[Measurement]) -> None:
        """Show ``measurements`` (a study was opened); emits nothing."""
        self.measurements = list(measurements)
        self._rebuild()

    def add(self, measurement: Measurement) -> None:
        self.measurements.append(measurement)
        self._rebuild()
        self.selectRow(len(self.measurements) - 1)
        self.changed.emit("added")

    def delete_selected(self) -> int:
        """Remove the selected measurements; return how many."""
        rows = sorted({index.row() for index in self.selectedIndexes()}, reverse=True)
        for row in rows:
            del self.measurements[row]
        if rows:
            self._rebuild()
            self.changed.emit("deleted")
        return len(rows)

    def _rebuild(self) -> None:
        self.blockSignals(True)
        self.setRowCount(len(self.measurements))
        for row, measurement in enumerate(self.measurements):
            for column, text in (
                (COL_KIND, str(measurement.kind)),
                (COL_VALUE, value_text(measurement)),
                (COL_LABEL, measurement.label),
            ):
                item = QTableWidgetItem(text)
                if column != COL_LABEL:
                    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                self.setItem(row, column, item)
            self.item(row, COL_VALUE).setToolTip(describe(measurement))
        self.blockSignals(False)

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if item.column() != COL_LABEL or item.row() >= len(self.measurements):
            return
        measurement = self.measurements[item.row()]
        if measurement.label != item.text():
            measurement.label = item.text()
            self.changed.emit("relabelled")
