"""Outside names printed safely, and sizes read and written the way people type them."""

from __future__ import annotations

import pytest

from workstation.model.user_text import byte_size, parse_byte_size, printable


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("a\x1b[2J\nFAKE: 100 imported.dcm", "a\\x1b[2J\\nFAKE: 100 imported.dcm"),
        ("tab\tcr\rnul\x00del\x7f", "tab\\tcr\\rnul\\x00del\\x7f"),
        ("invoice\u202efdp.dcm", "invoice\\u202efdp.dcm"),  # a right-to-left override
        ("Nguyễn^Thị Lan/IM 1.dcm", "Nguyễn^Thị Lan/IM 1.dcm"),  # printable text stays as is
    ],
)
def test_unprintable_characters_are_shown_as_visible_escapes(raw, shown):
    assert printable(raw) == shown


def test_sizes_are_written_in_binary_units():
    assert [byte_size(n) for n in (512, 1536, 3 << 30, 2.34 * (1 << 40))] == [
        "512 bytes",
        "1.5 KiB",
        "3.0 GiB",
        "2.3 TiB",
    ]


def test_sizes_are_read_with_or_without_a_unit():
    assert [parse_byte_size(t) for t in ("100", "10K", "64M", "1.5GiB", "2 tb")] == [
        100,
        10 * 1024,
        64 << 20,
        3 << 29,
        2 << 40,
    ]
    with pytest.raises(ValueError, match="is not a size"):
        parse_byte_size("lots")
