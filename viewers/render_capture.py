"""Read a render window back as a numpy image (tests, screenshots, reports).

``QWidget.grab`` cannot see OpenGL content, so screenshots go through VTK.
"""

from __future__ import annotations

import numpy as np
from vtkmodules.util import numpy_support
from vtkmodules.vtkRenderingCore import vtkRenderWindow, vtkWindowToImageFilter


def grab_render_window(render_window: vtkRenderWindow) -> np.ndarray:
    """``[rows, columns, 3]`` uint8 RGB, top row first (as Qt and image files order it)."""
    capture = vtkWindowToImageFilter()
    capture.SetInput(render_window)
    capture.ReadFrontBufferOff()
    capture.ShouldRerenderOn()
    capture.Update()
    image = capture.GetOutput()
    width, height, _ = image.GetDimensions()
    pixels = numpy_support.vtk_to_numpy(image.GetPointData().GetScalars())
    return pixels.reshape(height, width, -1)[::-1, :, :3].copy()
