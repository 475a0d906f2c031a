"""The reader's unsaved nodule decisions, kept on disk until saved for the report.

Every decision and edit is written (atomically, fsync'ed) as it is made. After a crash
the next run on the same series gives the same nodules (the engine is deterministic),
so the operations are replayed on it; the journal first checks that the engine found
the same nodules in the same places, and replays nothing if not. Saving for the report,
or discarding on purpose, removes the journal.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from workstation.model.durable import write_atomically

if TYPE_CHECKING:
    from ai.lung.review import NoduleReview, ReviewItem

SCHEMA = 1
#: Engine nodules must be found again this close (mm) for a replay to be trusted.
SAME_PLACE_MM = 0.5


def _engine_centres(review: NoduleReview) -> list[list[float]]:
    found = [i for i in review.items if not i.nodule.added_by_reader]
    return [[round(float(c), 3) for c in i.nodule.measurements.center_lps_mm] for i in found]


class ReviewJournal:
    """The operations on one series' review, in order: decide, resegment, move, add."""

    def __init__(self, path: Path, centres: list[list[float]]) -> None:
        self.path = path
        self.centres = centres
        self.operations: list[dict[str, Any]] = []

    @classmethod
    def for_review(cls, folder: Path, series_key: str, review: NoduleReview) -> ReviewJournal:
        """The journal of the series ``series_key`` under ``folder`` (not read yet)."""
        digest = hashlib.sha1(series_key.encode("utf-8")).hexdigest()[:16]
        return cls(folder / f"unsaved-lung-review-{digest}.json", _engine_centres(review))

    def saved_operations(self) -> list[dict[str, Any]] | None:
        """What a previous session recorded for these very nodules; None if nothing usable."""
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
            operations = list(document["operations"])
            before = np.asarray(document["engine_centres"], float).reshape(-1, 3)
        except (OSError, ValueError, KeyError, TypeError):
            return None
        now = np.asarray(self.centres, float).reshape(-1, 3)
        if before.shape != now.shape or (
            before.size and float(np.abs(before - now).max()) > SAME_PLACE_MM
        ):
            return None
        return operations

    def record(self, operation: dict[str, Any]) -> None:
        self.operations.append(operation)
        self._write()

    def adopt(self, operations: list[dict[str, Any]]) -> None:
        """Carry on from replayed operations (they stay in the file)."""
        self.operations = list(operations)
        self._write()

    def discard(self) -> None:
        self.operations = []
        self.path.unlink(missing_ok=True)

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        document = {
            "schema": SCHEMA,
            "engine_centres": self.centres,
            "operations": self.operations,
        }
        write_atomically(self.path, json.dumps(document, indent=1).encode("utf-8"))


def apply_operation(review: NoduleReview, operation: dict[str, Any]) -> ReviewItem:
    """Do one recorded operation on the review (it raises what the review raises)."""
    from ai.lung.review import Decision

    kind, size = operation["op"], operation.get("size_mm")
    if kind == "decide":
        return review.decide(int(operation["id"]), Decision(operation["decision"]))
    if kind == "resegment":
        return review.resegment(int(operation["id"]), size)
    if kind == "move":
        return review.move(int(operation["id"]), operation["lps"], size)
    if kind == "add":
        return review.add(operation["lps"], size)
    raise ValueError(f"unknown review operation {kind!r}")


def replay(review: NoduleReview, operations: list[dict[str, Any]]) -> int:
    """Apply recorded operations to a fresh review; the number that applied."""
    from ai.lung.review import ReviewError

    applied = 0
    for operation in operations:
        try:
            apply_operation(review, operation)
        except (ReviewError, KeyError, ValueError, TypeError):
            continue  # an operation that cannot apply any more is dropped, not guessed at
        applied += 1
    return applied
