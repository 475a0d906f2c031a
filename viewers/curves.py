"""Curves panel: time-density curves (perfusion) and growth charts (nodules).

A thin wrapper around a pyqtgraph PlotWidget so callers hand over named
``(x, y)`` arrays and never touch plot items.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

Curve = tuple[Sequence[float] | np.ndarray, Sequence[float] | np.ndarray]


class CurvesPanel(QWidget):
    """Named curves on one plot with a legend and axis labels."""

    def __init__(
        self,
        x_label: str = "",
        y_label: str = "",
        title: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.plot_widget = pg.PlotWidget(self)
        self.plot_widget.setBackground("k")
        self.plot_widget.showGrid(x=True, y=True, alpha=0.3)
        self._legend = self.plot_widget.addLegend(offset=(10, 10))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot_widget)
        self._curves: dict[str, pg.PlotDataItem] = {}
        self.set_labels(x_label, y_label, title)

    def set_labels(self, x_label: str = "", y_label: str = "", title: str = "") -> None:
        """Axis labels (with units, e.g. ``"time (s)"``) and an optional title."""
        self.plot_widget.setLabel("bottom", x_label)
        self.plot_widget.setLabel("left", y_label)
        self.plot_widget.setTitle(title or None)

    @property
    def names(self) -> list[str]:
        return list(self._curves)

    def curve_data(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """The ``(x, y)`` arrays plotted for ``name``."""
        x, y = self._curves[name].getData()
        return np.asarray(x), np.asarray(y)

    def add_curve(
        self,
        name: str,
        x: Sequence[float] | np.ndarray,
        y: Sequence[float] | np.ndarray,
        colour: str | tuple[int, int, int] | None = None,
        symbols: bool = True,
    ) -> None:
        """Plot (or replace) one named curve; colours cycle when not given."""
        x, y = np.asarray(x, float), np.asarray(y, float)
        if x.shape != y.shape:
            raise ValueError(f"curve {name!r}: x has shape {x.shape}, y has {y.shape}")
        if name in self._curves:
            self._remove(name)
        pen = pg.mkPen(colour if colour is not None else pg.intColor(len(self._curves), 9), width=2)
        item = self.plot_widget.plot(
            x,
            y,
            pen=pen,
            name=name,
            symbol="o" if symbols else None,
            symbolSize=5,
            symbolBrush=pen.color(),
            symbolPen=None,
        )
        self._curves[name] = item

    def set_curves(self, curves: Mapping[str, Curve]) -> None:
        """Replace all curves with ``{name: (x, y)}``."""
        self.clear()
        for name, (x, y) in curves.items():
            self.add_curve(name, x, y)

    def clear(self) -> None:
        for name in list(self._curves):
            self._remove(name)

    def _remove(self, name: str) -> None:
        item = self._curves.pop(name)
        self.plot_widget.removeItem(item)
        self._legend.removeItem(item)
