"""The blob detector: scale-normalised, anisotropy aware, blind to tubes, finds every nodule."""

from __future__ import annotations

import numpy as np
import pytest

from ai.lung.candidates import detect_candidates
from ai.lung.evaluation import hit_matrix
from ai.lung.lung_mask import segment_lungs
from ai.phantoms import make_chest_ct
from ai.phantoms.grid import AxialGrid
from ai.phantoms.partial_volume import Ellipsoid, Tube, paint, render_solid

LUNG = -850.0


def _scene(spacing, solids, shape=(64, 96, 96)):
    """Lung-density box with soft-edged solids painted in; the whole box is 'lung'."""
    shape = (max(12, int(shape[0] * 1.0 / spacing[2])), shape[1], shape[2])
    grid = AxialGrid(shape, spacing)
    hu = np.full(grid.shape, LUNG, dtype=np.float32)
    for solid, value in solids:
        if isinstance(solid, Tube):
            from ai.phantoms.partial_volume import render_union

            box, fraction = render_union(grid, [solid])
        else:
            box, fraction = render_solid(grid, solid)
        paint(hu[box], fraction, value)
    volume = grid.volume(np.rint(hu).astype(np.int16), "CT")
    return volume, np.ones(grid.shape, dtype=np.uint8)


def _ball(centre, diameter):
    return Ellipsoid(np.asarray(centre, float), np.full(3, diameter / 2.0), np.eye(3))


@pytest.mark.parametrize("spacing", [(0.7, 0.7, 0.7), (0.7, 0.7, 2.5), (0.7, 0.7, 5.0)])
def test_balls_of_every_size_are_found_at_their_centre_with_their_size(spacing):
    # ground glass starts at 6 mm (as in the phantoms): 4 mm of it on a 5 mm slice is invisible
    for value, diameters in ((40.0, (4.0, 8.0, 16.0)), (-600.0, (6.0, 8.0, 16.0))):
        for diameter in diameters:
            volume, lungs = _scene(spacing, [(_ball((0.0, 0.0, 0.0), diameter), value)])
            found = detect_candidates(volume, lungs)
            assert found, (spacing, value, diameter)
            best = found[0]
            centre = volume.index_to_world(np.array(best.center_zyx[::-1]))
            offset = np.abs(centre)
            assert offset[:2].max() < max(1.0, 0.15 * diameter), (spacing, diameter, centre)
            assert offset[2] < max(1.0, 0.15 * diameter, 0.6 * spacing[2]), (spacing, diameter)
            assert 0.3 * diameter <= best.radius_mm <= 0.75 * diameter, (diameter, best.radius_mm)
            assert best.blobness > 0.5


def test_response_is_scale_normalised_and_proportional_to_contrast():
    responses = {}
    for value in (40.0, -600.0):
        for diameter in (6.0, 12.0, 24.0):
            volume, lungs = _scene(
                (0.8, 0.8, 0.8), [(_ball((0, 0, 0), diameter), value)], (80, 96, 96)
            )
            responses[value, diameter] = detect_candidates(volume, lungs)[0].response
    solid = [responses[40.0, d] for d in (6.0, 12.0, 24.0)]
    glass = [responses[-600.0, d] for d in (6.0, 12.0, 24.0)]
    assert max(solid) / min(solid) < 1.3
    ratio = np.array(glass) / np.array(solid)
    assert np.allclose(ratio, 250.0 / 890.0, rtol=0.1)


def test_a_vessel_is_not_a_candidate():
    tube = Tube(np.array([-40.0, -5.0, -3.0]), np.array([40.0, 5.0, 3.0]), 1.5, 1.5)
    volume, lungs = _scene((0.7, 0.7, 0.7), [(tube, 40.0)])
    middle = [
        c
        for c in detect_candidates(volume, lungs)
        if abs(volume.index_to_world(np.array(c.center_zyx[::-1]))[0]) < 25
    ]
    assert middle == []


@pytest.mark.parametrize(
    ("seed", "shape", "spacing"),
    [(41, (100, 224, 224), (1.4, 1.4, 2.5)), (42, (30, 224, 224), (1.4, 1.4, 8.0))],
    ids=["2.5mm", "8mm"],
)
def test_every_phantom_nodule_of_4mm_or_more_has_a_candidate(seed, shape, spacing):
    phantom = make_chest_ct(seed=seed, shape=shape, spacing=spacing)
    volume = phantom.volume
    found = detect_candidates(volume, segment_lungs(volume).labels)
    centres = volume.index_to_world(np.array([c.center_zyx[::-1] for c in found]))
    truth = np.array([n.center_lps_mm for n in phantom.nodules])
    radii = np.array([n.bounding_radius_mm for n in phantom.nodules])
    hit = hit_matrix(centres, truth, radii, spacing[2]).any(axis=0)
    for nodule, seen in zip(phantom.nodules, hit, strict=True):
        if nodule.diameter_mm >= 4.0:
            assert seen, nodule
    assert len(found) < 3000
