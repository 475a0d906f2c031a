"""A reader's review: added nodules are measured like found ones, only accepted nodules
reach the reviewed result, and its categories follow the Lung-RADS table."""

from __future__ import annotations

import pytest

from ai.lung import LungRequest, analyse_chest_ct
from ai.lung.review import AlreadyListed, Decision, NoduleReview, ReviewError
from ai.phantoms import NoduleSpec, make_chest_ct


@pytest.fixture(scope="module")
def empty_review():
    """A review where the engine kept nothing (no candidate reaches probability 1.1)."""
    phantom = make_chest_ct(
        97_201,
        (90, 224, 224),
        (1.1, 1.1, 1.5),
        nodules=[NoduleSpec("solid", 10.0), NoduleSpec("part-solid", 16.0, 10.0)],
    )
    result = analyse_chest_ct(LungRequest(volume=phantom.volume, min_probability=1.1))
    assert result.nodules == []
    return phantom, result


def test_reader_added_nodules_are_measured_categorised_and_saved_as_the_readers(empty_review):
    phantom, result = empty_review
    review = NoduleReview(result, phantom.volume)
    solid, part_solid = phantom.nodules
    first = review.add(solid.center_lps_mm)
    second = review.add(part_solid.center_lps_mm)
    assert first.decision is Decision.ACCEPTED and first.nodule.probability is None
    assert first.nodule.measurements.volume_mm3 == pytest.approx(solid.volume_mm3, rel=0.1)
    assert second.nodule.measurements.type == "part-solid"
    # Lung-RADS v2022: solid 8 to < 15 mm -> 4A; part-solid >= 6 mm with a solid
    # component >= 8 mm -> 4B; the exam takes the highest
    assert first.nodule.lung_rads.category == "4A"
    assert second.nodule.lung_rads.category == "4B"
    assert review.exam_lung_rads.category == "4B"
    with pytest.raises(AlreadyListed):
        review.add(solid.center_lps_mm)
    with pytest.raises(ReviewError, match="outside the scan"):
        review.add((1e4, 0.0, 0.0))

    review.decide(second.id, Decision.REJECTED)
    assert review.exam_lung_rads.category == "4A"
    reviewed = review.reviewed_result("Dr Hoa")
    document = reviewed.to_json()
    assert [n["id"] for n in document["nodules"]] == [1]
    only = document["nodules"][0]
    assert only["found_by"] == "reader" and only["probability"] is None
    assert only["tracking_uid"] == first.nodule.tracking_uid
    assert document["lung_rads"]["category"] == "4A"
    assert document["review"]["rejected"] == [second.id]
    assert document["review"]["nodules"][0]["listed_as"] == first.id
    # the review itself is untouched by building the reviewed result
    assert [i.id for i in review.items] == [first.id, second.id]
