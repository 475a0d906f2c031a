"""Off-screen matplotlib (Agg) pictures of exact pixel size, and what is written on them.

Images are placed pixel for pixel (matplotlib resamples nothing), so whoever knows where
a panel lies knows which pixel shows which voxel. Text is drawn in DejaVu Sans, which
has every Vietnamese letter, and each text is kept as a :class:`TextItem`, so what a
picture says can be checked without reading its pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from workstation.model.fonts import unicode_font

DPI = 100


def agg_figure(width_in: float, height_in: float):
    """A black matplotlib figure drawn by Agg, with no window."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width_in, height_in), dpi=DPI, facecolor="black")
    FigureCanvasAgg(figure)
    return figure


def figure_rgb(figure) -> np.ndarray:
    """The drawn figure as an RGB uint8 array."""
    figure.canvas.draw()
    return np.asarray(figure.canvas.buffer_rgba())[..., :3].copy()


def font(size: float, bold: bool = False):
    """DejaVu Sans from its file (matplotlib's default family may be configured away)."""
    from matplotlib.font_manager import FontProperties

    files = unicode_font()
    return FontProperties(fname=files.bold if bold else files.regular, size=size)


@dataclass(frozen=True)
class TextItem:
    """One text on a picture: what it says and where it is anchored (pixels, top-left)."""

    key: str
    text: str
    x: float
    y: float
    align: Literal["left", "center", "right"]


@dataclass
class Canvas:
    """A ``width`` x ``height`` pixel picture; texts and images placed in pixels from the
    top-left corner."""

    width: int
    height: int
    texts: list[TextItem] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.figure = agg_figure(self.width / DPI, self.height / DPI)

    def text(
        self,
        key: str,
        x: float,
        y: float,
        text: str,
        size: float = 12,
        colour: object = "white",
        bold: bool = False,
        align: Literal["left", "center", "right"] = "left",
        anchor: Literal["top", "baseline", "bottom"] = "top",
    ) -> None:
        self.texts.append(TextItem(key, text, x, y, align))
        self.figure.text(
            x / self.width,
            1 - y / self.height,
            text,
            color=colour,
            ha=align,
            va=anchor,
            fontproperties=font(size, bold),
        )

    def image(self, rgb: np.ndarray, left: int, top: int) -> None:
        """An RGB uint8 array, pixel for pixel, its top-left corner at (left, top)."""
        self.figure.figimage(rgb, xo=left, yo=self.height - top - rgb.shape[0], origin="upper")

    def frame(self, left: int, top: int, width: int, height: int, colour: object) -> None:
        """A one-pixel outline just outside that pixel rectangle (it covers none of it)."""
        from matplotlib.patches import Rectangle

        bottom = self.height - top - height
        outline = Rectangle(
            ((left - 1) / self.width, (bottom - 1) / self.height),
            (width + 2) / self.width,
            (height + 2) / self.height,
            transform=self.figure.transFigure,
            fill=False,
            edgecolor=colour,
            linewidth=72 / DPI,  # one pixel, in points
        )
        self.figure.patches.append(outline)

    def axes(self, left: float, top: float, width: float, height: float):
        """Plot axes occupying that pixel rectangle."""
        bottom = self.height - top - height
        rect = (left / self.width, bottom / self.height, width / self.width, height / self.height)
        return self.figure.add_axes(rect, facecolor="black")

    def rgb(self) -> np.ndarray:
        return figure_rgb(self.figure)
