"""The summary page against the phantom's truth: where the pink and green pixels are, the
patient's sides, slice positions, and what it says (patient, volumes) in which language."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from matplotlib.ft2font import FT2Font

from workstation.model.fonts import unicode_font
from workstation.model.volume import Volume
from workstation.perfusion.figures import underlay_of
from workstation.perfusion.slice_panels import SlicePanel
from workstation.perfusion.summary_header import ResultTime, SummarySubject
from workstation.perfusion.summary_page import (
    CORE_RGB,
    HEADER,
    HYPOPERFUSION_RGB,
    SummaryPicture,
    draw_summary,
)

LAN = SummarySubject("Nguyễn Thị Lan", "PAT-300", "066Y", "F", "20260101", "093015")


def _grid(phantom, signs: tuple[int, int, int] = (1, 1, 1)) -> Volume:
    """The phantom's first frame on a grid whose axes point along ``signs`` x the LPS axes,
    centred where the phantom's is: the same voxels, another patient orientation."""
    volume = phantom.volume.frame(0)
    direction = np.diag(np.array(signs, dtype=float))
    half = np.array(volume.spacing) * (np.array(volume.shape_zyx[::-1]) - 1) / 2
    centre = volume.index_to_world((np.array(volume.shape_zyx[::-1]) - 1) / 2)
    origin = centre - direction @ half
    return Volume(volume.voxels, volume.spacing, tuple(origin), direction, "CT")


def _draw(head, grid: Volume | None, **options) -> SummaryPicture:
    options.setdefault("subject", LAN)
    return draw_summary(head.result, underlay_of(head.phantom.volume), grid=grid, **options)


def _painted(picture: SummaryPicture, panel: SlicePanel, rgb) -> np.ndarray:
    """Pixels of the panel in that colour (maps are grey, so only a mask is coloured)."""
    crop = picture.rgb[panel.top : panel.top + panel.height, panel.left : panel.left + panel.width]
    return np.all(np.abs(crop.astype(int) - np.round(np.array(rgb) * 255)) <= 1, axis=-1)


def _agreement(picture, row: str, rgb, truth: np.ndarray) -> tuple[float, float]:
    """(share of coloured pixels on truth voxels, share of truth pixels coloured) in a row."""
    coloured = on_truth = truth_pixels = 0
    for panel in picture.rows[row]:
        painted = _painted(picture, panel, rgb)
        expected = panel.sample(truth[panel.z])
        coloured += painted.sum()
        on_truth += (painted & expected).sum()
        truth_pixels += expected.sum()
    return on_truth / coloured, on_truth / truth_pixels


def _true_side(grid: Volume, mask: np.ndarray, brain: np.ndarray) -> str:
    """The patient side a lesion is on, from world positions: L when it lies left (+x)."""

    def mean_x(m: np.ndarray) -> float:
        return float(grid.index_to_world(np.argwhere(m)[:, ::-1].astype(float))[:, 0].mean())

    return "L" if mean_x(mask) > mean_x(brain) else "R"


def _within(x: float, panel: SlicePanel, start: float, stop: float) -> bool:
    return panel.left + start * panel.width <= x <= panel.left + stop * panel.width


GRIDS = {
    "LPS as DICOM stores it": (1, 1, 1),
    "x mirrored": (-1, 1, 1),
    "RAS as many NIfTI files": (-1, -1, 1),
    "superior slice first": (1, 1, -1),
}


@pytest.mark.parametrize("signs", GRIDS.values(), ids=GRIDS.keys())
def test_pink_and_green_pixels_lie_on_the_truth_core_and_hypoperfusion(analysed_head, signs):
    phantom = analysed_head.phantom
    picture = _draw(analysed_head, _grid(phantom, signs))
    core_precision, core_recall = _agreement(picture, "core", CORE_RGB, phantom.core_mask)
    assert core_precision >= 0.9 and core_recall >= 0.8
    hypo = phantom.tmax_gt6_mask
    hypo_precision, hypo_recall = _agreement(picture, "hypoperfusion", HYPOPERFUSION_RGB, hypo)
    assert hypo_precision >= 0.95 and hypo_recall >= 0.9
    for row, other in (("core", HYPOPERFUSION_RGB), ("hypoperfusion", CORE_RGB)):
        assert not any(_painted(picture, p, other).any() for p in picture.rows[row])
    # the slices with most truth core show it: the row is not of the wrong slices
    shown = {panel.z for panel in picture.rows["core"]}
    assert int(np.argmax(phantom.core_mask.sum(axis=(1, 2)))) in shown


@pytest.mark.parametrize("signs", GRIDS.values(), ids=GRIDS.keys())
def test_slices_are_radiological_with_the_lesion_on_its_labelled_side(analysed_head, signs):
    phantom = analysed_head.phantom
    grid = _grid(phantom, signs)
    picture = _draw(analysed_head, grid)
    side = _true_side(grid, phantom.core_mask, phantom.parenchyma_mask)
    for panel in picture.rows["core"] + picture.rows["hypoperfusion"]:
        corners = [t for t in picture.texts if panel.top <= t.y < panel.top + 20]
        (left,) = [t for t in corners if t.key == "left_side" and _within(t.x, panel, 0, 0.5)]
        (right,) = [t for t in corners if t.key == "right_side" and _within(t.x, panel, 0.5, 1)]
        assert (left.text, right.text) == ("R", "L")
        # patient's right on the left, anterior at the top, whatever the storage order
        top_left = grid.index_to_world(np.array([panel.columns[0], panel.rows[0], panel.z]))
        bottom_right = grid.index_to_world(np.array([panel.columns[-1], panel.rows[-1], panel.z]))
        assert top_left[0] < bottom_right[0] and top_left[1] < bottom_right[1]
    for panel in picture.rows["core"]:
        columns = np.flatnonzero(_painted(picture, panel, CORE_RGB).any(axis=0))
        if len(columns):
            on_left = columns.mean() < panel.width / 2
            assert (on_left and side == "R") or (not on_left and side == "L")


@pytest.mark.parametrize("signs", [(1, 1, 1), (1, 1, -1)], ids=["inferior first", "superior first"])
def test_slices_go_inferior_to_superior_each_with_its_position(analysed_head, signs):
    phantom = analysed_head.phantom
    grid = _grid(phantom, signs)
    picture = _draw(analysed_head, grid)
    spacing_z, count = phantom.volume.spacing[2], phantom.volume.shape_zyx[0]
    # the phantom's slices are centred on z = 0: -17.5, -12.5, ... 17.5 mm
    truth = {k: signs[2] * spacing_z * (k - (count - 1) / 2) for k in range(count)}
    for row in picture.rows.values():
        positions = [panel.position_mm for panel in row]
        assert positions == sorted(positions)
        assert positions == pytest.approx([truth[panel.z] for panel in row])
    captions = [t.text for t in picture.texts_of("slice_position")]
    assert captions[:2] == [f"z = {truth[p.z]:.1f} mm" for p in picture.rows["core"][:2]]
    assert "z = -17.5 mm" in captions and "z = 17.5 mm" in captions


def test_without_a_grid_no_side_is_guessed(analysed_head):
    picture = _draw(analysed_head, None, language="en")
    assert {t.text for t in picture.texts_of("left_side") + picture.texts_of("right_side")} == {""}
    assert picture.texts_of("slice_position")[0].text == "slice 1"
    precision, _ = _agreement(picture, "core", CORE_RGB, analysed_head.phantom.core_mask)
    assert precision >= 0.9  # shown as stored


def _only(picture: SummaryPicture, key: str) -> str:
    (item,) = picture.texts_of(key)
    return item.text


def test_the_patient_is_named_with_diacritics_and_every_letter_has_a_glyph(analysed_head):
    grid = _grid(analysed_head.phantom)
    picture = _draw(analysed_head, grid, result_time=ResultTime(187, since_last_image=True))
    assert _only(picture, "patient_name") == "Nguyễn Thị Lan"
    assert _only(picture, "identity") == (
        "Mã người bệnh: PAT-300 · 66 tuổi · Nữ · Ngày chụp: 2026-01-01 09:30"
    )
    assert _only(picture, "result_time") == "Từ ảnh cuối đến kết quả: 3 phút 7 giây"
    fonts = [FT2Font(str(unicode_font().regular)), FT2Font(str(unicode_font().bold))]
    letters = {c for item in picture.texts for c in item.text if not c.isspace()}
    assert {c for c in letters if any(f.get_char_index(ord(c)) == 0 for f in fonts)} == set()
    # another name changes the picture, and only its header
    other = _draw(
        analysed_head,
        grid,
        subject=replace(LAN, name="Nguyen Thi Lan"),
        result_time=ResultTime(187, since_last_image=True),
    )
    changed = np.flatnonzero(np.any(picture.rgb != other.rgb, axis=(1, 2)))
    assert len(changed) > 0 and changed.max() < HEADER


def _ml(text: str) -> float:
    number, unit = text.split(" ")
    assert unit == "mL"
    return float(number)


@pytest.mark.parametrize("language", ["vi", "en"])
def test_volumes_in_large_type_match_the_phantom_truth(analysed_head, language):
    phantom = analysed_head.phantom
    picture = _draw(analysed_head, _grid(phantom), language=language)
    core, hypo = _ml(_only(picture, "core_ml")), _ml(_only(picture, "hypoperfusion_ml"))
    assert core == pytest.approx(phantom.core_ml, rel=0.15)
    assert hypo == pytest.approx(phantom.hypoperfusion_ml, rel=0.1)
    assert _ml(_only(picture, "mismatch_ml")) == pytest.approx(hypo - core, abs=0.1)
    assert float(_only(picture, "mismatch_ratio")) == pytest.approx(hypo / core, abs=0.01)
    truth_hir = phantom.tmax_gt10_ml / phantom.hypoperfusion_ml
    assert float(_only(picture, "hir")) == pytest.approx(truth_hir, abs=0.05)


WORDING = {
    "vi": {
        "ai_label": "Do AI tạo, chưa được bác sĩ duyệt",
        "core_ml_label": "Lõi nhồi máu (rCBF < 30%)",
        "hypoperfusion_ml_label": "Giảm tưới máu (Tmax > 6 s)",
        "core_title": "rCBF < 30%",
        "hypoperfusion_title": "Tmax > 6 s",
        "result_time": "Thời gian phân tích: 45 giây",
        "title": "Tóm tắt tưới máu não · CT",
    },
    "en": {
        "ai_label": "AI-generated, not reviewed",
        "core_ml_label": "Infarct core (rCBF < 30%)",
        "hypoperfusion_ml_label": "Hypoperfusion (Tmax > 6 s)",
        "core_title": "rCBF < 30%",
        "hypoperfusion_title": "Tmax > 6 s",
        "result_time": "Analysis time: 45 s",
        "title": "Stroke perfusion summary · CT",
    },
}


@pytest.mark.parametrize("language", WORDING)
def test_vietnamese_by_default_and_english_on_request(analysed_head, language):
    grid = _grid(analysed_head.phantom)
    time = ResultTime(45.2, since_last_image=False)
    picture = _draw(analysed_head, grid, result_time=time, language=language)
    for key, text in WORDING[language].items():
        assert _only(picture, key) == text, key
    footer = _only(picture, "ai_footer")
    assert "halong-perfusion 1.0.0" in footer
    assert ("chưa được bác sĩ duyệt" in footer) == (language == "vi")
    assert ("not reviewed by a physician" in footer) == (language == "en")
    if language == "vi":
        default = _draw(analysed_head, grid, result_time=time)
        assert np.array_equal(default.rgb, picture.rgb)
