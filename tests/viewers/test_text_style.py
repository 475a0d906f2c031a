"""Measuring and eliding viewer text in the Unicode font (FreeType only, no display)."""

from __future__ import annotations

import pytest

from viewers.annotations import corner_font_size
from viewers.text_style import ELLIPSIS, elide, text_width, use_unicode_font
from workstation.model.fonts import unicode_font

NAME = "Nguyễn Văn Ấn Đặng Thị Hồng"


def test_vietnamese_letters_have_width():
    # VTK's Arial skips these letters: the two would measure the same
    assert text_width("Nguyễn", 15) > text_width("Nguyn", 15)
    assert all(text_width(letter, 15) > 3 for letter in "ễăẤĐặịồ")
    assert text_width("", 15) == 0
    assert text_width(NAME, 15) > text_width(NAME, 10)


def test_a_line_that_fits_is_kept():
    assert elide(NAME, 15, text_width(NAME, 15)) == NAME


def test_a_long_line_keeps_the_longest_prefix_that_fits():
    line = NAME.replace(" ", "")
    room = text_width(line, 15) / 2
    shown = elide(line, 15, room)
    kept = shown.removesuffix(ELLIPSIS)
    assert shown.endswith(ELLIPSIS) and line.startswith(kept) and kept
    assert text_width(shown, 15) <= room
    assert text_width(line[: len(kept) + 1] + ELLIPSIS, 15) > room


def test_no_space_is_left_before_the_ellipsis():
    room = text_width("Nguyễn Văn…", 15)
    assert elide(NAME, 15, room) == "Nguyễn Văn…"


def test_each_line_is_elided_on_its_own():
    room = text_width("CT 64x64x40", 12)
    shown = elide(f"{NAME}\nCT 64x64x40", 12, room).split("\n")
    assert shown[1] == "CT 64x64x40"
    assert shown[0].endswith(ELLIPSIS) and text_width(shown[0], 12) <= room


def test_more_room_never_shows_less():
    lengths = [len(elide(NAME, 12, room)) for room in range(0, 260, 7)]
    assert lengths == sorted(lengths)
    assert lengths[-1] == len(NAME)


def test_no_room_leaves_nothing():
    assert elide(NAME, 15, text_width(ELLIPSIS, 15) - 1) == ""
    assert elide(NAME, 15, text_width(ELLIPSIS, 15)) == ELLIPSIS


@pytest.mark.parametrize(("bold", "face"), [(False, "regular"), (True, "bold")])
def test_the_font_file_follows_the_weight(bold, face):
    from vtkmodules.vtkRenderingCore import vtkTextProperty

    prop = vtkTextProperty()
    prop.SetBold(bold)
    use_unicode_font(prop)
    assert prop.GetFontFamilyAsString() == "File"
    assert prop.GetFontFile() == str(getattr(unicode_font(), face))


def test_corner_font_size_follows_the_smaller_side():
    assert corner_font_size(800, 600) == 15
    assert corner_font_size(200, 600) == 10
    assert corner_font_size(100, 100) == 9
