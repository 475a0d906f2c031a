"""The reading viewer: axial, coronal, sagittal and 3D views of one volume, linked.

This is the one class the UI uses. The volume is converted to VTK once and shared
by all four views; window/level, crosshair and oblique planes are kept in step here.

Layouts: ``"1x1"`` the active view alone (the last one clicked, axial at first);
``"1x2"`` the active slice view beside the 3D view; ``"2x2"`` axial (top left),
coronal (top right), sagittal (bottom left), 3D (bottom right).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)
from vtkmodules.vtkCommonDataModel import vtkImageData

from viewers.grid_image import grid_image, load_frame, world_centre
from viewers.slice_view import SliceView
from viewers.volume_view import VolumeView
from workstation.model.measurements import Measurement
from workstation.model.presets import WINDOW_PRESETS
from workstation.model.volume import Volume

SLICE_VIEWS = ("axial", "coronal", "sagittal")
LAYOUTS = ("1x1", "1x2", "2x2")
#: Grid cell of each view in the 2x2 layout.
GRID_CELLS = {"axial": (0, 0), "coronal": (0, 1), "sagittal": (1, 0), "3d": (1, 1)}
CINE_INTERVAL_MS = 200


class MprViewer(QWidget):
    """Linked MPR slice views plus a 3D view, with layouts, tools, overlays and cine."""

    #: Every visible view has rendered since the last change (e.g. to take a screenshot).
    all_rendered = Signal()
    measurement_added = Signal(object)
    #: The frame of a 4D volume now shown.
    frame_changed = Signal(int)
    #: Window/level of the slice views changed (preset, drag, new volume): width, level.
    window_changed = Signal(float, float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._volume: Volume | None = None
        #: The label array shown last and its grid image (see :meth:`set_label_overlay`).
        self._label_image: tuple[np.ndarray, vtkImageData] | None = None
        self._image: vtkImageData | None = None
        self._frame = 0
        self._layout_name = "2x2"
        self._active = "axial"
        #: Views still to render since the last change, and whether all_rendered is owed.
        self._pending_render: set[str] = set()
        self._awaiting_render = False
        self._views: dict[str, SliceView | VolumeView] = {
            name: SliceView(name, self) for name in SLICE_VIEWS
        }
        self._views["3d"] = VolumeView(self)
        self._grid = QGridLayout()
        self._grid.setSpacing(2)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._cine_bar = self._build_cine_bar()
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addLayout(self._grid, 1)
        outer.addWidget(self._cine_bar)
        self._cine_timer = QTimer(self)
        self._cine_timer.setInterval(CINE_INTERVAL_MS)
        self._cine_timer.timeout.connect(self._next_frame)
        self._all_rendered_timer = QTimer(self)
        self._all_rendered_timer.setSingleShot(True)
        self._all_rendered_timer.timeout.connect(self._check_all_rendered)
        for name, view in self._views.items():
            view.rendered.connect(lambda name=name: self._view_rendered(name))
            if isinstance(view, SliceView):
                self._connect_slice_view(name, view)
        self._place_views()

    def _build_cine_bar(self) -> QWidget:
        bar = QWidget(self)
        row = QHBoxLayout(bar)
        row.setContentsMargins(4, 2, 4, 2)
        self._play_button = QPushButton("Play", bar)
        self._play_button.setCheckable(True)
        self._play_button.toggled.connect(self._set_playing)
        self._frame_slider = QSlider(Qt.Orientation.Horizontal, bar)
        self._frame_slider.valueChanged.connect(self.set_frame)
        self._frame_label = QLabel("", bar)
        row.addWidget(self._play_button)
        row.addWidget(self._frame_slider, 1)
        row.addWidget(self._frame_label)
        bar.hide()
        return bar

    def _connect_slice_view(self, name: str, view: SliceView) -> None:
        view.activated.connect(lambda: self._activate(name))
        view.crosshair_moved.connect(self.go_to)
        view.window_changed.connect(lambda w, level: self._link_window(name, w, level))
        view.measurement_added.connect(lambda m: self._measurement_placed(name, m))
        view.oblique_rotated.connect(lambda degrees: self.rotate_oblique(name, degrees))

    # --- properties ----------------------------------------------------------------

    @property
    def views(self) -> dict[str, SliceView | VolumeView]:
        """``"axial"``, ``"coronal"``, ``"sagittal"`` (SliceView) and ``"3d"`` (VolumeView)."""
        return dict(self._views)

    @property
    def slice_views(self) -> dict[str, SliceView]:
        return {name: self._views[name] for name in SLICE_VIEWS}  # type: ignore[misc]

    @property
    def layout_name(self) -> str:
        return self._layout_name

    @property
    def active_view(self) -> str:
        return self._active

    @property
    def volume(self) -> Volume | None:
        return self._volume

    @property
    def frame(self) -> int:
        return self._frame

    @property
    def cine_bar(self) -> QWidget:
        """Play button and frame slider, shown for 4D volumes."""
        return self._cine_bar

    def visible_view_names(self) -> list[str]:
        """Views the current layout shows, in layout order."""
        if self._layout_name == "2x2":
            return ["axial", "coronal", "sagittal", "3d"]
        if self._layout_name == "1x2":
            slice_view = self._active if self._active in SLICE_VIEWS else "axial"
            return [slice_view, "3d"]
        return [self._active]

    # --- volume ---------------------------------------------------------------------

    def set_volume(self, volume: Volume | None, info_text: str = "") -> None:
        """Show ``volume`` in every view (``None`` empties them); 4D shows frame 0."""
        self.pause()
        self._volume = volume
        self._label_image = None
        self._frame = 0
        self._image = None if volume is None else grid_image(volume, 0)
        for name in SLICE_VIEWS:
            self.slice_views[name].set_volume(volume, self._image, info_text)
        self._views["3d"].set_volume(volume, self._image)  # type: ignore[call-arg]
        is_4d = volume is not None and volume.is_4d
        self._cine_bar.setVisible(is_4d)
        if is_4d:
            assert volume is not None
            self._frame_slider.blockSignals(True)
            self._frame_slider.setRange(0, volume.voxels.shape[0] - 1)
            self._frame_slider.setValue(0)
            self._frame_slider.blockSignals(False)
            self._update_frame_label()
        if volume is not None:
            self.go_to(world_centre(volume))
            self.window_changed.emit(*self.window)
        self._changed()

    def set_info_text(self, text: str) -> None:
        for view in self.slice_views.values():
            view.set_info_text(text)
        self._changed(SLICE_VIEWS)

    # --- layout ---------------------------------------------------------------------

    def set_layout(self, name: str) -> None:
        """``"1x1"``, ``"1x2"`` or ``"2x2"`` (see the module docstring)."""
        if name not in LAYOUTS:
            raise ValueError(f"unknown layout {name!r}; use one of {LAYOUTS}")
        self._layout_name = name
        self._place_views()
        self._changed()

    def set_active_view(self, name: str) -> None:
        """The view ``"1x1"`` shows (and ``"1x2"`` beside the 3D view)."""
        if name not in self._views:
            raise ValueError(f"unknown view {name!r}; use one of {list(self._views)}")
        self._active = name
        if self._layout_name != "2x2":
            self._place_views()
            self._changed()

    def _activate(self, name: str) -> None:
        self._active = name

    def _place_views(self) -> None:
        visible = self.visible_view_names()
        for view in self._views.values():
            self._grid.removeWidget(view)
        for index, name in enumerate(visible):
            cell = GRID_CELLS[name] if self._layout_name == "2x2" else (0, index)
            self._grid.addWidget(self._views[name], *cell)
        for name, view in self._views.items():
            view.setVisible(name in visible)

    # --- display settings -----------------------------------------------------------

    @property
    def window(self) -> tuple[float, float]:
        """``(width, level)`` shared by the slice views."""
        return self.slice_views["axial"].window

    def set_preset(self, name: str) -> None:
        """A window/level preset (workstation.model.presets) on every slice view."""
        if name not in WINDOW_PRESETS:
            raise ValueError(f"unknown window preset {name!r}; use one of {list(WINDOW_PRESETS)}")
        self.set_window(*WINDOW_PRESETS[name])

    def set_window(self, width: float, level: float) -> None:
        self._link_window("", width, level)

    def _link_window(self, source: str, width: float, level: float) -> None:
        for name, view in self.slice_views.items():
            if name != source:
                view.set_window(width, level, notify=False)
        self.window_changed.emit(width, level)
        self._changed(SLICE_VIEWS)

    def set_volume_preset(self, name: str) -> None:
        """A volume-rendering preset (workstation.model.presets) on the 3D view."""
        self._views["3d"].set_preset(name)  # type: ignore[union-attr]
        self._changed(["3d"])

    def set_tool(self, name: str) -> None:
        """``"none"``, ``"crosshair"``, ``"distance"``, ``"angle"``, ``"ellipse"``,
        ``"freehand"`` or ``"probe"``, in every slice view."""
        for view in self.slice_views.values():
            view.set_tool(name)

    def set_slab(self, mode: str, thickness_mm: float = 0.0) -> None:
        """Thick slab (``"mip"``, ``"minip"``, ``"mean"`` or ``"none"``) in every slice view."""
        for view in self.slice_views.values():
            view.set_slab(mode, thickness_mm)
        self._changed(SLICE_VIEWS)

    # --- overlays ---------------------------------------------------------------------

    def set_label_overlay(
        self,
        labels: np.ndarray,
        colours: Mapping[int, tuple[float, float, float]],
        opacity: float = 0.5,
        visible_labels: Iterable[int] | None = None,
        outline: bool = False,
    ) -> None:
        """Label overlay on every slice view (see :meth:`SliceView.set_label_overlay`).

        Passing the very array shown last only re-colours (cheap: a reader's decisions
        change colours, not voxels); pass a new array when the labels change.
        """
        if self._volume is None:
            return
        labels = np.asarray(labels, np.int32)
        cached = self._label_image
        if cached is not None and cached[0] is labels:
            image = cached[1]
        else:
            image = grid_image(self._volume.with_voxels(labels))
            self._label_image = (labels, image)
        for view in self.slice_views.values():
            view.set_label_overlay(labels, colours, opacity, visible_labels, outline, image=image)
        self._changed(SLICE_VIEWS)

    def set_parametric_overlay(
        self,
        values: np.ndarray,
        lut: str = "rainbow",
        value_range: tuple[float, float] | None = None,
        threshold: float | None = None,
        title: str = "",
        opacity: float = 0.6,
    ) -> None:
        """Parametric map on every slice view (see :meth:`SliceView.set_parametric_overlay`)."""
        if self._volume is None:
            return
        values = np.asarray(values, np.float32)
        image = grid_image(self._volume.with_voxels(values))
        for view in self.slice_views.values():
            view.set_parametric_overlay(
                values, lut, value_range, threshold, title, opacity, image=image
            )
        self._changed(SLICE_VIEWS)

    def clear_overlays(self) -> None:
        self._label_image = None
        for view in self.slice_views.values():
            view.clear_overlays()
        self._changed(SLICE_VIEWS)

    # --- crosshair and oblique planes ----------------------------------------------------

    @property
    def crosshair(self) -> tuple[float, float, float] | None:
        return self.slice_views["axial"].crosshair

    def go_to(self, lps: Sequence[float]) -> None:
        """Move every slice view to the world point ``lps`` and put the crosshair there."""
        if self._volume is None:
            return
        for view in self.slice_views.values():
            view.go_to(lps)
        self._update_crosshair_lines()
        self._changed(SLICE_VIEWS)

    def rotate_oblique(self, view_name: str, degrees: float) -> None:
        """Turn the crosshair in ``view_name``: the other two planes tilt about its normal
        through the crosshair point (counter-clockwise as seen in that view)."""
        if self._volume is None or self.crosshair is None:
            return
        axis = self.slice_views[view_name].plane_axes.normal
        for name, view in self.slice_views.items():
            if name != view_name:
                turned = view.plane_axes.rotated(axis, degrees)
                view.set_plane(turned.right, turned.up, self.crosshair)
        self._update_crosshair_lines()
        self._changed(SLICE_VIEWS)

    def reset_oblique(self) -> None:
        """Back to the standard axial, coronal and sagittal planes."""
        for view in self.slice_views.values():
            view.reset_plane()
        self._update_crosshair_lines()
        self._changed(SLICE_VIEWS)

    def _update_crosshair_lines(self) -> None:
        """Each view's crosshair lines are where the other two planes cut it."""
        point = self.crosshair
        views = self.slice_views
        for name, view in views.items():
            normal = view.plane_axes.normal
            directions = [
                np.cross(normal, other.plane_axes.normal)
                for other_name, other in views.items()
                if other_name != name
            ]
            view.set_crosshair(point, directions)

    # --- measurements ---------------------------------------------------------------------

    def _measurement_placed(self, source: str, measurement: Measurement) -> None:
        for name, view in self.slice_views.items():
            if name != source:
                view.add_measurement(measurement)
        self.measurement_added.emit(measurement)

    @property
    def measurements(self) -> list[Measurement]:
        """Every measurement shown, placed here or added, in order of arrival."""
        seen: dict[str, Measurement] = {}
        for view in self.slice_views.values():
            for measurement in view.measurements:
                seen.setdefault(measurement.uid, measurement)
        return list(seen.values())

    def add_measurement(self, measurement: Measurement) -> None:
        """Show a stored measurement in every view whose plane it lies on."""
        for view in self.slice_views.values():
            view.add_measurement(measurement)
        self._changed(SLICE_VIEWS)

    def remove_measurement(self, uid: str) -> None:
        for view in self.slice_views.values():
            view.remove_measurement(uid)
        self._changed(SLICE_VIEWS)

    def clear_measurements(self) -> None:
        for view in self.slice_views.values():
            view.clear_measurements()
        self._changed(SLICE_VIEWS)

    # --- 4D ------------------------------------------------------------------------------

    def set_frame(self, frame: int) -> None:
        """Show frame ``frame`` of a 4D volume (the shared image is refilled in place)."""
        volume = self._volume
        if volume is None or not volume.is_4d or self._image is None:
            return
        frame = int(np.clip(frame, 0, volume.voxels.shape[0] - 1))
        self._frame = frame
        load_frame(self._image, volume, frame)
        for view in self.slice_views.values():
            view.set_frame(frame)
        self._frame_slider.blockSignals(True)
        self._frame_slider.setValue(frame)
        self._frame_slider.blockSignals(False)
        self._update_frame_label()
        self.frame_changed.emit(frame)
        # while cine plays, the (slow) 3D view waits for the pause
        self._changed(SLICE_VIEWS if self.playing else None)

    def play(self) -> None:
        """Start cine (loops over the frames)."""
        if self._volume is not None and self._volume.is_4d:
            self._play_button.setChecked(True)

    def pause(self) -> None:
        self._play_button.setChecked(False)

    @property
    def playing(self) -> bool:
        return self._cine_timer.isActive()

    def _set_playing(self, playing: bool) -> None:
        if playing and self._volume is not None and self._volume.is_4d:
            self._cine_timer.start()
            self._play_button.setText("Pause")
        else:
            self._cine_timer.stop()
            self._play_button.setText("Play")
            self._changed(["3d"])

    def _next_frame(self) -> None:
        if self._volume is not None and self._volume.is_4d:
            self.set_frame((self._frame + 1) % self._volume.voxels.shape[0])

    def _update_frame_label(self) -> None:
        volume = self._volume
        if volume is not None and volume.is_4d:
            times = volume.frame_times
            self._frame_label.setText(
                f"{self._frame + 1}/{len(times)}  {float(times[self._frame]):.1f} s"
            )

    # --- rendering ---------------------------------------------------------------------

    def render_all(self) -> None:
        """Render every visible view now."""
        self._mark_pending()
        for name in list(self._pending_render):
            self._views[name].render()
        self._all_rendered_timer.start(0)

    def grab_image(self) -> np.ndarray:
        """The visible views as one RGB image laid out as on screen (for screenshots)."""
        visible = [self._views[n] for n in self.visible_view_names() if self._views[n].isVisible()]
        if not visible:
            return np.zeros((1, 1, 3), np.uint8)
        ratio = self.devicePixelRatioF()
        origin = self.mapToGlobal(self.rect().topLeft())
        placed = []
        for view in visible:
            pixels = view.grab_image()
            corner = view.mapToGlobal(view.rect().topLeft()) - origin
            placed.append((round(corner.y() * ratio), round(corner.x() * ratio), pixels))
        height = max(top + p.shape[0] for top, _, p in placed)
        width = max(left + p.shape[1] for _, left, p in placed)
        canvas = np.zeros((height, width, 3), np.uint8)
        for top, left, pixels in placed:
            canvas[top : top + pixels.shape[0], left : left + pixels.shape[1]] = pixels
        return canvas

    def _changed(self, names: Iterable[str] | None = None) -> None:
        """Views ``names`` (default all) changed: render the visible ones, then tell."""
        self._mark_pending(names)
        for name in self._pending_render:
            self._views[name].request_render()
        self._all_rendered_timer.start(0)

    def _mark_pending(self, names: Iterable[str] | None = None) -> None:
        changed = set(self._views if names is None else names)
        visible = {n for n in self.visible_view_names() if self._views[n].isVisible()}
        self._awaiting_render = True
        self._pending_render = (self._pending_render | changed) & visible

    def _view_rendered(self, name: str) -> None:
        self._pending_render.discard(name)
        if self._awaiting_render and not self._pending_render:
            self._all_rendered_timer.start(0)

    def _check_all_rendered(self) -> None:
        """Emit once, after the last pending render (timers coalesce the signals)."""
        if self._awaiting_render and not self._pending_render:
            self._awaiting_render = False
            self.all_rendered.emit()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._changed()
