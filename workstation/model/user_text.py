"""Text shown to users: names from outside made safe to print, and sizes in bytes.

A zip member can be named ``"a\\x1b[2J\\nFAKE: 100 imported.dcm"``: printed raw, it
clears the terminal and forges a line of the import summary. :func:`printable` shows
every character that is not printable (control characters, escape, newlines,
bidirectional overrides, unassigned code points) as its visible Python escape.
"""

from __future__ import annotations

import re

_UNITS = ("bytes", "KiB", "MiB", "GiB", "TiB")
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*", re.IGNORECASE)


def printable(text: str) -> str:
    """``text`` with every unprintable character written as a visible escape (``\\x1b``)."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else ascii(char)[1:-1] for char in text)


def byte_size(count: float) -> str:
    """A size for people: ``512 bytes``, ``1.5 MiB``, ``2.3 TiB``."""
    for unit in _UNITS[:-1]:
        if count < 1024:
            return f"{count:.0f} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} {_UNITS[-1]}"


def parse_byte_size(text: str) -> int:
    """``"512"``, ``"64M"``, ``"1.5GiB"`` -> bytes (binary units); ValueError if it is none."""
    match = _SIZE.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a size (e.g. 500M, 20G)")
    number, unit = match.groups()
    return int(float(number) * 1024 ** (" KMGT".index(unit.upper() or " ")))
