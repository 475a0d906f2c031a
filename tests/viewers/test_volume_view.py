"""VolumeView: every preset renders, and the patient faces the viewer."""

from __future__ import annotations

import numpy as np
import pytest
from support.viewer_phantoms import MARKER, centred_volume, chest_phantom, paint

from viewers.volume_view import VolumeView, is_software_opengl
from workstation.model.presets import VOLUME_PRESETS

pytestmark = pytest.mark.gui


@pytest.fixture
def volume_view(qtbot) -> VolumeView:
    view = VolumeView()
    qtbot.addWidget(view)
    view.resize(240, 240)
    view.show()
    qtbot.waitExposed(view)
    return view


@pytest.mark.parametrize("preset", list(VOLUME_PRESETS))
def test_each_preset_renders_something(volume_view, preset):
    volume = chest_phantom()
    paint(volume, ((-4, 4), (10, 18), (-40, 40)), 700)  # a spine for the bone preset
    volume_view.set_volume(volume)
    volume_view.set_preset(preset)
    image = volume_view.grab_image()
    assert image.std() > 5
    assert (image.max(axis=2) > 30).mean() > 0.02  # a visible share of the pixels lit


def test_empty_and_unknown_preset(volume_view):
    volume_view.set_volume(None)
    volume_view.render()
    assert volume_view.grab_image().max() == 0
    with pytest.raises(ValueError):
        volume_view.set_preset("CT heart")


@pytest.mark.parametrize("mode", ["auto", "cpu"])
def test_patient_faces_the_viewer(volume_view, mode):
    """MIP of a dot on the patient's left, stored right-to-left: it shows on screen right."""
    volume = centred_volume(np.diag([-1.0, 1.0, 1.0]))
    paint(volume, ((10, 18), (-4, 4), (20, 35)), MARKER)  # left and superior
    volume_view.set_render_mode(mode)
    volume_view.set_volume(volume)
    volume_view.set_preset("MIP")
    image = volume_view.grab_image()
    if mode == "cpu":
        assert volume_view.used_render_mode == "cpu"
    else:  # a small volume keeps GPU ray casting, even through software OpenGL
        assert volume_view.used_render_mode == "gpu"
    rows, columns = np.nonzero(image.max(axis=2) > 128)
    assert columns.size > 0
    assert columns.mean() > 120 + 10  # screen right: patient's left
    assert rows.mean() < 120 - 10  # top: superior


def test_auto_mode_uses_the_cpu_caster_for_large_volumes_on_software_opengl(volume_view):
    volume = centred_volume(np.eye(3))
    big = volume.with_voxels(np.zeros((60, 300, 300), np.int16))
    big.voxels[20:40, 100:200, 100:200] = 1000
    volume_view.set_render_mode("auto")
    volume_view.set_volume(big)
    volume_view.set_preset("MIP")
    volume_view.grab_image()
    capabilities = volume_view.vtk_widget.GetRenderWindow().ReportCapabilities()
    expected = "cpu" if is_software_opengl(capabilities) else "gpu"
    assert volume_view.used_render_mode == expected


def test_large_volumes_render_a_downsampled_overview_in_place():
    from viewers.volume_view import MAX_RENDERED_VOXELS, overview_image
    from workstation.model.conversions import to_vtk

    volume = centred_volume(np.eye(3))
    small = to_vtk(volume)
    assert overview_image(small) is small
    big = to_vtk(volume.with_voxels(np.zeros((300, 512, 512), np.int16)))
    big.SetSpacing(0.7, 0.7, 1.0)
    shrunk = overview_image(big)
    nx, ny, nz = shrunk.GetDimensions()
    assert nx * ny * nz <= MAX_RENDERED_VOXELS
    # the grid keeps its extent in mm, so the prop's matrix still places it right
    for axis in range(3):
        extent_mm = (big.GetDimensions()[axis] - 1) * big.GetSpacing()[axis]
        shrunk_mm = (shrunk.GetDimensions()[axis] - 1) * shrunk.GetSpacing()[axis]
        assert abs(shrunk_mm - extent_mm) <= shrunk.GetSpacing()[axis]
        assert shrunk.GetOrigin()[axis] == big.GetOrigin()[axis]
