"""CurvesPanel keeps exactly the curves it was given."""

from __future__ import annotations

import numpy as np
import pytest

from viewers.curves import CurvesPanel

pytestmark = pytest.mark.gui


@pytest.fixture
def panel(qtbot) -> CurvesPanel:
    widget = CurvesPanel(x_label="time (s)", y_label="HU")
    qtbot.addWidget(widget)
    return widget


def test_set_add_replace_clear(panel):
    t = np.arange(5.0)
    panel.set_curves({"artery": (t, t**2), "vein": (t, 2 * t)})
    assert panel.names == ["artery", "vein"]
    x, y = panel.curve_data("artery")
    assert x == pytest.approx(t) and y == pytest.approx(t**2)
    panel.add_curve("tissue", t, t + 1)
    panel.add_curve("vein", t, -t)  # replaces
    assert panel.names == ["artery", "tissue", "vein"]
    assert panel.curve_data("vein")[1] == pytest.approx(-t)
    assert len(panel.plot_widget.getPlotItem().listDataItems()) == 3
    panel.set_curves({"only": ([0, 1], [1, 0])})
    assert panel.names == ["only"]
    panel.clear()
    assert panel.names == []
    assert panel.plot_widget.getPlotItem().listDataItems() == []


def test_labels_and_shape_check(panel):
    plot = panel.plot_widget.getPlotItem()
    assert plot.getAxis("bottom").labelText == "time (s)"
    assert plot.getAxis("left").labelText == "HU"
    panel.set_labels("days", "volume (mm³)", "Nodule growth")
    assert plot.getAxis("left").labelText == "volume (mm³)"
    assert plot.titleLabel.text == "Nodule growth"
    with pytest.raises(ValueError):
        panel.add_curve("bad", [0, 1, 2], [0, 1])
