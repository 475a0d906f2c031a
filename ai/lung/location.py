"""Where a nodule sits: which lung, which third of it, and whether it touches the pleura.

Lobes need the fissures, which this engine does not segment; the zone (upper, middle,
lower third of that lung's height) is reported instead, and ``lobe`` stays unknown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import ndimage

from ai.lung.lung_mask import SIDE_NAMES, LungMask
from ai.lung.nodule_segmentation import NoduleMask
from workstation.model.volume import Volume

Zone = Literal["upper", "middle", "lower"]
#: A nodule whose outline comes this close to the lung's edge touches the pleura.
PLEURA_CONTACT_MM = 1.5


@dataclass(frozen=True)
class Location:
    side: str  # "right" or "left"
    zone: Zone
    juxtapleural: bool
    lobe: str | None = None
    #: Share of the nodule's surface that lies on the lung's edge (0 free, 1 a sliver).
    border_share: float = 0.0

    def to_json(self) -> dict[str, object]:
        return {"lung": self.side, "lobe": self.lobe, "zone": self.zone}


def locate(volume: Volume, lungs: LungMask, nodule: NoduleMask) -> Location:
    """Side from the lung labels under the nodule; zone from its height in that lung."""
    labels = lungs.labels[nodule.box]
    under = labels[nodule.mask]
    side_label = (
        int(np.bincount(under[under > 0], minlength=3)[1:].argmax() + 1) if (under > 0).any() else 1
    )
    spacing = (volume.spacing[2], volume.spacing[1], volume.spacing[0])
    gap = ndimage.distance_transform_edt(~nodule.mask, sampling=spacing)
    outside = labels == 0
    touches = bool(np.any((gap <= PLEURA_CONTACT_MM) & outside))
    surface = nodule.mask & ~ndimage.binary_erosion(nodule.mask)
    on_edge = surface & ndimage.binary_dilation(outside)
    share = np.count_nonzero(on_edge) / max(1, np.count_nonzero(surface))
    zone = _zone(volume, lungs, side_label, nodule)
    return Location(SIDE_NAMES[side_label], zone, touches, border_share=float(share))


def _zone(volume: Volume, lungs: LungMask, label: int, nodule: NoduleMask) -> Zone:
    """Upper, middle or lower third of the lung's extent from head to foot."""
    slices = np.nonzero((lungs.coarse_lungs == label).any(axis=(1, 2)))[0]
    if slices.size == 0:
        return "middle"
    grid = lungs.grid
    ends = grid.to_native_index(np.array([[slices[0], 0, 0], [slices[-1], 0, 0]]))[:, 0]
    heights = volume.index_to_world(np.array([[0.0, 0.0, k] for k in ends]))[:, 2]
    centre_k = nodule.indices_zyx()[:, 0].mean()
    height = volume.index_to_world(np.array([0.0, 0.0, centre_k]))[2]
    low, high = min(heights), max(heights)
    fraction = (height - low) / max(high - low, 1e-6)  # 0 at the base, 1 at the apex
    return "upper" if fraction > 2 / 3 else "lower" if fraction < 1 / 3 else "middle"
