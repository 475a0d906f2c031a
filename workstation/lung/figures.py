"""What a viewer draws of a lung review: the nodules' label volume and the growth chart."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ai.lung.review import NoduleReview

#: What the size column and the growth chart call a nodule.
NODULE_NAME = "Nodule {id}"


def nodule_labels(review: NoduleReview) -> np.ndarray:
    """Each nodule's voxels hold its number (rejected ones too: the colours hide them)."""
    labels = np.zeros(review.volume.shape_zyx, np.int32)
    for item in review.items:
        mask = item.nodule.mask
        labels[mask.box][mask.mask] = item.id
    return labels


def growth_points(review: NoduleReview) -> dict[str, tuple[list[float], list[float]]]:
    """Nodule name -> (days from the prior, volume mm³) for the listed nodules seen before."""
    from ai.lung.review import Decision

    points = {}
    for item in review.items:
        prior = item.nodule.prior
        if item.decision is Decision.REJECTED or prior is None:
            continue
        if prior.prior_volume_mm3 is None:
            continue
        days = prior.interval_days or 0.0
        points[NODULE_NAME.format(id=item.id)] = (
            [0.0, float(days)],
            [float(prior.prior_volume_mm3), float(item.nodule.measurements.volume_mm3)],
        )
    return points
