"""Load VTK's rendering back-ends once, before any view is built.

VTK picks OpenGL, volume-rendering, text and interaction implementations through
object factories that are only registered when these modules are imported.
"""

import vtkmodules.vtkInteractionStyle
import vtkmodules.vtkRenderingFreeType
import vtkmodules.vtkRenderingOpenGL2
import vtkmodules.vtkRenderingVolumeOpenGL2  # noqa: F401
