"""The RAPID-style summary page of a perfusion result (``summary.png`` and its Secondary Capture).

It reaches the PACS and the stroke team's phones on its own, so it carries everything a
reader acts on: patient, study and how long the result took; one row of slices with the
core in pink over the CBF map and one with Tmax > 6 s in green over the Tmax map, each
slice with its position and the patient's sides; the volumes in large type; the triage;
and, top and bottom, that it is AI-generated and not reviewed. Maps are grey (the CT
only dimly around them), so the two colours mean the masks and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from workstation.dicom.parametric_map import PERFUSION_QUANTITIES
from workstation.model.volume import Volume
from workstation.perfusion import summary_text as words
from workstation.perfusion.canvas import Canvas, TextItem, font
from workstation.perfusion.slice_panels import SlicePanel, panel_row, spread_slices
from workstation.perfusion.summary_header import ResultTime, SummarySubject
from workstation.reporting.summary_identity import identity_line
from workstation.reporting.templates import Labels, load_labels

if TYPE_CHECKING:
    from ai.perfusion.maps import PerfusionMaps
    from ai.perfusion.result import PerfusionResult

CORE_RGB = (1.0, 0.2, 0.75)  # pink
HYPOPERFUSION_RGB = (0.2, 0.9, 0.3)  # green
WARNING_RGB = "orange"
WIDTH = 1600
MAX_SLICES = 8
HEADER = 112  # pixels above the first row
ROW_LABELS = 225  # pixels left of the slices
MARGIN, GAP, CAPTION = 12, 20, 34
FRAME_RGB = (0.3, 0.3, 0.3)  # outline of each slice, so that sides belong to one
LARGEST_PANEL = 240
BOTTOM = 330  # volumes, triage, curves and the footer
#: Brightness of the CT around the maps (context only).
CT_DIMMED = 0.35


@dataclass(frozen=True)
class SummaryPicture:
    """The page, where each slice panel lies on it, and every text written on it."""

    rgb: np.ndarray
    #: Panels of each row: "core" (over CBF) and "hypoperfusion" (over Tmax), left to right.
    rows: dict[str, list[SlicePanel]]
    texts: list[TextItem]

    def texts_of(self, key: str) -> list[TextItem]:
        return [item for item in self.texts if item.key == key]


def _tile(
    panel: SlicePanel,
    values: np.ndarray,
    window: tuple[float, float],
    tissue: np.ndarray,
    underlay: np.ndarray,
    mask: np.ndarray | None,
    colour: tuple[float, float, float],
) -> np.ndarray:
    """One slice: the map in grey inside tissue, the dimmed CT outside, the mask opaque."""
    low, high = window
    grey = np.where(
        panel.sample(tissue),
        np.clip((panel.sample(values) - low) / (high - low), 0.0, 1.0),
        CT_DIMMED * panel.sample(underlay),
    )
    rgb = np.repeat(grey[..., None], 3, axis=-1)
    if mask is not None:
        rgb[panel.sample(mask)] = colour
    return np.round(rgb * 255).astype(np.uint8)


@dataclass(frozen=True)
class _Row:
    """One row of slices: which map in grey, which mask in which colour, and its titles."""

    name: str
    quantity: str
    mask: np.ndarray | None
    colour: tuple[float, float, float]
    title: str
    subtitle: str


def _row(
    canvas: Canvas,
    row: _Row,
    panels: list[SlicePanel],
    maps: PerfusionMaps,
    underlay: np.ndarray,
    labels: Labels,
) -> None:
    """The row's titles, then each slice: the patient's sides in its upper corners, its
    position below it."""
    values, window = getattr(maps, row.quantity), PERFUSION_QUANTITIES[row.quantity].window
    top = panels[0].top
    canvas.text(f"{row.name}_title", MARGIN, top + 6, row.title, 20, row.colour, bold=True)
    canvas.text(f"{row.name}_subtitle", MARGIN, top + 42, row.subtitle, 13)
    for panel in panels:
        z = panel.z
        mask = None if row.mask is None else row.mask[z]
        tile = _tile(panel, values[z], window, maps.tissue[z], underlay[z], mask, row.colour)
        canvas.image(tile, panel.left, panel.top)
        canvas.frame(panel.left, panel.top, panel.width, panel.height, FRAME_RGB)
        below, right = panel.top + panel.height + 4, panel.left + panel.width
        position = (
            f"z = {panel.position_mm:.1f} mm"
            if panel.position_mm is not None
            else f"{labels['perfusion_image']['slice']} {z + 1}"
        )
        canvas.text("slice_position", (panel.left + right) / 2, below, position, 11, align="center")
        corner = panel.top + 3  # air around the head
        canvas.text("left_side", panel.left + 4, corner, panel.left_side, 13, bold=True)
        canvas.text("right_side", right - 4, corner, panel.right_side, 13, bold=True, align="right")


def _header(
    canvas: Canvas,
    result: PerfusionResult,
    subject: SummarySubject,
    result_time: ResultTime | None,
    labels: Labels,
) -> None:
    image = labels["perfusion_image"]
    right = WIDTH - MARGIN
    canvas.text("patient_name", MARGIN, 10, subject.name or image["unnamed"], 26, bold=True)
    canvas.text("identity", MARGIN, 54, identity_line(subject, labels), 15)
    if result_time is not None:
        line = words.result_time_line(result_time, labels)
        canvas.text("result_time", MARGIN, 82, line, 15, "yellow", bold=True)
    title = f"{labels['perfusion_summary']} · {result.modality}"
    canvas.text("title", right, 10, title, 20, bold=True, align="right")
    warning = image["ai_not_reviewed"]
    canvas.text("ai_label", right, 46, warning, 18, WARNING_RGB, bold=True, align="right")
    if subject.made_up:
        canvas.text("made_up", right, 80, image["made_up_identity"], 13, WARNING_RGB, align="right")


def _volumes_and_triage(canvas: Canvas, result: PerfusionResult, top: int, labels: Labels) -> None:
    """The volumes in large type on the left; triage and QC on the right."""
    colours = {"core_ml": CORE_RGB, "hypoperfusion_ml": HYPOPERFUSION_RGB}
    for n, (key, label, value) in enumerate(words.volume_lines(result, labels)):
        y = top + n * 48
        canvas.text(f"{key}_label", MARGIN + 8, y + 10, label, 16)
        canvas.text(key, 740, y, value, 28, colours.get(key, "white"), True, "right")
    x = 800
    for n, decision in enumerate((result.defuse3, result.dawn)):
        canvas.text(
            decision.rule, x, top + n * 32, words.triage_line(decision, labels), 17, bold=True
        )
    canvas.text("qc", x, top + 68, words.qc_line(result, labels), 12)


def _curves(canvas: Canvas, result: PerfusionResult, top: int, labels: Labels) -> None:
    """The arterial and venous curves the maps were computed from (their QC at a glance)."""
    axes = canvas.axes(860, top + 100, WIDTH - 860 - 2 * MARGIN, 150)
    for curve, colour in ((result.aif, "red"), (result.vof, "deepskyblue")):
        if curve is not None:
            axes.plot(curve.times_s, curve.values, color=colour, label=curve.kind.upper())
    axes.set_xlabel(labels["perfusion_image"]["time_axis"], color="white", fontproperties=font(11))
    axes.set_ylabel(result.aif.unit, color="white", fontproperties=font(11))
    axes.tick_params(colors="white", labelsize=9)
    for spine in axes.spines.values():
        spine.set_color("white")
    axes.legend(facecolor="black", labelcolor="white", prop=font(10))


def draw_summary(
    result: PerfusionResult,
    underlay: np.ndarray,
    *,
    grid: Volume | None = None,
    subject: SummarySubject | None = None,
    result_time: ResultTime | None = None,
    language: str = "vi",
) -> SummaryPicture:
    """The page for ``result`` on ``grid`` (its 3D geometry: slice positions and sides)."""
    labels = load_labels(language)
    core, hypo = result.lesions.core, result.lesions.hypoperfusion
    lesion = hypo if core is None else hypo | core
    maps = result.maps
    slices = spread_slices(lesion if lesion.any() else maps.tissue, MAX_SLICES)
    count = len(slices)
    box = min(LARGEST_PANEL, (WIDTH - ROW_LABELS - MARGIN - (count - 1) * GAP) // count)
    row_height = box + CAPTION
    bottom = HEADER + 2 * row_height
    canvas = Canvas(WIDTH, bottom + BOTTOM)
    image = labels["perfusion_image"]
    specs = (
        _Row(
            "core",
            "cbf",
            core,
            CORE_RGB,
            words.core_threshold(result) or "CBF",
            image["core_row"] if core is not None else image["core_not_measured"],
        ),
        _Row(
            "hypoperfusion",
            "tmax",
            hypo,
            HYPOPERFUSION_RGB,
            words.hypoperfusion_threshold(result),
            image["hypoperfusion_row"],
        ),
    )
    rows = {}
    for n, spec in enumerate(specs):
        top = HEADER + n * row_height
        rows[spec.name] = panel_row(maps.tissue.shape, slices, grid, ROW_LABELS, top, box, GAP)
        _row(canvas, spec, rows[spec.name], maps, underlay, labels)
    _header(canvas, result, subject or SummarySubject(), result_time, labels)
    _volumes_and_triage(canvas, result, bottom + 6, labels)
    _curves(canvas, result, bottom + 6, labels)
    algorithm = f"{result.algorithm.get('name', '')} {result.algorithm.get('version', '')}".strip()
    footer = image["ai_footer"].format(algorithm=algorithm)
    canvas.text(
        "ai_footer",
        WIDTH / 2,
        canvas.height - 8,
        footer,
        13,
        WARNING_RGB,
        align="center",
        anchor="bottom",
    )
    return SummaryPicture(canvas.rgb(), rows, canvas.texts)
