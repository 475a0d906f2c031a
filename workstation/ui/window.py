"""The workstation as the reader meets it: the main window with its analysis tools.

The one place that knows which tools exist: the window (:mod:`workstation.ui.shell`)
knows none of them, and each tool knows only the host protocol it is given.
"""

from __future__ import annotations

from workstation.home import HalongHome
from workstation.ui.shell.main_window import MainWindow


def build_window(home: HalongHome | None = None) -> MainWindow:
    """The main window on ``home`` with the perfusion, lung, report and triage node tools."""
    from workstation.ui.lung.panel import LungTool
    from workstation.ui.node_queue.panel import NodeQueueTool
    from workstation.ui.perfusion.panel import PerfusionTool
    from workstation.ui.report.panel import ReportTool

    window = MainWindow(home)
    perfusion = PerfusionTool(window)
    lung = LungTool(window)
    report = ReportTool(window)
    node_queue = NodeQueueTool(window)
    for tool in (perfusion, lung, report, node_queue):
        window.install_tool(tool.key, tool)
    return window
