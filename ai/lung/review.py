"""A reader's review of the engine's nodules: accept, reject, re-segment, move, add.

The engine proposes; the reader decides. Every nodule starts *pending* (the same
:class:`~workstation.model.report.Decision` a report's AI findings carry). Edits run
the engine's own segmentation and measurement at the reader's point, so an edited
nodule is measured exactly like a found one; Lung-RADS and Fleischner follow every
change. The exam's categories count only accepted nodules, because only those reach
a report (:meth:`NoduleReview.reviewed_result`); pending and rejected ones never do.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from ai.lung.followup import match_nodules
from ai.lung.measurements import SOLID_THRESHOLD_HU
from ai.lung.pipeline import (
    MIN_REPORTED_MM,
    apply_rules,
    compare_with_prior_nodule,
    measure_and_locate,
    segment_in_lungs,
)
from ai.lung.result import LungResult, Nodule, PriorComparison
from ai.lung.rules import Fleischner, LungRads
from workstation.model.report import Decision
from workstation.model.volume import Volume

#: The size a reader's click is assumed to point at when no hint is given (mm).
DEFAULT_SIZE_HINT_MM = 10.0


class ReviewError(Exception):
    """An edit could not be made; the message says why, for the reader."""


class AlreadyListed(ReviewError):
    """The point lies inside a nodule already on the list."""

    def __init__(self, nodule_id: int) -> None:
        super().__init__(f"that point is inside nodule {nodule_id}, already on the list")
        self.nodule_id = nodule_id


@dataclass
class ReviewItem:
    """One nodule and what the reader did with it."""

    nodule: Nodule
    decision: Decision = Decision.PENDING
    #: Re-segmented or moved by the reader (measurements are the reader's, not the engine's).
    edited: bool = False

    @property
    def id(self) -> int:
        return self.nodule.id


class NoduleReview:
    """A :class:`LungResult` under review; categories are recomputed after every change."""

    def __init__(
        self,
        result: LungResult,
        volume: Volume,
        solid_threshold_hu: float = SOLID_THRESHOLD_HU,
    ) -> None:
        if result.lungs is None:
            raise ValueError("the result carries no lung mask: run analyse_chest_ct")
        self.result = result
        self.volume = volume
        self.solid_threshold_hu = solid_threshold_hu
        self.items = [ReviewItem(n) for n in result.nodules]
        self.exam_lung_rads: LungRads = result.lung_rads
        self.exam_fleischner: Fleischner | None = result.fleischner
        self._recompute()

    # --- looking up ------------------------------------------------------------------

    def item(self, nodule_id: int) -> ReviewItem:
        for item in self.items:
            if item.id == nodule_id:
                return item
        raise KeyError(f"no nodule {nodule_id}")

    @property
    def has_prior(self) -> bool:
        return self.result.prior_series_uid is not None

    def accepted(self) -> list[ReviewItem]:
        return [i for i in self.items if i.decision is Decision.ACCEPTED]

    def count(self, decision: Decision) -> int:
        return sum(1 for i in self.items if i.decision is decision)

    def item_at(self, lps: Sequence[float]) -> ReviewItem | None:
        """The listed (not rejected) nodule whose voxels hold the point, if any."""
        i, j, k = np.rint(self.volume.world_to_index(np.asarray(lps, float))).astype(int)
        for item in self.items:
            if item.decision is Decision.REJECTED:
                continue
            box, mask = item.nodule.mask.box, item.nodule.mask.mask
            local = (k - box[0].start, j - box[1].start, i - box[2].start)
            if all(0 <= v < n for v, n in zip(local, mask.shape, strict=True)) and mask[local]:
                return item
        return None

    # --- decisions -------------------------------------------------------------------

    def decide(self, nodule_id: int, decision: Decision) -> ReviewItem:
        item = self.item(nodule_id)
        item.decision = Decision(decision)
        self._recompute()
        return item

    # --- edits -----------------------------------------------------------------------

    def resegment(self, nodule_id: int, size_hint_mm: float | None = None) -> ReviewItem:
        """Segment the nodule again from its centre, with the reader's size hint."""
        item = self.item(nodule_id)
        return self._replace(item, item.nodule.measurements.center_lps_mm, size_hint_mm)

    def move(
        self, nodule_id: int, lps: Sequence[float], size_hint_mm: float | None = None
    ) -> ReviewItem:
        """The nodule is really at ``lps``: segment it there (same number and tracking UID)."""
        item = self.item(nodule_id)
        other = self.item_at(lps)
        if other is not None and other is not item:
            raise AlreadyListed(other.id)
        return self._replace(item, lps, size_hint_mm)

    def add(self, lps: Sequence[float], size_hint_mm: float | None = None) -> ReviewItem:
        """A nodule the engine missed, segmented at the reader's click; it starts accepted."""
        listed = self.item_at(lps)
        if listed is not None:
            raise AlreadyListed(listed.id)
        nodule = self._segment_at(lps, size_hint_mm)
        nodule.id = max((i.id for i in self.items), default=0) + 1
        nodule.added_by_reader = True
        nodule.prior = self._prior_for_new(nodule)
        item = ReviewItem(nodule, Decision.ACCEPTED, edited=True)
        self.items.append(item)
        self._recompute()
        return item

    def _replace(
        self, item: ReviewItem, lps: Sequence[float], size_hint_mm: float | None
    ) -> ReviewItem:
        fresh = self._segment_at(lps, size_hint_mm)
        old = item.nodule
        item.nodule = dataclasses.replace(
            old,
            mask=fresh.mask,
            measurements=fresh.measurements,
            location=fresh.location,
            prior=self._prior_again(old.prior, fresh),
        )
        item.edited = True
        self._recompute()
        return item

    def _segment_at(self, lps: Sequence[float], size_hint_mm: float | None) -> Nodule:
        """The engine's segmentation and measurement at a point, or a reason why not."""
        volume = self.volume
        lungs = self.result.lungs
        assert lungs is not None
        index = volume.world_to_index(np.asarray(lps, float))
        centre_zyx = (float(index[2]), float(index[1]), float(index[0]))
        if not all(0 <= c <= n - 1 for c, n in zip(centre_zyx, volume.shape_zyx, strict=True)):
            raise ReviewError("that point is outside the scan")
        if lungs.labels[tuple(round(c) for c in centre_zyx)] == 0:
            raise ReviewError("that point is outside the lungs")
        radius = 0.5 * (size_hint_mm or DEFAULT_SIZE_HINT_MM)
        mask = segment_in_lungs(volume, lungs, centre_zyx, radius)
        if mask is None:
            raise ReviewError("nothing denser than the lung stands out there")
        measurements, location = measure_and_locate(volume, lungs, mask, self.solid_threshold_hu)
        if measurements.mean_diameter_mm < MIN_REPORTED_MM:
            raise ReviewError(
                f"what stands out there measures {measurements.mean_diameter_mm:.1f} mm, "
                f"under the {MIN_REPORTED_MM:.0f} mm the engine reports"
            )
        return Nodule(0, mask, measurements, None, location)

    # --- the prior --------------------------------------------------------------------

    def _prior_again(self, prior: PriorComparison | None, fresh: Nodule) -> PriorComparison | None:
        """The same prior match, with growth and doubling time from the new measurements."""
        if prior is None or prior.prior_volume_mm3 is None or prior.prior_mean_diameter_mm is None:
            return prior
        return compare_with_prior_nodule(
            fresh.measurements,
            prior.prior_id,
            prior.prior_volume_mm3,
            prior.prior_mean_diameter_mm,
            prior.interval_days,
            prior.distance_mm,
        )

    def _prior_for_new(self, nodule: Nodule) -> PriorComparison | None:
        """An added nodule against the prior's unmatched nodules: new, or their follow-up."""
        if not self.has_prior:
            return None
        days = self.result.prior_interval_days
        taken = {i.nodule.prior.prior_id for i in self.items if i.nodule.prior is not None}
        unmatched = [r for r in self.result.resolved if r["prior_id"] not in taken]
        m = nodule.measurements
        matches = match_nodules(
            np.array([m.center_lps_mm]),
            [m.mean_diameter_mm],
            np.array([r["center_lps_mm"] for r in unmatched]).reshape(-1, 3),
            [r["mean_diameter_mm"] for r in unmatched],
        )
        if not matches:
            return PriorComparison(status="new", interval_days=days)
        old = unmatched[matches[0].prior_index]
        return compare_with_prior_nodule(
            m,
            old["prior_id"],
            old["volume_mm3"],
            old["mean_diameter_mm"],
            days,
            matches[0].distance_mm,
        )

    # --- categories -------------------------------------------------------------------

    def _status(self, nodule: Nodule) -> str:
        return nodule.prior.status if nodule.prior is not None else "baseline"

    def _recompute(self) -> None:
        """Per nodule over the listed ones (its peers count for Fleischner); exam over accepted."""
        listed = [i.nodule for i in self.items if i.decision is not Decision.REJECTED]
        apply_rules(listed, [self._status(n) for n in listed], self.result.risk)
        accepted = [i.nodule for i in self.accepted()]
        exam_copies = [dataclasses.replace(n) for n in accepted]
        self.exam_lung_rads, self.exam_fleischner = apply_rules(
            exam_copies, [self._status(n) for n in exam_copies], self.result.risk
        )

    # --- what reporting gets -----------------------------------------------------------

    def reviewed_result(self, reader: str = "") -> LungResult:
        """Only the accepted nodules, numbered 1..n as the SEG needs, with the review recorded.

        Each nodule keeps its tracking UID; ``review`` says who decided what and when,
        and which numbers the nodules had on the reader's list.
        """
        accepted = [dataclasses.replace(i.nodule) for i in self.accepted()]
        listed_as = {}
        for number, (nodule, item) in enumerate(zip(accepted, self.accepted(), strict=True), 1):
            listed_as[number] = item
            nodule.id = number
        lung_rads, fleischner = apply_rules(
            accepted, [self._status(n) for n in accepted], self.result.risk
        )
        return dataclasses.replace(
            self.result,
            nodules=accepted,
            lung_rads=lung_rads,
            fleischner=fleischner,
            review={
                "reader": reader,
                "reviewed_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "nodules": [
                    {
                        "id": number,
                        "listed_as": item.id,
                        "decision": str(item.decision),
                        "edited": item.edited,
                        "added_by_reader": item.nodule.added_by_reader,
                    }
                    for number, item in listed_as.items()
                ],
                "rejected": [i.id for i in self.items if i.decision is Decision.REJECTED],
                "pending": [i.id for i in self.items if i.decision is Decision.PENDING],
            },
        )
