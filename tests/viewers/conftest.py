"""Fixtures for the viewer tests: the phantom and shown, rendered views."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from support.viewer_phantoms import chest_phantom

from workstation.model.volume import Volume


@pytest.fixture
def phantom() -> Volume:
    """The chest phantom stored right-to-left (direction diag(-1, 1, 1))."""
    return chest_phantom()


@pytest.fixture
def make_slice_view(qtbot) -> Callable:
    """Build a shown SliceView of a volume, 300x300 px, rendered once."""
    from viewers.slice_view import SliceView

    def make(volume: Volume | None, orientation: str = "axial", size=(300, 300)):
        view = SliceView(orientation)
        qtbot.addWidget(view)
        view.resize(*size)
        view.show()
        qtbot.waitExposed(view)
        view.set_volume(volume)
        view.render()
        return view

    return make
