"""VTK slice (MPR) and volume views, overlays and colour maps; pyqtgraph curves.

The UI uses :class:`viewers.mpr_viewer.MprViewer` and :class:`viewers.curves.CurvesPanel`.
Modules are imported directly (``from viewers.mpr_viewer import MprViewer``) so
importing one does not load VTK or pyqtgraph for the other.
"""
