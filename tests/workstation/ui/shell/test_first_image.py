"""A long series shows its middle image as soon as its headers are read, before its
pixels are; a cancelled load puts back the series that was shown before."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PySide6.QtCore import Qt

pytestmark = pytest.mark.gui

SLICES = 120
TIMEOUT_MS = 60_000


def _numbered_series(folder, slices=SLICES):
    """Each slice holds a disc of 10 x its index HU in air: the image says which slice it is."""
    from workstation.dicom.image_writer import SeriesInfo, write_volume
    from workstation.model.volume import Volume

    y, x = np.indices((64, 64))
    disc = (x - 32) ** 2 + (y - 32) ** 2 <= 20**2
    voxels = np.where(disc[None], 10 * np.arange(slices)[:, None, None], -1000).astype(np.int16)
    volume = Volume(voxels, spacing=(0.7, 0.7, 1.0), modality="CT")
    write_volume(volume, folder, SeriesInfo(series_description="NUMBERED"), shuffle_names=True)
    return folder


@pytest.fixture
def held_assembly(monkeypatch):
    """Pixel reading waits for the gate, so the test sees what shows before it."""
    import workstation.dicom.loader as loader

    gate = threading.Event()
    original = loader.load_headers

    def held(*args, **kwargs):
        assert gate.wait(30)
        return original(*args, **kwargs)

    monkeypatch.setattr(loader, "load_headers", held)
    yield gate
    gate.set()


def _axial_grey_levels(qtbot, window):
    viewer = window.viewer
    with qtbot.waitSignal(viewer.all_rendered, timeout=10_000):
        viewer.render_all()
    return viewer.views["axial"].grab_image()


def test_the_middle_image_shows_before_the_whole_series_is_read(
    qtbot, gui_env, window, tmp_path, held_assembly
):
    folder = _numbered_series(tmp_path / "numbered")
    with qtbot.waitSignal(window.preview_shown, timeout=TIMEOUT_MS) as shown:
        job = window.open_path(folder)
    preview = shown.args[0]
    assert not job.done  # the pixels of the series are not read yet
    assert preview.shape_zyx == (1, 64, 64)
    middle = SLICES // 2
    assert preview.voxels[0, 32, 32] == 10 * middle  # the middle slice along the normal
    assert window.viewer.volume is preview and window.loaded is None
    image = _axial_grey_levels(qtbot, window)
    assert image.std() > 5  # the disc is on the screen
    assert "loading" in window.viewer.slice_views["axial"]._info_text

    held_assembly.set()
    with qtbot.waitSignal(window.series_opened, timeout=TIMEOUT_MS) as opened:
        pass
    assert opened.args[0].volume.shape_zyx == (SLICES, 64, 64)
    assert window.viewer.volume is opened.args[0].volume


def test_a_cancelled_load_puts_back_the_series_shown_before(
    qtbot, gui_env, window, tmp_path, held_assembly
):
    first = _numbered_series(tmp_path / "first", slices=20)
    held_assembly.set()
    with qtbot.waitSignal(window.series_opened, timeout=TIMEOUT_MS) as opened:
        window.open_path(first)
    before = opened.args[0]
    held_assembly.clear()

    second = _numbered_series(tmp_path / "second")
    with qtbot.waitSignal(window.preview_shown, timeout=TIMEOUT_MS):
        job = window.open_path(second)
    assert window.loaded is None
    with qtbot.waitSignal(job.cancelled, timeout=TIMEOUT_MS):
        qtbot.mouseClick(window.progress.cancel_button, Qt.MouseButton.LeftButton)
        held_assembly.set()
    assert window.loaded is before and window.viewer.volume is before.volume
