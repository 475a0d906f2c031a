"""Corner text on screen: Vietnamese letters keep their diacritics, a long title gives way.

Text pixels are told from the image by colour: the annotation yellow has far more
red than blue, while the anatomy is grey and the text shadow black.
"""

from __future__ import annotations

import unicodedata

import numpy as np
import pytest

from viewers.text_style import ELLIPSIS

pytestmark = pytest.mark.gui

NAME = "Nguyễn Văn Ấn Đặng Thị Hồng"
#: The name with every accented letter replaced by its base letter.
BASE_NAME = "Nguyen Van An Dang Thi Hong"
ACCENTED = {"ễ": "e", "ă": "a", "Ấ": "A", "Đ": "D", "ặ": "a", "ị": "i", "ồ": "o"}
#: Pixels a diacritic adds at least, at the 15 pt corner size.
MARK_PIXELS = 3
#: The top band of the view, where the title, top letter and view label are drawn.
TOP_ROWS = 40


def text_mask(image: np.ndarray) -> np.ndarray:
    red, blue = image[..., 0].astype(int), image[..., 2].astype(int)
    return (red > 60) & (red - blue > 30)


def title_ink(view, text: str) -> np.ndarray:
    """Text pixels of the top band, left of the top letter, with ``text`` as the title."""
    view.set_info_text(text)
    view.render()
    image = view.grab_image()
    return text_mask(image[:TOP_ROWS, : image.shape[1] // 2 - 20])


@pytest.fixture
def wide_view(make_slice_view, phantom):
    """A view wide enough for the whole name, at the largest corner font."""
    return make_slice_view(phantom, size=(720, 300))


def test_each_accented_letter_draws_more_than_its_base_letter(wide_view):
    missing = []
    for letter, base in ACCENTED.items():
        accented, plain = title_ink(wide_view, letter), title_ink(wide_view, base)
        if not (accented.sum() >= plain.sum() + MARK_PIXELS and (accented != plain).any()):
            missing.append(f"{letter}: {accented.sum()} px vs {base}: {plain.sum()} px")
    assert not missing, f"diacritics not drawn: {missing}"


def test_a_vietnamese_name_draws_every_diacritic(wide_view):
    name = title_ink(wide_view, NAME).sum()
    assert wide_view.annotations.shown_text("upper_left") == NAME  # it fits: not elided
    base = title_ink(wide_view, BASE_NAME).sum()
    assert name >= base + len(ACCENTED) * MARK_PIXELS


def test_a_decomposed_name_is_drawn_composed(wide_view):
    decomposed = unicodedata.normalize("NFD", NAME)
    assert np.array_equal(title_ink(wide_view, decomposed), title_ink(wide_view, NAME))


def test_a_long_title_is_elided_clear_of_the_top_letter_and_view_label(
    make_slice_view, phantom, qtbot
):
    view = make_slice_view(phantom, size=(300, 300))
    view.set_slab("mip", 20.0)  # a second, wider line on the right: "MIP 20.0 mm"
    title = f"{NAME}  CT NGỰC CÓ CẢN QUANG\nCT 64x64x40"
    view.set_info_text("")
    view.render()
    others = view.grab_image()[:TOP_ROWS]
    view.set_info_text(title)
    view.render()
    image = view.grab_image()[:TOP_ROWS]

    first_line = view.annotations.shown_text("upper_left").split("\n")[0]
    assert first_line.endswith(ELLIPSIS) and NAME.startswith(first_line[:-1])
    assert view.corner_texts()["upper_left"] == title
    other_ink = text_mask(others)
    title_columns = np.nonzero((text_mask(image) & ~other_ink).any(axis=0))[0]
    other_columns = np.nonzero(other_ink.any(axis=0))[0]
    assert title_columns.max() + 4 < other_columns.min()  # left of the top letter "A"
    assert np.array_equal(image[other_ink], others[other_ink])  # letter and label untouched

    view.resize(1200, 300)  # room again: the whole title comes back
    qtbot.waitUntil(lambda: view.grab_image().shape[1] == 1200)
    view.render()
    assert view.annotations.shown_text("upper_left") == title
