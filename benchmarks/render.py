"""Benchmark: slice-scroll frame time and 3D render time, with software OpenGL.

    python -m benchmarks.render [--slices 300] [--frames 60]

Runs on the current X display, or starts its own Xvfb (pyvirtualdisplay) when
there is none. A 512x512x300 chest CT phantom is shown in Halong's SliceView
(axial, coronal, sagittal) at 512x512 pixels and scrolled one slice per frame;
each frame is the scroll plus a synchronous render. The baseline, in the same
run and window size, is VTK's own vtkImageViewer2 scrolling the same data. The
3D view renders at 800x800 with each preset; the baseline is VTK's CPU
fixed-point ray caster on the same data. Goal: slice scrolling <= 33 ms a frame.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable

SLICE_SIZE = 512
VOLUME_RENDER_SIZE = 800


def _frame_times(step: Callable[[], None], frames: int) -> float:
    """Median seconds per call of ``step`` after two warm-up calls."""
    step()
    step()
    times = []
    for _ in range(frames):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _halong_slice_view(volume, orientation: str, frames: int) -> float:
    from viewers.slice_view import SliceView

    view = SliceView(orientation)
    view.resize(SLICE_SIZE, SLICE_SIZE)
    view.show()
    view.set_volume(volume)
    view.set_preset("lung")
    view.render()
    direction = [1]

    def step() -> None:
        before = view.slice_position
        view.scroll(direction[0])
        if view.slice_position == before:  # at the end: go back the other way
            direction[0] = -direction[0]
            view.scroll(direction[0])
        view.render()

    seconds = _frame_times(step, frames)
    view.close()
    view.deleteLater()
    return seconds


def _vtk_image_viewer(image, orientation: str, frames: int) -> float:
    from vtkmodules.vtkInteractionImage import vtkImageViewer2

    viewer = vtkImageViewer2()
    viewer.SetInputData(image)
    getattr(
        viewer,
        f"SetSliceOrientationTo{ {'axial': 'XY', 'coronal': 'XZ', 'sagittal': 'YZ'}[orientation] }",
    )()
    viewer.SetSize(SLICE_SIZE, SLICE_SIZE)
    viewer.SetColorWindow(1500)
    viewer.SetColorLevel(-600)
    viewer.Render()
    state = {"slice": viewer.GetSliceMin(), "direction": 1}

    def step() -> None:
        nxt = state["slice"] + state["direction"]
        if not viewer.GetSliceMin() <= nxt <= viewer.GetSliceMax():
            state["direction"] *= -1
            nxt = state["slice"] + state["direction"]
        state["slice"] = nxt
        viewer.SetSlice(nxt)
        viewer.Render()

    seconds = _frame_times(step, frames)
    viewer.GetRenderWindow().Finalize()
    return seconds


def _halong_volume_view(volume, preset: str) -> tuple[float, float, str]:
    from viewers.volume_view import VolumeView

    view = VolumeView()
    view.resize(VOLUME_RENDER_SIZE, VOLUME_RENDER_SIZE)
    view.show()
    view.set_volume(volume)
    view.set_preset(preset)
    start = time.perf_counter()
    view.render()
    first = time.perf_counter() - start
    camera = view._renderer.GetActiveCamera()

    def step() -> None:
        camera.Azimuth(10)
        view.render()

    again = _frame_times(step, 3)
    mode = view.used_render_mode
    view.close()
    view.deleteLater()
    return first, again, mode


def _vtk_fixed_point(image) -> float:
    from vtkmodules.vtkCommonDataModel import vtkPiecewiseFunction
    from vtkmodules.vtkRenderingCore import (
        vtkColorTransferFunction,
        vtkRenderer,
        vtkRenderWindow,
        vtkVolume,
        vtkVolumeProperty,
    )
    from vtkmodules.vtkRenderingVolume import vtkFixedPointVolumeRayCastMapper

    mapper = vtkFixedPointVolumeRayCastMapper()
    mapper.SetInputData(image)
    colours = vtkColorTransferFunction()
    colours.AddRGBPoint(-1000, 0, 0, 0)
    colours.AddRGBPoint(300, 1, 1, 0.9)
    opacity = vtkPiecewiseFunction()
    opacity.AddPoint(100, 0)
    opacity.AddPoint(400, 0.6)
    properties = vtkVolumeProperty()
    properties.SetColor(colours)
    properties.SetScalarOpacity(opacity)
    properties.SetInterpolationTypeToLinear()
    actor = vtkVolume()
    actor.SetMapper(mapper)
    actor.SetProperty(properties)
    renderer = vtkRenderer()
    renderer.AddVolume(actor)
    window = vtkRenderWindow()
    window.SetSize(VOLUME_RENDER_SIZE, VOLUME_RENDER_SIZE)
    window.AddRenderer(renderer)
    renderer.ResetCamera()

    def step() -> None:
        renderer.GetActiveCamera().Azimuth(10)
        window.Render()

    seconds = _frame_times(step, 3)
    window.Finalize()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--frames", type=int, default=60)
    args = parser.parse_args()

    display = None
    if not os.environ.get("DISPLAY"):
        from pyvirtualdisplay import Display

        display = Display(visible=False, size=(1920, 1200), color_depth=24)
        display.start()
    try:
        _run(args)
    finally:
        sys.stdout.flush()
        if display is not None:
            display.stop()
            # VTK's baseline windows keep their own X connection; skip the destructors
            # that would use it after the virtual display is gone.
            os._exit(0)


def _run(args: argparse.Namespace) -> None:
    from PySide6.QtWidgets import QApplication

    from ai.phantoms import make_chest_ct
    from workstation.model.conversions import to_vtk

    app = QApplication.instance() or QApplication([])
    volume = make_chest_ct(seed=1, shape=(args.slices, 512, 512), spacing=(0.7, 0.7, 1.0)).volume
    image = to_vtk(volume)
    image.SetDirectionMatrix(1, 0, 0, 0, 1, 0, 0, 0, 1)  # the baseline viewers ignore it
    print(f"volume: {args.slices}x512x512 int16; slice views {SLICE_SIZE}x{SLICE_SIZE} px")
    print(f"{'view':<10} {'halong ms':>10} {'vtkImageViewer2 ms':>19} {'ratio':>7}")
    worst = 0.0
    for orientation in ("axial", "coronal", "sagittal"):
        ours = _halong_slice_view(volume, orientation, args.frames)
        app.processEvents()
        baseline = _vtk_image_viewer(image, orientation, args.frames)
        worst = max(worst, ours)
        print(f"{orientation:<10} {ours * 1e3:10.1f} {baseline * 1e3:19.1f} {ours / baseline:7.2f}")
    verdict = "met" if worst <= 0.033 else "MISSED"
    print(f"goal: slice scroll <= 33 ms a frame: worst {worst * 1e3:.1f} ms -> {verdict}")

    baseline_3d = _vtk_fixed_point(image)
    print(f"\n3D at {VOLUME_RENDER_SIZE}x{VOLUME_RENDER_SIZE}:")
    header = f"{'preset':<16} {'first s':>8} {'next s':>8} {'mode':>5}"
    print(f"{header} {'fixed-point s':>14} {'ratio':>6}")
    for preset in ("CT bone", "CT lung", "CT soft tissue", "MIP"):
        first, again, mode = _halong_volume_view(volume, preset)
        app.processEvents()
        print(
            f"{preset:<16} {first:8.2f} {again:8.2f} {mode:>5} {baseline_3d:14.2f} "
            f"{again / baseline_3d:6.2f}"
        )
    from PySide6.QtCore import QCoreApplication, QEvent

    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)  # while X is up
    app.shutdown()  # close Qt's X connection before the virtual display goes away


if __name__ == "__main__":
    main()
