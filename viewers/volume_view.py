"""3D volume rendering of a Volume, in a Qt widget.

vtkSmartVolumeMapper chooses GPU ray casting when the OpenGL driver supports it
and falls back to CPU ray casting otherwise (Mesa's llvmpipe under Xvfb handles
either). The grid image carries no direction (see :mod:`viewers.grid_image`), so
the volume's LPS placement is the prop's user matrix, which every mapper honours.
The camera starts in front of the patient: anterior towards the viewer, superior
up, so the patient's left is on the screen's right as in a coronal slice.
Mouse: left-drag rotates, right-drag or wheel zooms, middle-drag pans.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget
from vtkmodules.vtkCommonDataModel import vtkImageData, vtkPiecewiseFunction
from vtkmodules.vtkCommonMath import vtkMatrix4x4
from vtkmodules.vtkImagingCore import vtkImageResample
from vtkmodules.vtkInteractionStyle import vtkInteractorStyleTrackballCamera
from vtkmodules.vtkRenderingCore import (
    vtkColorTransferFunction,
    vtkRenderer,
    vtkVolume,
    vtkVolumeProperty,
)
from vtkmodules.vtkRenderingVolumeOpenGL2 import vtkSmartVolumeMapper

import viewers.vtk_backends  # noqa: F401  (OpenGL and volume back-ends)
from viewers.grid_image import grid_image, grid_to_world, world_centre
from viewers.render_capture import grab_render_window
from viewers.render_widget import RenderWidget
from workstation.model.presets import VOLUME_PRESETS, VolumePreset
from workstation.model.volume import Volume

DEFAULT_PRESET = "CT soft tissue"
#: "auto": GPU ray casting when OpenGL allows, else CPU; "cpu" forces the software path.
RENDER_MODES = ("auto", "gpu", "cpu")
#: OpenGL renderers that emulate the GPU on the CPU: GPU ray casting through them is
#: 10-20x slower than VTK's CPU ray caster on large volumes (benchmarks/render.py), so
#: "auto" avoids it there. Small volumes keep it: it is fast enough, and the CPU caster
#: shades them much darker.
SOFTWARE_OPENGL = ("llvmpipe", "softpipe", "swrast", "swiftshader")
#: Rendered voxels above which "auto" prefers the CPU caster on software OpenGL.
SOFTWARE_GPU_VOXEL_LIMIT = 4_000_000

#: Above this many voxels the 3D view renders a downsampled copy: it is an overview, and
#: full resolution costs seconds per frame on a CPU (benchmarks/render.py).
MAX_RENDERED_VOXELS = 16_000_000


def overview_image(image: vtkImageData) -> vtkImageData:
    """``image`` itself when small enough, else a linearly resampled copy under the cap.

    The finest axes are halved first; grid coordinates (mm) are preserved, so the
    prop's matrix still maps the copy to the right place.
    """
    dims = np.array(image.GetDimensions(), dtype=float)
    spacing = np.array(image.GetSpacing(), dtype=float)
    factors = np.ones(3)
    while np.prod(np.ceil(dims / factors)) > MAX_RENDERED_VOXELS:
        factors[np.argmin(spacing * factors)] *= 2
    if np.all(factors == 1):
        return image
    resample = vtkImageResample()
    resample.SetInputData(image)
    for axis, factor in enumerate(factors):
        resample.SetAxisMagnificationFactor(axis, 1.0 / factor)
    resample.SetInterpolationModeToLinear()
    resample.Update()
    return resample.GetOutput()


def is_software_opengl(capabilities: str) -> bool:
    """Whether a render window's ReportCapabilities() text names a software renderer."""
    text = capabilities.lower()
    return any(name in text for name in SOFTWARE_OPENGL)


def transfer_functions(
    preset: VolumePreset, value_range: tuple[float, float]
) -> tuple[vtkColorTransferFunction, vtkPiecewiseFunction]:
    """The colour and opacity functions of a preset (relative ones span ``value_range``)."""
    low, high = value_range

    def value(x: float) -> float:
        return low + x * (high - low) if preset.relative else x

    colour = vtkColorTransferFunction()
    for x, r, g, b in preset.colour_points:
        colour.AddRGBPoint(value(x), r, g, b)
    opacity = vtkPiecewiseFunction()
    for x, alpha in preset.opacity_points:
        opacity.AddPoint(value(x), alpha)
    return colour, opacity


class VolumeView(QWidget):
    """A 3D view with transfer-function presets."""

    rendered = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.orientation = "3d"
        self._volume: Volume | None = None
        self._preset = DEFAULT_PRESET
        self._vtk = RenderWidget(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._vtk)
        self._render_window = self._vtk.GetRenderWindow()
        self._renderer = vtkRenderer()
        self._renderer.SetBackground(0.0, 0.0, 0.0)
        self._render_window.AddRenderer(self._renderer)
        self._vtk.SetInteractorStyle(vtkInteractorStyleTrackballCamera())
        self._vtk.Enable()
        self._mapper = vtkSmartVolumeMapper()
        self._mapper.SetRequestedRenderModeToDefault()
        self._render_mode = "auto"
        self._ray_caster_chosen = False
        self._property = vtkVolumeProperty()
        self._property.SetInterpolationTypeToLinear()
        self._prop = vtkVolume()
        self._prop.SetMapper(self._mapper)
        self._prop.SetProperty(self._property)
        self._prop.VisibilityOff()
        self._renderer.AddVolume(self._prop)
        self._render_window.AddObserver("EndEvent", lambda *_: self.rendered.emit())
        self._render_timer = QTimer(self)
        self._render_timer.setSingleShot(True)
        self._render_timer.timeout.connect(self.render)

    @property
    def volume(self) -> Volume | None:
        return self._volume

    @property
    def preset(self) -> str:
        return self._preset

    @property
    def vtk_widget(self) -> RenderWidget:
        return self._vtk

    def set_volume(self, volume: Volume | None, image: vtkImageData | None = None) -> None:
        """Render ``volume`` (``None`` empties the view); ``image`` as in SliceView."""
        self._volume = volume
        if volume is None:
            self._prop.VisibilityOff()
            self.request_render()
            return
        image = image if image is not None else grid_image(volume)
        self._mapper.SetInputData(overview_image(image))
        matrix = vtkMatrix4x4()
        matrix.DeepCopy(grid_to_world(volume).ravel())
        self._prop.SetUserMatrix(matrix)
        self._property.SetScalarOpacityUnitDistance(min(volume.spacing))
        self._prop.VisibilityOn()
        self.set_preset(self._preset)
        self.reset_camera()

    def set_preset(self, name: str) -> None:
        """Apply a preset of :data:`workstation.model.presets.VOLUME_PRESETS`."""
        if name not in VOLUME_PRESETS:
            raise ValueError(f"unknown volume preset {name!r}; use one of {list(VOLUME_PRESETS)}")
        self._preset = name
        preset = VOLUME_PRESETS[name]
        if self._volume is not None:
            value_range = self._mapper.GetInput().GetScalarRange()
            colour, opacity = transfer_functions(preset, value_range)
            self._property.SetColor(colour)
            self._property.SetScalarOpacity(opacity)
        if preset.blend == "mip":
            self._mapper.SetBlendModeToMaximumIntensity()
        else:
            self._mapper.SetBlendModeToComposite()
        self._property.SetShade(preset.shade)
        self._property.SetAmbient(preset.ambient)
        self._property.SetDiffuse(preset.diffuse)
        self._property.SetSpecular(preset.specular)
        self.request_render()

    def set_render_mode(self, mode: str) -> None:
        """Choose the ray caster (see :data:`RENDER_MODES`)."""
        if mode not in RENDER_MODES:
            raise ValueError(f"unknown render mode {mode!r}; use one of {RENDER_MODES}")
        self._render_mode = mode
        self._ray_caster_chosen = mode != "auto"
        if mode == "gpu":
            self._mapper.SetRequestedRenderModeToGPU()
        elif mode == "cpu":
            self._mapper.SetRequestedRenderModeToRayCast()
        else:
            self._mapper.SetRequestedRenderModeToDefault()
        self.request_render()

    @property
    def used_render_mode(self) -> str:
        """What the last render used: ``"gpu"``, ``"cpu"`` or ``""`` before any."""
        return {
            vtkSmartVolumeMapper.GPURenderMode: "gpu",
            vtkSmartVolumeMapper.RayCastRenderMode: "cpu",
        }.get(self._mapper.GetLastUsedRenderMode(), "")

    def reset_camera(self) -> None:
        """Face the patient: camera anterior, looking posterior (+y), superior up."""
        if self._volume is None:
            return
        centre = world_centre(self._volume)
        camera = self._renderer.GetActiveCamera()
        camera.SetFocalPoint(*centre)
        camera.SetPosition(*(centre - np.array([0.0, 1.0, 0.0])))
        camera.SetViewUp(0.0, 0.0, 1.0)
        self._renderer.ResetCamera()
        self.request_render()

    def request_render(self) -> None:
        self._render_timer.start(0)

    def render(self) -> None:
        self._render_timer.stop()
        if not self._ray_caster_chosen and self._volume is not None:
            self._choose_ray_caster()
        self._render_window.Render()

    def _choose_ray_caster(self) -> None:
        """In "auto", use the CPU ray caster when OpenGL is a software emulation.

        The capabilities are known only once the window has a context, so the
        first call renders once without the volume (cheap) to create it.
        """
        visible = self._prop.GetVisibility()
        self._prop.VisibilityOff()
        self._render_window.Render()
        self._prop.SetVisibility(visible)
        rendered_voxels = np.prod(self._mapper.GetInput().GetDimensions())
        software = is_software_opengl(self._render_window.ReportCapabilities())
        if software and rendered_voxels > SOFTWARE_GPU_VOXEL_LIMIT:
            self._mapper.SetRequestedRenderModeToRayCast()
        self._ray_caster_chosen = True

    def grab_image(self) -> np.ndarray:
        """The view as ``[rows, columns, 3]`` uint8 RGB, top row first."""
        self._render_timer.stop()
        if not self._ray_caster_chosen and self._volume is not None:
            self._choose_ray_caster()
        return grab_render_window(self._render_window)

    def closeEvent(self, event) -> None:
        self._render_timer.stop()
        self._vtk.Finalize()
        super().closeEvent(event)
