"""The Qt widget a VTK render window draws into.

QVTKRenderWindowInteractor closes itself when its parent is destroyed; if Python
has already dropped the widget's wrapper by then, PySide hands the slot a bare
wrapper without attributes and the stock class recurses in ``__getattr__``. This
subclass makes that late close harmless (VTK then finalizes the window itself).
"""

from __future__ import annotations

from vtkmodules.qt.QVTKRenderWindowInteractor import QVTKRenderWindowInteractor

import viewers.vtk_backends  # noqa: F401  (OpenGL back-end before the first window)


class RenderWidget(QVTKRenderWindowInteractor):
    """QVTKRenderWindowInteractor that tolerates being closed during teardown."""

    def __getattr__(self, attr: str):
        if attr.startswith("_"):  # private state missing: a wrapper without __init__
            raise AttributeError(attr)
        return super().__getattr__(attr)

    def Finalize(self) -> None:
        render_window = self.__dict__.get("_RenderWindow")
        if render_window is not None:
            render_window.Finalize()
