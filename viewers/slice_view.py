"""One MPR plane of a Volume, resliced in LPS world coordinates, in a Qt widget.

The scene is drawn in the plane's own 2D frame ``(u, v)`` (see :mod:`viewers.plane`):
the camera looks down the plane normal with ``up`` on top, so radiological
orientation comes from the plane axes alone, and scrolling only moves the reslice
along the normal (the volume is uploaded once and shared by every view).

Mouse: left-drag window/level; right-drag zoom; middle-drag pan; wheel scroll
(Ctrl+wheel zoom); Shift+left (or the "crosshair" tool) moves the crosshair;
Ctrl+left-drag rotates it (oblique MPR). In a measurement tool, left clicks place
points. Keys: Up/Down one slice, PageUp/PageDown ten, 1..6 window presets,
Escape cancels a measurement, Home refits the image.

"Display" positions in this API are this widget's pixels, origin top-left, as Qt
mouse events report them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget
from vtkmodules.vtkCommonDataModel import vtkImageData
from vtkmodules.vtkRenderingCore import vtkImageActor, vtkRenderer

import viewers.vtk_backends  # noqa: F401  (OpenGL and text back-ends)
from viewers.annotations import SliceAnnotations
from viewers.crosshair import Crosshair
from viewers.grid_image import grid_image, world_centre
from viewers.measurement_layer import MeasurementLayer, drawing
from viewers.overlays import LabelOverlay, ParametricOverlay
from viewers.plane import PlaneAxes, direction_label, position_axis
from viewers.render_capture import grab_render_window
from viewers.render_widget import RenderWidget
from viewers.reslice import SLAB_MODES, PlaneReslicer, SliceGrid, slice_grid
from viewers.slice_interaction import SliceInteraction
from workstation.model.measurements import (
    POINTS_NEEDED,
    Measurement,
    MeasurementKind,
    ellipse_outline,
    ellipse_points,
    measure,
    voxel_step_along,
)
from workstation.model.presets import WINDOW_PRESETS
from workstation.model.volume import Volume

TOOLS = ("none", "crosshair", "distance", "angle", "ellipse", "freehand", "probe")
CAMERA_DISTANCE_MM = 1000.0
FIT_MARGIN = 1.04


def default_window(volume: Volume) -> tuple[float, float]:
    """Soft-tissue window for CT; otherwise the 1st..99th percentile of the values."""
    if volume.modality == "CT":
        return WINDOW_PRESETS["soft tissue"]
    sample = np.asarray(volume.voxels).ravel()[:: max(1, volume.voxels.size // 200_000)]
    low, high = np.percentile(sample, [1, 99])
    return max(float(high - low), 1.0), float(high + low) / 2


class SliceView(QWidget):
    """A slice (MPR) view: axial, coronal, sagittal or oblique."""

    #: Slice position in mm along the plane's position axis (axial: the S coordinate).
    slice_changed = Signal(float)
    window_changed = Signal(float, float)
    #: A crosshair the user placed (Shift+click, crosshair tool), as an LPS tuple.
    crosshair_moved = Signal(tuple)
    measurement_added = Signal(object)
    #: The render window finished a render.
    rendered = Signal()
    #: Ctrl+drag turned the crosshair by this many degrees (counter-clockwise on screen).
    oblique_rotated = Signal(float)
    #: The user pressed a mouse button in this view.
    activated = Signal()

    def __init__(self, orientation: str = "axial", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.orientation = orientation
        self._axes = PlaneAxes.standard(orientation)
        self._volume: Volume | None = None
        self._image: vtkImageData | None = None
        self._frame = 0
        self._info_text = ""
        self._centre = np.zeros(3)
        self._offset = 0.0
        self._offset_range = (0.0, 0.0)
        self._step = 1.0
        self._grid: SliceGrid | None = None
        self._window = WINDOW_PRESETS["soft tissue"]
        self._slab = ("none", 0.0)
        self._crosshair: np.ndarray | None = None
        self._crosshair_directions: list[np.ndarray] | None = None
        self._crosshair_visible = True
        self._tool = "none"
        self._pending: list[np.ndarray] = []
        self._measurements: list[Measurement] = []
        self._view_adjusted = False

        self._vtk = RenderWidget(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._vtk)
        self._render_window = self._vtk.GetRenderWindow()
        self._renderer = vtkRenderer()
        self._renderer.SetBackground(0.0, 0.0, 0.0)
        self._render_window.AddRenderer(self._renderer)
        self._vtk.Enable()  # lets Qt paint events render; events go to SliceInteraction

        camera = self._renderer.GetActiveCamera()
        camera.ParallelProjectionOn()
        camera.SetPosition(0.0, 0.0, CAMERA_DISTANCE_MM)
        camera.SetFocalPoint(0.0, 0.0, 0.0)
        camera.SetViewUp(0.0, 1.0, 0.0)
        camera.SetClippingRange(1.0, 2 * CAMERA_DISTANCE_MM)

        self._reslicer = PlaneReslicer(interpolation="linear")
        self._image_actor = vtkImageActor()
        self._image_actor.GetMapper().SetInputConnection(self._reslicer.output_port())
        self._image_actor.VisibilityOff()
        self._renderer.AddActor(self._image_actor)
        self._labels = LabelOverlay()
        self._parametric = ParametricOverlay()
        self._renderer.AddActor(self._parametric.actor)
        self._renderer.AddActor(self._labels.actor)
        self._renderer.AddViewProp(self._parametric.legend)
        self._crosshair_actor = Crosshair()
        self._renderer.AddActor(self._crosshair_actor.actor)
        self._measurement_layer = MeasurementLayer(self._renderer)
        self.annotations = SliceAnnotations()
        self.annotations.add_to(self._renderer)
        self.annotations.set_visible(False)

        self._renderer.AddObserver("StartEvent", self._before_render)
        self._render_window.AddObserver("EndEvent", lambda *_: self.rendered.emit())
        self._render_timer = QTimer(self)
        self._render_timer.setSingleShot(True)
        self._render_timer.timeout.connect(self.render)
        self._interaction = SliceInteraction(self)
        self._vtk.installEventFilter(self._interaction)

    # --- volume --------------------------------------------------------------

    @property
    def volume(self) -> Volume | None:
        return self._volume

    @property
    def vtk_widget(self) -> RenderWidget:
        """The render widget (send simulated mouse events here)."""
        return self._vtk

    def set_volume(
        self, volume: Volume | None, image: vtkImageData | None = None, info_text: str = ""
    ) -> None:
        """Show ``volume`` (``None`` empties the view).

        ``image`` is the volume's grid image (:func:`viewers.grid_image.grid_image`) when
        the caller shares one between views; otherwise the view makes its own.
        """
        self._volume = volume
        self._info_text = info_text
        self._pending.clear()
        self._measurements.clear()
        self.clear_overlays()
        self._frame = 0
        if volume is None:
            self._image = None
            self._grid = None
            self._image_actor.VisibilityOff()
            self._crosshair_actor.hide()
            self.annotations.set_visible(False)
            self._measurement_layer.show([])
            self._measurement_layer.show_preview([], closed=False)
            self.request_render()
            return
        self._image = image if image is not None else grid_image(volume)
        self._reslicer.set_input(self._image)
        self._reslicer.set_background(float(self._image.GetScalarRange()[0]))
        self._centre = world_centre(volume)
        self._axes = PlaneAxes.standard(self.orientation)
        self._offset = 0.0
        self._crosshair = None
        self._crosshair_directions = None
        self._image_actor.VisibilityOn()
        self.annotations.set_visible(True)
        self._view_adjusted = False
        self.set_window(*default_window(volume), notify=False)
        self._update_plane(snap=True)
        self.fit()

    def set_info_text(self, text: str) -> None:
        """Patient/study text for the upper-left corner."""
        self._info_text = text
        self._update_corner_text()
        self.request_render()

    def set_frame(self, frame: int) -> None:
        """Which frame of a 4D volume the shared image now holds (text, measurements)."""
        self._frame = frame
        self._update_corner_text()
        self.request_render()

    # --- plane -----------------------------------------------------------------

    @property
    def plane_axes(self) -> PlaneAxes:
        return self._axes

    @property
    def plane_point(self) -> np.ndarray:
        """An LPS point on the current plane (the volume centre projected onto it)."""
        return self._centre + self._offset * self._axes.normal

    @property
    def slice_step(self) -> float:
        """Scroll step in mm: one voxel along the plane normal."""
        return self._step

    @property
    def slice_position(self) -> float:
        """Position in mm along :func:`viewers.plane.position_axis` of the normal."""
        return float(position_axis(self._axes.normal) @ self.plane_point)

    @property
    def slice_index(self) -> tuple[int, int]:
        """``(number, count)`` of the current slice, 1-based, along the scroll direction."""
        low, high = self._offset_range
        count = int(np.floor((high - low) / self._step + 1e-6)) + 1
        number = round((self._offset - low) / self._step) + 1
        if self._scroll_sign() < 0:
            number = count + 1 - number
        return number, count

    def set_plane(
        self, right: Sequence[float], up: Sequence[float], point: Sequence[float] | None = None
    ) -> None:
        """Show the plane with these screen axes (LPS) through ``point`` (oblique MPR).

        The crosshair keeps its place on screen, so tilting a plane does not make the
        image jump.
        """
        old_uv = self._uv_of(self._crosshair) if self._crosshair is not None else None
        self._axes = PlaneAxes.from_vectors(right, up)
        if self._volume is None:
            return
        if point is not None:
            self._offset = float(self._axes.normal @ (np.asarray(point, float) - self._centre))
        self._update_plane(snap=point is None)
        if old_uv is not None:
            self._pan_scene(self._uv_of(self._crosshair) - old_uv)

    def reset_plane(self) -> None:
        """Back to the standard orientation of this view."""
        standard = PlaneAxes.standard(self.orientation)
        self.set_plane(standard.right, standard.up, self._crosshair)

    def scroll(self, steps: int) -> None:
        """Move the plane ``steps`` voxels along the normal (positive: up the position axis)."""
        if self._volume is None:
            return
        self._set_offset(self._offset + steps * self._step * self._scroll_sign())

    def set_slice_position(self, position_mm: float) -> None:
        """Move to a position along the position axis (see :attr:`slice_position`)."""
        if self._volume is None:
            return
        axis = position_axis(self._axes.normal)
        offset = (position_mm - axis @ self._centre) / (axis @ self._axes.normal)
        self._set_offset(float(offset))

    def go_to(self, lps: Sequence[float]) -> None:
        """Move to the slice nearest ``lps`` and put the crosshair there."""
        if self._volume is None:
            return
        point = np.asarray(lps, float)
        self._crosshair = point
        # a point already on the plane (clicked in this view) must not re-snap an oblique plane
        snap = abs(self.distance_to_plane(point)) > 1e-6
        self._set_offset(float(self._axes.normal @ (point - self._centre)), snap=snap)

    def _scroll_sign(self) -> float:
        return float(np.sign(position_axis(self._axes.normal) @ self._axes.normal))

    def _set_offset(self, offset: float, snap: bool = False) -> None:
        low, high = self._offset_range
        if snap:
            offset = low + round((offset - low) / self._step) * self._step
        offset = float(np.clip(offset, low, high))
        if abs(offset - self._offset) < 1e-9 and self._grid is not None:
            self._refresh_scene()
            return
        self._offset = offset
        self._apply_grid()
        self.slice_changed.emit(self.slice_position)

    def _update_plane(self, snap: bool) -> None:
        """Recompute step, scroll range and grid after the axes changed."""
        volume = self._volume
        assert volume is not None
        normal = self._axes.normal
        self._step = voxel_step_along(volume, normal)
        ends = np.array(volume.shape_zyx[::-1], float) - 1
        centres = volume.index_to_world(
            np.array([[i, j, k] for i in (0, ends[0]) for j in (0, ends[1]) for k in (0, ends[2])])
        )
        along = (centres - self._centre) @ normal
        self._offset_range = (float(along.min()), float(along.max()))
        self._grid = None
        self._set_offset(self._offset, snap=snap)
        self._apply_slab()

    def _apply_grid(self) -> None:
        assert self._volume is not None
        self._grid = slice_grid(self._volume, self._centre, self._axes, self._offset, self._step)
        self._reslicer.set_grid(self._grid)
        self._labels.update(self._grid)
        self._parametric.update(self._grid)
        self._refresh_scene()

    def _refresh_scene(self) -> None:
        """Crosshair, measurements and text for the current plane."""
        self._update_crosshair()
        self._update_measurements()
        self._update_corner_text()
        self.request_render()

    # --- coordinates -------------------------------------------------------------

    def _uv_of(self, lps: np.ndarray) -> np.ndarray:
        rel = np.asarray(lps, float) - self._centre
        return np.stack([rel @ self._axes.right, rel @ self._axes.up], axis=-1)

    def _lps_of(self, u: float, v: float) -> np.ndarray:
        return self.plane_point + u * self._axes.right + v * self._axes.up

    def _pixel_ratio(self) -> float:
        return float(self._vtk.devicePixelRatioF())

    def _to_vtk_display(self, x: float, y: float) -> tuple[float, float]:
        ratio = self._pixel_ratio()
        height = self._render_window.GetSize()[1]
        return x * ratio, height - y * ratio - 1

    def scene_at(self, x: float, y: float) -> np.ndarray:
        """Plane coordinates ``(u, v)`` under a display position."""
        dx, dy = self._to_vtk_display(x, y)
        self._renderer.SetDisplayPoint(dx, dy, 0.0)
        self._renderer.DisplayToWorld()
        world = self._renderer.GetWorldPoint()
        return np.array([world[0] / world[3], world[1] / world[3]])

    def world_at(self, x: float, y: float) -> tuple[float, float, float]:
        """The LPS point on the current plane under display position ``(x, y)``."""
        u, v = self.scene_at(x, y)
        return tuple(float(c) for c in self._lps_of(u, v))  # type: ignore[return-value]

    def display_of(self, lps: Sequence[float]) -> tuple[float, float]:
        """Display position of an LPS point projected onto the plane."""
        u, v = self._uv_of(np.asarray(lps, float))
        self._renderer.SetWorldPoint(u, v, 0.0, 1.0)
        self._renderer.WorldToDisplay()
        dx, dy, _ = self._renderer.GetDisplayPoint()
        ratio = self._pixel_ratio()
        height = self._render_window.GetSize()[1]
        return dx / ratio, (height - 1 - dy) / ratio

    def distance_to_plane(self, lps: Sequence[float]) -> float:
        return float(self._axes.normal @ (np.asarray(lps, float) - self.plane_point))

    # --- window / level, slab ------------------------------------------------------

    @property
    def window(self) -> tuple[float, float]:
        """``(width, level)``."""
        return self._window

    def set_window(self, width: float, level: float, notify: bool = True) -> None:
        width = max(float(width), 1e-3)
        self._window = (width, float(level))
        prop = self._image_actor.GetProperty()
        prop.SetColorWindow(width)
        prop.SetColorLevel(float(level))
        self._update_corner_text()
        self.request_render()
        if notify:
            self.window_changed.emit(width, float(level))

    def set_preset(self, name: str) -> None:
        """Apply a window/level preset of :data:`workstation.model.presets.WINDOW_PRESETS`."""
        if name not in WINDOW_PRESETS:
            raise ValueError(f"unknown window preset {name!r}; use one of {list(WINDOW_PRESETS)}")
        self.set_window(*WINDOW_PRESETS[name])

    @property
    def slab(self) -> tuple[str, float]:
        return self._slab

    def set_slab(self, mode: str, thickness_mm: float = 0.0) -> None:
        """Thick slab: ``"mip"``, ``"minip"``, ``"mean"`` over ``thickness_mm``; ``"none"``."""
        if mode not in SLAB_MODES:
            raise ValueError(f"unknown slab mode {mode!r}; use one of {SLAB_MODES}")
        self._slab = (mode, float(thickness_mm))
        self._apply_slab()
        self._update_corner_text()
        self.request_render()

    def _apply_slab(self) -> None:
        mode, thickness = self._slab
        slices = max(1, round(thickness / self._step)) if mode != "none" else 1
        self._reslicer.set_slab(mode, slices)

    # --- crosshair ---------------------------------------------------------------

    @property
    def crosshair(self) -> tuple[float, float, float] | None:
        return None if self._crosshair is None else tuple(self._crosshair)  # type: ignore[return-value]

    def set_crosshair(
        self, lps: Sequence[float] | None, directions: Sequence[Sequence[float]] | None = None
    ) -> None:
        """Draw the crosshair at ``lps`` along LPS ``directions`` (default: screen axes)."""
        self._crosshair = None if lps is None else np.asarray(lps, float)
        self._crosshair_directions = (
            None if directions is None else [np.asarray(d, float) for d in directions]
        )
        self._update_crosshair()
        self.request_render()

    def set_crosshair_visible(self, visible: bool) -> None:
        self._crosshair_visible = visible
        self._update_crosshair()
        self.request_render()

    def move_crosshair_to(self, x: float, y: float) -> None:
        """User placed the crosshair at a display position."""
        if self._volume is None:
            return
        point = self.world_at(x, y)
        self.set_crosshair(point, self._crosshair_directions)
        self.crosshair_moved.emit(point)

    def _update_crosshair(self) -> None:
        if self._crosshair is None or self._grid is None or not self._crosshair_visible:
            self._crosshair_actor.hide()
            return
        directions = self._crosshair_directions or [self._axes.right, self._axes.up]
        uv_dirs = [np.array([d @ self._axes.right, d @ self._axes.up]) for d in directions]
        u0, u1, v0, v1 = self._grid.bounds_uv
        half_length = float(np.hypot(u1 - u0, v1 - v0))
        self._crosshair_actor.show(
            self._uv_of(self._crosshair), uv_dirs, half_length, gap=4 * self._grid.spacing[0]
        )

    # --- overlays -------------------------------------------------------------------

    def _overlay_image(self, array: np.ndarray, image: vtkImageData | None) -> vtkImageData:
        """The overlay's grid image (made here unless the caller shares one)."""
        volume = self._volume
        assert volume is not None
        if array.shape != volume.shape_zyx:
            raise ValueError(f"overlay shape {array.shape} differs from volume {volume.shape_zyx}")
        return image if image is not None else grid_image(volume.with_voxels(array))

    def set_label_overlay(
        self,
        labels: np.ndarray,
        colours: Mapping[int, tuple[float, float, float]],
        opacity: float = 0.5,
        visible_labels: Iterable[int] | None = None,
        outline: bool = False,
        image: vtkImageData | None = None,
    ) -> None:
        """Colour label values of a ``[z, y, x]`` array on the image grid (0 is clear).

        Colours are RGB in 0..1 or 0..255; ``visible_labels`` limits which show.
        """
        if self._volume is None:
            return
        source = self._overlay_image(np.asarray(labels, np.int32), image)
        self._labels.set_labels(source, colours, opacity, visible_labels, outline)
        if self._grid is not None:
            self._labels.update(self._grid)
        self.request_render()

    def set_parametric_overlay(
        self,
        values: np.ndarray,
        lut: str = "rainbow",
        value_range: tuple[float, float] | None = None,
        threshold: float | None = None,
        title: str = "",
        opacity: float = 0.6,
        image: vtkImageData | None = None,
    ) -> None:
        """Colour a float ``[z, y, x]`` map; values below ``threshold`` stay clear.

        ``value_range`` defaults to the map's finite min..max; the legend shows it.
        """
        if self._volume is None:
            return
        values = np.asarray(values, np.float32)
        if value_range is None:
            finite = values[np.isfinite(values)]
            low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
            value_range = (low, high if high > low else low + 1.0)
        source = self._overlay_image(values, image)
        self._parametric.set_values(source, lut, value_range, threshold, title, opacity)
        if self._grid is not None:
            self._parametric.update(self._grid)
        self.request_render()

    def clear_overlays(self) -> None:
        self._labels.clear()
        self._parametric.clear()
        self.request_render()

    # --- measurements -----------------------------------------------------------------

    @property
    def tool(self) -> str:
        return self._tool

    def set_tool(self, name: str) -> None:
        """``"none"`` (window/level), ``"crosshair"`` or a measurement kind."""
        if name not in TOOLS:
            raise ValueError(f"unknown tool {name!r}; use one of {TOOLS}")
        self._tool = name
        self.cancel_measurement()

    @property
    def measurements(self) -> list[Measurement]:
        return list(self._measurements)

    @property
    def pending_points(self) -> list[tuple[float, float, float]]:
        return [tuple(p) for p in self._pending]  # type: ignore[misc]

    def add_measurement(self, measurement: Measurement) -> None:
        """Show a measurement (it appears when its points lie on the displayed plane)."""
        if all(m.uid != measurement.uid for m in self._measurements):
            self._measurements.append(measurement)
        self._update_measurements()
        self.request_render()

    def remove_measurement(self, uid: str) -> None:
        self._measurements = [m for m in self._measurements if m.uid != uid]
        self._update_measurements()
        self.request_render()

    def clear_measurements(self) -> None:
        self._measurements.clear()
        self._update_measurements()
        self.request_render()

    def measurement_texts(self) -> list[str]:
        """Value texts drawn on the current slice."""
        return self._measurement_layer.texts()

    def place_point(self, lps: Sequence[float]) -> Measurement | None:
        """Add a control point with the current tool; returns the measurement it completes."""
        if self._volume is None or self._tool not in {k.value for k in MeasurementKind}:
            return None
        self._pending.append(np.asarray(lps, float))
        kind = MeasurementKind(self._tool)
        # an ellipse is placed by two corners, then stored as centre and semi-axis ends
        needed = 2 if kind == MeasurementKind.ELLIPSE else POINTS_NEEDED[kind]
        if kind != MeasurementKind.FREEHAND and len(self._pending) >= needed:
            return self.finish_measurement()
        self.show_preview(None)
        return None

    def finish_measurement(self) -> Measurement | None:
        """Complete the measurement from the points placed so far (ends a freehand outline)."""
        points, self._pending = self._pending, []
        self._measurement_layer.show_preview([], closed=False)
        if self._volume is None or not points:
            return None
        kind = MeasurementKind(self._tool)
        if kind == MeasurementKind.ELLIPSE:
            points = [
                np.asarray(p) for p in ellipse_points(*points, self._axes.right, self._axes.up)
            ]
        try:
            measurement = measure(kind, points, self._volume, frame=self._frame)
        except ValueError:  # degenerate shape, or a probe outside the volume
            self.request_render()
            return None
        self.add_measurement(measurement)
        self.measurement_added.emit(measurement)
        return measurement

    def cancel_measurement(self) -> None:
        self._pending.clear()
        self._measurement_layer.show_preview([], closed=False)
        self.request_render()

    def show_preview(self, cursor_lps: Sequence[float] | None) -> None:
        """Rubber band from the placed points to the cursor."""
        points = [*self._pending, *([] if cursor_lps is None else [np.asarray(cursor_lps)])]
        if self._tool == MeasurementKind.ELLIPSE and len(points) == 2:
            try:
                control = ellipse_points(*points, self._axes.right, self._axes.up)
                outline = self._uv_of(ellipse_outline(control))
            except ValueError:
                outline = np.empty((0, 2))
            self._measurement_layer.show_preview(outline, closed=True)
        else:
            uv = self._uv_of(np.asarray(points)) if points else []
            self._measurement_layer.show_preview(uv, closed=self._tool == MeasurementKind.FREEHAND)
        self.request_render()

    def _update_measurements(self) -> None:
        if self._grid is None:
            self._measurement_layer.show([])
            return
        tolerance = self._step / 2 + 1e-3
        on_plane = [
            m
            for m in self._measurements
            if all(abs(self.distance_to_plane(p)) <= tolerance for p in m.points)
        ]
        self._measurement_layer.show([drawing(m, self._uv_of) for m in on_plane])

    # --- camera ------------------------------------------------------------------

    @property
    def camera_scale(self) -> float:
        """Half the viewport height in mm (the parallel scale)."""
        return float(self._renderer.GetActiveCamera().GetParallelScale())

    def fit(self) -> None:
        """Zoom and centre so the whole plane fits the view."""
        self._view_adjusted = False
        self._fit_to(*self._render_window.GetSize())
        self.request_render()

    def _fit_to(self, width: int, height: int) -> None:
        if self._grid is None or width <= 0 or height <= 0:
            return
        u0, u1, v0, v1 = self._grid.bounds_uv
        half_w = (u1 - u0 + self._grid.spacing[0]) / 2
        half_h = (v1 - v0 + self._grid.spacing[1]) / 2
        camera = self._renderer.GetActiveCamera()
        camera.SetParallelScale(FIT_MARGIN * max(half_h, half_w * height / width))
        self._place_camera((u0 + u1) / 2, (v0 + v1) / 2)

    def _place_camera(self, u: float, v: float) -> None:
        camera = self._renderer.GetActiveCamera()
        camera.SetFocalPoint(u, v, 0.0)
        camera.SetPosition(u, v, CAMERA_DISTANCE_MM)
        camera.SetClippingRange(1.0, 2 * CAMERA_DISTANCE_MM)

    def zoom(self, factor: float) -> None:
        """Magnify by ``factor`` (>1 zooms in)."""
        camera = self._renderer.GetActiveCamera()
        camera.SetParallelScale(camera.GetParallelScale() / factor)
        self._view_adjusted = True
        self.request_render()

    def _pan_scene(self, delta_uv: np.ndarray) -> None:
        u, v, _ = self._renderer.GetActiveCamera().GetFocalPoint()
        self._place_camera(u + float(delta_uv[0]), v + float(delta_uv[1]))

    def pan(self, du_mm: float, dv_mm: float) -> None:
        """Move the image by this many mm right and up on screen."""
        self._pan_scene(-np.array([du_mm, dv_mm]))
        self._view_adjusted = True
        self.request_render()

    def handle_resize(self, width: int, height: int) -> None:
        """Keep the image fitted until the user zooms or pans."""
        if not self._view_adjusted:
            ratio = self._pixel_ratio()
            self._fit_to(int(width * ratio), int(height * ratio))

    # --- annotations -----------------------------------------------------------------

    def orientation_labels(self) -> dict[str, str]:
        """Patient-direction letters at the ``left``, ``right``, ``top``, ``bottom`` edges.

        From the camera: screen up is its view-up, screen right is the direction of
        projection crossed with view-up, both mapped from plane to LPS coordinates.
        """
        camera = self._renderer.GetActiveCamera()
        view_up = np.asarray(camera.GetViewUp())
        projection = np.asarray(camera.GetDirectionOfProjection())
        screen_right = np.cross(projection, view_up)
        to_lps = self._axes.matrix
        up, right = to_lps @ view_up, to_lps @ screen_right
        return {
            "right": direction_label(right),
            "left": direction_label(-right),
            "top": direction_label(up),
            "bottom": direction_label(-up),
        }

    def corner_texts(self) -> dict[str, str]:
        return {
            slot: self.annotations.text(slot)
            for slot in ("upper_left", "upper_right", "lower_left", "lower_right")
        }

    def _plane_name(self) -> str:
        standard = PlaneAxes.standard(self.orientation)
        same = np.allclose(standard.right, self._axes.right) and np.allclose(
            standard.up, self._axes.up
        )
        return self.orientation.capitalize() if same else f"Oblique ({self.orientation})"

    def _update_corner_text(self) -> None:
        if self._volume is None:
            return
        width, level = self._window
        number, count = self.slice_index
        upper_right = [self._plane_name()]
        mode, thickness = self._slab
        if mode != "none":
            upper_right.append(f"{mode.upper() if mode != 'minip' else 'MinIP'} {thickness:.1f} mm")
        if self._volume.is_4d:
            times = self._volume.frame_times
            upper_right.append(
                f"Frame {self._frame + 1}/{len(times)}  t={float(times[self._frame]):.1f} s"
            )
        self.annotations.set_corner("upper_left", self._info_text)
        self.annotations.set_corner("upper_right", "\n".join(upper_right))
        self.annotations.set_corner(
            "lower_left", f"Im {number}/{count}\nPos {self.slice_position:.1f} mm"
        )
        self.annotations.set_corner("lower_right", f"W {width:.0f} L {level:.0f}")

    def _before_render(self, *_: object) -> None:
        """Refresh what depends on the camera and the window size."""
        if self._volume is None:
            return
        self.annotations.set_edges(self.orientation_labels())
        width, height = self._render_window.GetSize()
        self.annotations.layout(width, height)
        mm_per_pixel = 2 * self.camera_scale / height if height > 0 else 0.0
        self.annotations.update_scale_bar(mm_per_pixel, width, height)

    # --- rendering ------------------------------------------------------------------------

    def request_render(self) -> None:
        """Render soon, once, however many changes come first."""
        self._render_timer.start(0)

    def render(self) -> None:
        """Render now (emits :attr:`rendered`)."""
        self._render_timer.stop()
        self._render_window.Render()

    def grab_image(self) -> np.ndarray:
        """The view as ``[rows, columns, 3]`` uint8 RGB, top row first."""
        self._render_timer.stop()
        return grab_render_window(self._render_window)

    def closeEvent(self, event) -> None:
        self._render_timer.stop()
        self._vtk.Finalize()
        super().closeEvent(event)
