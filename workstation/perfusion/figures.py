"""Pictures of a perfusion result: the RAPID-style summary and one montage per map.

Rendered off-screen with matplotlib (Agg) to RGB arrays, which become
``summary.png`` and the DICOM Secondary Captures. Slices are shown as stored,
which for axial series is the radiological convention (patient's right on the
left). Every picture says it is AI-generated and not reviewed by a physician.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from workstation.dicom.parametric_map import PERFUSION_QUANTITIES
from workstation.model.volume import Volume

if TYPE_CHECKING:
    from ai.perfusion.result import PerfusionResult

AI_LABEL = "AI-generated (Halong perfusion) - not reviewed by a physician"
CORE_RGB = (1.0, 0.2, 0.75)  # magenta
HYPOPERFUSION_RGB = (0.2, 0.9, 0.3)  # green
MAP_COLORMAP = "turbo"


def underlay_of(volume: Volume) -> np.ndarray:
    """The first (unenhanced) frame, windowed to brain and scaled to [0, 1], float32."""
    frame = np.asarray(volume.voxels[0] if volume.is_4d else volume.voxels, dtype=np.float32)
    if volume.modality == "CT":
        low, high = 0.0, 80.0
    else:
        low, high = 0.0, float(np.percentile(frame, 99.5)) or 1.0
    return np.clip((frame - low) / (high - low), 0.0, 1.0).astype(np.float32)


def _slices(mask: np.ndarray, count: int) -> list[int]:
    """``count`` slices spread over those where ``mask`` (lesion or tissue) is present."""
    present = np.flatnonzero(mask.reshape(mask.shape[0], -1).any(axis=1))
    if len(present) == 0:
        present = np.arange(mask.shape[0])
    picks = np.linspace(0, len(present) - 1, min(count, len(present))).round().astype(int)
    return [int(present[i]) for i in dict.fromkeys(picks)]


def _rgb(figure) -> np.ndarray:
    figure.canvas.draw()
    return np.asarray(figure.canvas.buffer_rgba())[..., :3].copy()


def _figure(width_in: float, height_in: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width_in, height_in), dpi=100, facecolor="black")
    FigureCanvasAgg(figure)
    figure.text(0.5, 0.005, AI_LABEL, color="orange", ha="center", va="bottom", fontsize=9)
    return figure


def _overlay(underlay: np.ndarray, core: np.ndarray | None, hypo: np.ndarray) -> np.ndarray:
    rgb = np.repeat(underlay[..., None], 3, axis=-1)
    rgb[hypo] = 0.45 * rgb[hypo] + 0.55 * np.array(HYPOPERFUSION_RGB)
    if core is not None:
        rgb[core] = 0.3 * rgb[core] + 0.7 * np.array(CORE_RGB)
    return rgb


def _fmt(value: object, unit: str = "") -> str:
    if value is None:
        return "n/a"
    if value == "inf" or (isinstance(value, float) and np.isinf(value)):
        return "∞"
    return f"{value}{unit}"


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


def render_summary(result: PerfusionResult, underlay: np.ndarray) -> np.ndarray:
    """The summary page: lesion overlays on a few slices, volumes, triage, QC and curves."""
    figure = _figure(14.0, 8.0)
    core = result.lesions.core
    hypo = result.lesions.hypoperfusion
    chosen = _slices(hypo if hypo.any() else result.maps.tissue, 6)
    tiles = [
        _overlay(
            _downsampled(underlay[z], 256),
            None if core is None else _downsampled(core[z], 256),
            _downsampled(hypo[z], 256),
        )
        for z in chosen
    ]
    _image_axes(figure, (0.01, 0.5, 0.98, 0.45), _montage(tiles, len(tiles)))
    figure.text(
        0.5, 0.96, "slices " + ", ".join(str(z + 1) for z in chosen), color="white", ha="center"
    )
    data = result.to_json()
    source = result.thresholds.get("core_source") or "none"
    lines = [
        f"{result.modality} perfusion",
        f"Core ({source}): {_fmt(data['core_ml'], ' ml')}",
        f"Tmax > 6 s: {_fmt(data['hypoperfusion_ml'], ' ml')}",
        f"Mismatch volume: {_fmt(data['mismatch_ml'], ' ml')}",
        f"Mismatch ratio: {_fmt(data['mismatch_ratio'])}",
        f"Tmax > 10 s: {_fmt(data['tmax_gt10_ml'], ' ml')}   HIR: {_fmt(data['hir'])}",
        f"DEFUSE 3: {result.defuse3.status}",
        f"DAWN: {result.dawn.status}",
        "QC: " + (", ".join(flag.name for flag in result.qc.raised) or "no flags raised"),
    ]
    figure.text(
        0.02, 0.45, "\n".join(lines), color="white", va="top", fontsize=12, family="monospace"
    )
    figure.text(0.02, 0.06, "core", color=CORE_RGB, fontsize=11, weight="bold")
    figure.text(0.07, 0.06, "Tmax > 6 s", color=HYPOPERFUSION_RGB, fontsize=11, weight="bold")
    axes = figure.add_axes((0.58, 0.08, 0.4, 0.34), facecolor="black")
    for curve, colour in ((result.aif, "red"), (result.vof, "deepskyblue")):
        if curve is not None:
            axes.plot(curve.times_s, curve.values, color=colour, label=curve.kind.upper())
    axes.set_xlabel("time (s)", color="white")
    axes.set_ylabel(result.aif.unit, color="white")
    axes.tick_params(colors="white")
    for spine in axes.spines.values():
        spine.set_color("white")
    axes.legend(facecolor="black", labelcolor="white")
    return _rgb(figure)


def render_map(
    name: str, values: np.ndarray, tissue: np.ndarray, underlay: np.ndarray
) -> np.ndarray:
    """A montage of up to 16 tissue slices of one map, coloured, with its colour bar and unit."""
    from matplotlib import colormaps

    quantity = PERFUSION_QUANTITIES[name]
    low, high = quantity.window
    cmap = colormaps[MAP_COLORMAP]
    tiles = []
    for z in _slices(tissue, 16):
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
    return _rgb(figure)
