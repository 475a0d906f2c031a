"""Masses: solid tissue at least ``MIN_RADIUS_MM`` thick inside the lungs.

The blob detector and the network are tuned on nodules; a cancer of several
centimetres, irregular and grown into the mediastinum, may look like neither. But
nothing in an aerated lung is a solid ball 2 cm across except a lesion (the heart and
the diaphragm lie outside the lung mask, vessels are thinner), so such a region is
always reported, whatever the network says. Found on the lung mask's ~2 mm grid: the
deepest point of each dense region (distance transform) is its centre and the depth
its radius.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ai.lung.candidates import Candidate
from ai.lung.lung_mask import LungMask
from workstation.model.volume import Volume

#: Inscribed radius (mm) from which a dense region is a mass: 2 cm across.
MIN_RADIUS_MM = 10.0
DENSE_HU = -500.0


def find_masses(volume: Volume, lungs: LungMask) -> list[Candidate]:
    """One candidate per dense region of the lungs whose inscribed radius is a mass's."""
    grid = lungs.grid
    hu = grid.downsample(volume.voxels)
    inside = grid.downsample(lungs.labels > 0) >= 0.5
    dense = (hu > DENSE_HU) & inside
    depth = ndimage.distance_transform_edt(dense, sampling=grid.spacing_zyx)
    regions, count = ndimage.label(dense)
    if count == 0:
        return []
    index = np.arange(1, count + 1)
    deepest = ndimage.maximum(depth, regions, index)
    masses = []
    for label in index[np.asarray(deepest) >= MIN_RADIUS_MM]:
        where = np.array(ndimage.maximum_position(depth, regions, label), dtype=float)
        centre = grid.to_native_index(where)
        radius = float(deepest[label - 1])
        masses.append(Candidate(tuple(float(c) for c in centre), radius, float("inf"), 1.0, True))  # type: ignore[arg-type]
    return masses
