"""Pictures of a perfusion result: the RAPID-style summary and one montage per map.

Rendered off-screen with matplotlib (Agg) to RGB arrays, which become
``summary.png`` and the DICOM Secondary Captures. The summary page is
:mod:`~workstation.perfusion.summary_page` (radiological orientation, patient, study,
Vietnamese or English); map montages show slices as stored, which for axial series is
the radiological convention (patient's right on the left). Every picture says it is
AI-generated and not reviewed by a physician.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from workstation.dicom.parametric_map import PERFUSION_QUANTITIES
from workstation.model.volume import Volume
from workstation.perfusion.canvas import agg_figure, figure_rgb
from workstation.perfusion.slice_panels import spread_slices
from workstation.perfusion.summary_page import CORE_RGB as CORE_RGB
from workstation.perfusion.summary_page import HYPOPERFUSION_RGB as HYPOPERFUSION_RGB

if TYPE_CHECKING:
    pass

AI_LABEL = "AI-generated (Halong perfusion) - not reviewed by a physician"
MAP_COLORMAP = "turbo"


def underlay_of(volume: Volume) -> np.ndarray:
    """The first (unenhanced) frame, windowed to brain and scaled to [0, 1], float32."""
    frame = np.asarray(volume.voxels[0] if volume.is_4d else volume.voxels, dtype=np.float32)
    if volume.modality == "CT":
        low, high = 0.0, 80.0
    else:
        low, high = 0.0, float(np.percentile(frame, 99.5)) or 1.0
    return np.clip((frame - low) / (high - low), 0.0, 1.0).astype(np.float32)


def _figure(width_in: float, height_in: float):
    figure = agg_figure(width_in, height_in)
    figure.text(0.5, 0.005, AI_LABEL, color="orange", ha="center", va="bottom", fontsize=9)
    return figure


def _downsampled(image: np.ndarray, largest: int) -> np.ndarray:
    """Every n-th pixel so that neither side exceeds ``largest`` (display only)."""
    step = max(1, -(-max(image.shape[:2]) // largest))
    return image[::step, ::step]


def _montage(tiles: list[np.ndarray], columns: int) -> np.ndarray:
    """RGB tiles of one size laid out in rows of ``columns``, black between them."""
    height, width = tiles[0].shape[:2]
    rows = -(-len(tiles) // columns)
    gap = 4
    canvas = np.zeros((rows * (height + gap), columns * (width + gap), 3), dtype=np.float32)
    for index, tile in enumerate(tiles):
        row, column = divmod(index, columns)
        y, x = row * (height + gap), column * (width + gap)
        canvas[y : y + height, x : x + width] = tile
    return canvas


def _image_axes(figure, rect: tuple[float, float, float, float], image: np.ndarray):
    axes = figure.add_axes(rect)
    axes.imshow(image, interpolation="nearest")
    axes.set_axis_off()
    return axes


def render_map(
    name: str, values: np.ndarray, tissue: np.ndarray, underlay: np.ndarray
) -> np.ndarray:
    """A montage of up to 16 tissue slices of one map, coloured, with its colour bar and unit."""
    from matplotlib import colormaps

    quantity = PERFUSION_QUANTITIES[name]
    low, high = quantity.window
    cmap = colormaps[MAP_COLORMAP]
    tiles = []
    for z in spread_slices(tissue, 16):
        inside = _downsampled(tissue[z], 256)
        rgb = np.repeat(_downsampled(underlay[z], 256)[..., None], 3, axis=-1)
        scaled = np.clip((_downsampled(values[z], 256) - low) / (high - low), 0, 1)
        rgb[inside] = cmap(scaled[inside])[:, :3]
        tiles.append(rgb)
    montage = _montage(tiles, min(4, len(tiles)))
    height, width = montage.shape[:2]
    figure = _figure((width + 160) / 100, (height + 70) / 100)
    left, bottom = 10 / (width + 160), 30 / (height + 70)
    _image_axes(figure, (left, bottom, width / (width + 160), height / (height + 70)), montage)
    bar = figure.add_axes((1 - 110 / (width + 160), 0.15, 25 / (width + 160), 0.7))
    bar.imshow(np.linspace(1, 0, 256)[:, None], aspect="auto", cmap=cmap, extent=(0, 1, low, high))
    bar.set_xticks([])
    bar.tick_params(colors="white")
    unit = quantity.unit.meaning if quantity.unit.value != "s" else "s"
    figure.text(0.5, 0.99, f"{quantity.explanation} ({unit})", color="white", ha="center", va="top")
    return figure_rgb(figure)
