"""Check the audit trail's hash chain and name the first record that breaks it.

Each line must carry its own intact seal, follow the record before it (its number one
more, its link naming that record's seal) and the newest must be the one the chain head
names (:mod:`~workstation.net.audit_chain` describes the format). What is wrong is told
as one of four kinds: *changed* (a record's bytes differ from what was sealed, or it is
cut short), *deleted*, *inserted* (a copy, or a record that follows no record here) and
*out of order*.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from workstation.net.audit_chain import (
    GENESIS,
    HEAD_FILE,
    BrokenRecord,
    Link,
    TrailLine,
    read_head,
    read_link,
    trail_lines,
)

Kind = Literal["changed", "deleted", "inserted", "out of order"]


@dataclass(frozen=True)
class Place:
    """A line of a monthly file (or of the head file)."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file} line {self.line}"


@dataclass(frozen=True)
class Break:
    """The first place the chain is broken, and how."""

    place: Place
    kind: Kind
    detail: str

    def __str__(self) -> str:
        return f"{self.place}: {self.kind}: {self.detail}"


@dataclass(frozen=True)
class Verdict:
    """How many records chain intact (all of them when nothing broke)."""

    records: int
    last_seal: bytes
    broken: Break | None = None

    @property
    def ok(self) -> bool:
        return self.broken is None


def verify(folder: Path) -> Verdict:
    """Walk the chain from the genesis value to the head."""
    stored = [(Place(line.file, line.line), _inspect(line)) for line in trail_lines(folder)]
    holders: dict[int, Place] = {}
    for place, link in stored:
        if isinstance(link, Link):
            holders.setdefault(link.number, place)
    seen: dict[bytes, Place] = {}
    previous = GENESIS
    for place, link in stored:
        intact = len(seen)
        if isinstance(link, str):
            return Verdict(intact, previous, Break(place, "changed", link))
        if link.number != intact + 1 or link.previous != previous:
            return Verdict(intact, previous, _misplaced(place, link, intact, seen, holders))
        seen[link.seal] = place
        previous = link.seal
    end = Place(stored[-1][0].file, stored[-1][0].line + 1) if stored else Place(HEAD_FILE, 1)
    return Verdict(len(seen), previous, _against_head(folder, len(seen), previous, end, holders))


def _inspect(line: TrailLine) -> Link | str:
    """The line's link, or why it is not an intact record."""
    try:
        link = read_link(line.text)
    except BrokenRecord as error:
        return str(error)
    return link if line.terminated else "it is cut short (no newline ends it)"


def _misplaced(
    place: Place, link: Link, intact: int, seen: dict[bytes, Place], holders: dict[int, Place]
) -> Break:
    """An intact record that does not follow record ``intact``: say why."""
    expected = intact + 1
    if link.seal in seen:
        return Break(place, "inserted", f"it repeats record {link.number} ({seen[link.seal]})")
    if link.number < expected:
        return Break(place, "out of order", f"record {link.number} comes after record {intact}")
    if link.number > expected:
        if expected in holders:
            return Break(
                place,
                "out of order",
                f"record {link.number} comes before record {expected} ({holders[expected]})",
            )
        return Break(place, "deleted", _missing(expected, link.number - 1, "before it"))
    return Break(place, "inserted", f"it does not follow record {intact}")


def _against_head(
    folder: Path, records: int, last_seal: bytes, end: Place, holders: dict[int, Place]
) -> Break | None:
    """Whether the newest record is the one the chain head names."""
    head_place = Place(HEAD_FILE, 1)
    try:
        head = read_head(folder)
    except BrokenRecord as error:
        return Break(head_place, "changed", str(error))
    if head is None:
        if records == 0:
            return None
        return Break(head_place, "deleted", "the chain head is missing")
    if head.records > records:
        where = "at the end (the chain head names them)"
        return Break(end, "deleted", _missing(records + 1, head.records, where))
    if head.records < records:
        return Break(
            holders[head.records + 1],
            "inserted",
            f"it comes after record {head.records}, the newest the chain head names "
            "(added by hand, or Halong stopped while recording it)",
        )
    if head.seal != last_seal:
        newest = holders.get(records, head_place)
        return Break(newest, "changed", "it is not the record the chain head names")
    return None


def _missing(first: int, last: int, where: str) -> str:
    records = f"record {first} is" if first == last else f"records {first} to {last} are"
    return f"{records} missing {where}"
