"""The key image of a lung result (``summary.png``): what a lung alert shows on a phone.

The triage node attaches it to the FHIR Communication and shows it on the stroke/chest
team's page, so it stands on its own: patient, ID, age, sex and study date from the
source headers; one axial slice through the centre of the most suspicious nodule
(highest Lung-RADS category, then longest axis) in a lung window (W 1500 / L -600), in
radiological orientation (the patient's right on the image's left, R and L at the
edges), its position (z, mm) and the nodule's outline in red with a yellow arrow; a
magnified inset of the nodule; the nodule's type, axes, volume and place, the exam's
Lung-RADS category, the algorithm, and that it is AI-generated and not reviewed.

Images are placed pixel for pixel (matplotlib, Agg, resamples nothing), and the
returned :class:`LungSummary` says where the slice lies on the picture and which slice
it is, so tests can hold the picture to a phantom's truth.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from pydicom.dataset import Dataset
from scipy import ndimage

from workstation.model.fonts import unicode_font
from workstation.model.volume import Volume
from workstation.reporting.summary_identity import identity_line, subject_of
from workstation.reporting.templates import Labels, load_labels

if TYPE_CHECKING:
    from ai.lung.result import LungResult, Nodule

SUMMARY_IMAGE = "summary.png"
WIDTH, HEIGHT = 1000, 700
DPI = 100
#: Lung window (HU).
WINDOW_WIDTH, WINDOW_LEVEL = 1500.0, -600.0
MARGIN = 12
HEADER = 100  # pixels above the slice
PANEL = 560  # the slice fits in a PANEL x PANEL square
INSET = 280  # the magnified nodule, INSET x INSET pixels
COLUMN = MARGIN + PANEL + 18  # left edge of the inset and the text beside the slice
#: Side of the inset's square region (mm): this many long axes, within these bounds.
INSET_AXES, INSET_MIN_MM, INSET_MAX_MM = 2.5, 24.0, 90.0
OUTLINE_RGB = (255, 40, 40)  # the nodule's outline (no grey pixel has this colour)
MARKER_RGB = (255, 220, 0)  # the arrow and the inset's region
WARNING_RGB = "orange"
FRAME_RGB = (0.3, 0.3, 0.3)

#: Words the report labels (``resources/templates/labels.*.json``) do not hold yet.
_WORDS = {
    "vi": {
        "title": "CT ngực · nốt phổi",
        "most_suspicious": "Nốt nghi ngờ nhất",
        "nodules": "Tổng số nốt: {count}",
        "side": {"right": "phổi phải", "left": "phổi trái"},
        "zone": {"upper": "vùng trên", "middle": "vùng giữa", "lower": "vùng dưới"},
        "window": "Cửa sổ phổi W 1500 / L -600",
        "magnified": "Phóng đại ×{zoom:.1f}",
        "nodule_category": "Lung-RADS của nốt: {category}",
        "reviewed": "Đã được {reader} duyệt (chưa ký)",
    },
    "en": {
        "title": "Chest CT · lung nodule",
        "most_suspicious": "Most suspicious nodule",
        "nodules": "Nodules: {count}",
        "side": {"right": "right lung", "left": "left lung"},
        "zone": {"upper": "upper zone", "middle": "middle zone", "lower": "lower zone"},
        "window": "Lung window W 1500 / L -600",
        "magnified": "Magnified ×{zoom:.1f}",
        "nodule_category": "Nodule Lung-RADS: {category}",
        "reviewed": "Reviewed by {reader} (not signed)",
    },
}


@dataclass(frozen=True)
class Placement:
    """Where a slice (or part of it) lies on the picture, in pixels from the top-left."""

    left: int
    top: int
    width: int
    height: int


@dataclass(frozen=True)
class LungSummary:
    """The picture, what it shows, and where."""

    rgb: np.ndarray
    nodule_id: int
    #: The axial slice shown (native z index) and its position (LPS z, mm).
    slice_index: int
    z_mm: float
    panel: Placement
    inset: Placement
    #: key -> text written on the picture.
    texts: dict[str, str] = field(default_factory=dict)


def most_suspicious(result: LungResult) -> Nodule:
    """Highest Lung-RADS category (the rule table's rank), then the longest axis."""
    from ai.lung.rules import LUNG_RADS_TABLE, load_table

    ranks = {c: v["rank"] for c, v in load_table(LUNG_RADS_TABLE)["categories"].items()}

    def key(nodule: Nodule) -> tuple[int, float]:
        category = nodule.lung_rads.category if nodule.lung_rads else None
        return ranks.get(category, -1), nodule.measurements.long_axis_mm

    return max(result.nodules, key=key)


def _identity(header: Dataset | None, labels: Labels) -> tuple[str, str]:
    """The patient's name, and "ID · age · sex · study date" from a source header."""
    image = labels["perfusion_image"]
    if header is None:
        return image["unnamed"], image["made_up_identity"]
    subject = subject_of(header)
    return subject.name or image["unnamed"], identity_line(subject, labels)


@dataclass(frozen=True)
class _Axes:
    """How a native slice ([y, x]) is turned to radiological orientation."""

    transpose: bool
    flip_rows: bool
    flip_columns: bool


def _axes(volume: Volume) -> _Axes:
    """Columns run from the patient's right to left, rows from anterior to posterior."""
    d = volume.direction  # columns: LPS vectors of the x, y grid axes
    if abs(d[0, 0]) >= abs(d[0, 1]):
        return _Axes(False, d[1, 1] < 0, d[0, 0] < 0)
    return _Axes(True, d[1, 0] < 0, d[0, 1] < 0)


def _oriented(plane: np.ndarray, axes: _Axes) -> np.ndarray:
    if axes.transpose:
        plane = plane.T
    if axes.flip_rows:
        plane = plane[::-1]
    if axes.flip_columns:
        plane = plane[:, ::-1]
    return plane


def _sample(
    hu: np.ndarray, mask: np.ndarray, region: tuple[float, float, float, float], size: tuple
) -> tuple[np.ndarray, np.ndarray]:
    """Windowed grey (RGB uint8) and nearest-neighbour mask of ``region`` (row0, col0,
    row1, col1 in pixel edges of the oriented slice) at ``size`` (height, width)."""
    r0, c0, r1, c1 = region
    height, width = size
    rows = r0 + (np.arange(height) + 0.5) * (r1 - r0) / height - 0.5
    columns = c0 + (np.arange(width) + 0.5) * (c1 - c0) / width - 0.5
    grid = np.meshgrid(rows, columns, indexing="ij")
    values = ndimage.map_coordinates(hu, grid, order=1, mode="constant", cval=-1000.0)
    low = WINDOW_LEVEL - WINDOW_WIDTH / 2
    grey = np.round(np.clip((values - low) / WINDOW_WIDTH, 0.0, 1.0) * 255).astype(np.uint8)
    ri, ci = np.rint(grid[0]).astype(int), np.rint(grid[1]).astype(int)
    inside = (ri >= 0) & (ri < mask.shape[0]) & (ci >= 0) & (ci < mask.shape[1])
    shown = np.zeros((height, width), bool)
    shown[inside] = mask[ri[inside], ci[inside]]
    return np.repeat(grey[..., None], 3, axis=-1), shown


def _outline(rgb: np.ndarray, mask: np.ndarray, thickness: int) -> None:
    if mask.any():
        edge = mask & ~ndimage.binary_erosion(mask, iterations=thickness, border_value=0)
        rgb[edge] = OUTLINE_RGB


def _line(rgb: np.ndarray, start, end, colour, half_width: int = 1) -> None:
    """A straight line of (2 * half_width + 1) pixels between two (row, column) points."""
    steps = int(np.ceil(np.hypot(end[0] - start[0], end[1] - start[1]))) + 1
    for t in np.linspace(0.0, 1.0, steps):
        r = int(np.rint(start[0] + t * (end[0] - start[0])))
        c = int(np.rint(start[1] + t * (end[1] - start[1])))
        rgb[
            max(0, r - half_width) : max(0, r + half_width + 1),
            max(0, c - half_width) : max(0, c + half_width + 1),
        ] = colour


def _arrow(rgb: np.ndarray, centre, radius_px: float) -> None:
    """A yellow arrow pointing at the nodule from the side of the slice's centre."""
    middle = np.array(rgb.shape[:2]) / 2.0
    towards = np.asarray(centre, float) - middle
    norm = float(np.hypot(*towards))
    unit = towards / norm if norm > 1.0 else np.array([0.7071, -0.7071])
    tip = np.asarray(centre) - unit * (radius_px + 6)
    tail = tip - unit * 40
    _line(rgb, tail, tip, MARKER_RGB)
    for angle in (0.5, -0.5):  # the head, two short strokes back from the tip
        c, s = np.cos(angle), np.sin(angle)
        back = np.array([c * unit[0] - s * unit[1], s * unit[0] + c * unit[1]])
        _line(rgb, tip, tip - back * 12, MARKER_RGB)


def _frame(rgb: np.ndarray, top: int, left: int, bottom: int, right: int, colour) -> None:
    top, left = max(0, top), max(0, left)
    bottom, right = min(rgb.shape[0] - 1, bottom), min(rgb.shape[1] - 1, right)
    rgb[top, left : right + 1] = rgb[bottom, left : right + 1] = colour
    rgb[top : bottom + 1, left] = rgb[top : bottom + 1, right] = colour


def render_lung_summary(
    result: LungResult,
    volume: Volume,
    header: Dataset | None,
    language: str = "vi",
) -> LungSummary:
    """The key image of ``result`` (which has at least one nodule) over ``volume``;
    ``header`` is a source image's header (None: no identity, e.g. NIfTI input)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    labels, words = load_labels(language), _WORDS[language]
    nodule = most_suspicious(result)
    m = nodule.measurements
    mask = nodule.mask
    centre_xyz = volume.world_to_index(np.asarray(m.center_lps_mm, float))
    z = int(np.clip(round(float(centre_xyz[2])), 0, volume.shape_zyx[0] - 1))
    box_z = mask.box[0]
    if not (box_z.start <= z < box_z.stop) or not mask.mask[z - box_z.start].any():
        z = m.axial.slice_index  # the centre falls outside an odd shape: its widest slice
    z_mm = float(volume.index_to_world(np.array([0.0, 0.0, z]))[2])

    full = np.zeros(volume.shape_zyx[1:], bool)
    full[mask.box[1:]] = mask.mask[z - box_z.start]
    axes = _axes(volume)
    hu = _oriented(np.asarray(volume.voxels[z], np.float32), axes)
    shown_mask = _oriented(full, axes)
    sx, sy = volume.spacing[0], volume.spacing[1]
    row_mm, column_mm = (sx, sy) if axes.transpose else (sy, sx)
    rows, columns = hu.shape
    scale = min(PANEL / (rows * row_mm), PANEL / (columns * column_mm))  # pixels per mm
    height, width = round(rows * row_mm * scale), round(columns * column_mm * scale)
    panel = Placement(MARGIN + (PANEL - width) // 2, HEADER + (PANEL - height) // 2, width, height)
    slice_rgb, slice_mask = _sample(hu, shown_mask, (0, 0, rows, columns), (height, width))
    _outline(slice_rgb, slice_mask, 2)

    # the nodule's centre on the oriented slice (pixel edges), and the inset around it
    centre_rc = np.argwhere(shown_mask).mean(axis=0) + 0.5
    side_mm = float(np.clip(INSET_AXES * m.long_axis_mm, INSET_MIN_MM, INSET_MAX_MM))
    half_r, half_c = side_mm / 2 / row_mm, side_mm / 2 / column_mm
    region = (
        centre_rc[0] - half_r,
        centre_rc[1] - half_c,
        centre_rc[0] + half_r,
        centre_rc[1] + half_c,
    )
    inset_rgb, inset_mask = _sample(hu, shown_mask, region, (INSET, INSET))
    _outline(inset_rgb, inset_mask, 2)
    centre_px = (centre_rc[0] * row_mm * scale, centre_rc[1] * column_mm * scale)
    _frame(
        slice_rgb,
        int(region[0] * row_mm * scale),
        int(region[1] * column_mm * scale),
        int(region[2] * row_mm * scale),
        int(region[3] * column_mm * scale),
        MARKER_RGB,
    )
    _arrow(slice_rgb, centre_px, side_mm / 2 * scale)
    inset = Placement(COLUMN, HEADER, INSET, INSET)

    figure = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI, facecolor="black")
    FigureCanvasAgg(figure)
    fonts = unicode_font()
    texts: dict[str, str] = {}

    def write(
        key, x, y, text, size=13, colour="white", bold=False, align="left", va="top", over=False
    ):
        """A text at (x, y) pixels; ``over`` an image: on a dark box, so it reads on bone."""
        texts[key] = text
        properties = FontProperties(fname=fonts.bold if bold else fonts.regular, size=size)
        box = {"facecolor": "black", "alpha": 0.6, "edgecolor": "none", "pad": 2} if over else None
        figure.text(
            x / WIDTH,
            1 - y / HEIGHT,
            text,
            color=colour,
            ha=align,
            va=va,
            fontproperties=properties,
            bbox=box,
        )

    for rgb, spot in ((slice_rgb, panel), (inset_rgb, inset)):
        figure.figimage(rgb, xo=spot.left, yo=HEIGHT - spot.top - spot.height, origin="upper")
        _frame_figure(figure, spot)

    image = labels["perfusion_image"]
    name, identity = _identity(header, labels)
    write("patient_name", MARGIN, 10, name, 24, bold=True)
    write("identity", MARGIN, 48, identity, 14)
    right = WIDTH - MARGIN
    write("title", right, 10, words["title"], 18, bold=True, align="right")
    if result.review is not None:
        status = words["reviewed"].format(reader=result.review.get("reader", ""))
    else:
        status = image["ai_not_reviewed"]
    write("ai_label", right, 74, status, 14, WARNING_RGB, bold=True, align="right")

    middle = panel.top + panel.height / 2
    left, right_edge = panel.left + 6, panel.left + panel.width - 6
    write("left_side", left, middle, "R", 16, bold=True, va="center", over=True)
    write(
        "right_side", right_edge, middle, "L", 16, bold=True, align="right", va="center", over=True
    )
    bottom = panel.top + panel.height - 6
    position = f"{image['slice']} {z + 1} · z = {z_mm:.1f} mm"
    write("slice_position", left, bottom, position, 12, va="bottom", over=True)
    window = words["window"]
    write("window", right_edge, bottom, window, 11, align="right", va="bottom", over=True)
    zoom = words["magnified"].format(zoom=INSET / (side_mm * scale))
    write(
        "magnified", inset.left + 6, inset.top + inset.height - 6, zoom, 11, va="bottom", over=True
    )

    x, y = inset.left, inset.top + inset.height + 12
    kind = labels["nodule_types"].get(m.type, m.type)
    write("most_suspicious", x, y, words["most_suspicious"], 12, "lightgrey")
    heading = f"{labels['nodule_title'].format(id=nodule.id)} · {kind}"
    write("nodule", x, y + 20, heading, 17, bold=True)
    measures = labels["measurements"]
    axes_line = (
        f"{measures['long_axis_mm']}: {m.long_axis_mm:.1f} mm · "
        f"{measures['short_axis_mm']}: {m.short_axis_mm:.1f} mm"
    )
    write("axes", x, y + 48, axes_line, 13)
    write("volume", x, y + 70, f"{measures['volume_mm3']}: {m.volume_mm3:.0f} mm³", 13)
    where_words = [nodule.location.lobe] if nodule.location.lobe else []
    where_words.append(words["side"].get(nodule.location.side, nodule.location.side))
    if not nodule.location.lobe:
        where_words.append(words["zone"].get(nodule.location.zone, nodule.location.zone))
    place_line = ", ".join(where_words)
    if nodule.location.juxtapleural:
        place_line += f" · {labels['juxtapleural']}"
    write("location", x, y + 92, place_line, 13)
    if nodule.lung_rads is not None:
        line = words["nodule_category"].format(category=nodule.lung_rads.category)
        write("nodule_lung_rads", x, y + 114, line, 13)
    write("exam_title", x, y + 146, labels["lung_rads_title"], 12, "lightgrey")
    exam = labels["lung_rads"].format(category=result.lung_rads.category)
    write("exam_lung_rads", x, y + 164, exam, 28, "yellow", bold=True)
    write("nodule_count", x, y + 204, words["nodules"].format(count=len(result.nodules)), 13)
    algorithm = f"{result.algorithm.name} {result.algorithm.version}"
    write("algorithm", x, y + 226, algorithm, 11, "lightgrey")
    footer = image["ai_footer"].format(algorithm=algorithm)
    write("ai_footer", WIDTH / 2, HEIGHT - 6, footer, 11, WARNING_RGB, align="center", va="bottom")

    figure.canvas.draw()
    rgb = np.asarray(figure.canvas.buffer_rgba())[..., :3].copy()
    return LungSummary(rgb, nodule.id, z, z_mm, panel, inset, texts)


def _frame_figure(figure, where: Placement) -> None:
    """A one-pixel grey outline just outside a placed image."""
    from matplotlib.patches import Rectangle

    bottom = HEIGHT - where.top - where.height
    figure.patches.append(
        Rectangle(
            ((where.left - 1) / WIDTH, (bottom - 1) / HEIGHT),
            (where.width + 2) / WIDTH,
            (where.height + 2) / HEIGHT,
            transform=figure.transFigure,
            fill=False,
            edgecolor=FRAME_RGB,
            linewidth=72 / DPI,
        )
    )


def write_lung_summary(
    result: LungResult,
    volume: Volume,
    header: Dataset | None,
    path,
    language: str = "vi",
) -> LungSummary:
    """Render and save ``summary.png`` (PNG, RGB)."""
    from PIL import Image

    summary = render_lung_summary(result, volume, header, language)
    Image.fromarray(summary.rgb).save(path, format="PNG")
    return summary
