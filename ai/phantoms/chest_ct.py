"""A synthetic chest CT with lung nodules of known size, type and place.

Layers, in painting order: the torso slice by slice (air, skin, subcutaneous
fat, chest wall, mediastinal fat, heart, aorta, spine, sternum, lungs), then the
pulmonary vessel trees, the airways, the ribs, the nodules, and finally noise.
Edges carry partial volume everywhere, so voxel sums match analytic volumes.
The result is an int16 HU ``Volume`` plus truth: nodule list, lung and nodule
label maps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ai.phantoms.chest_anatomy import ChestAnatomy
from ai.phantoms.chest_torso import (
    AIR_HU,
    CANCELLOUS_BONE_HU,
    CORTICAL_BONE_HU,
    SOFT_TISSUE_HU,
    render_torso,
)
from ai.phantoms.grid import AxialGrid
from ai.phantoms.nodules import (
    NoduleSpec,
    NoduleTruth,
    default_nodule_specs,
    place_nodules,
    render_nodules,
)
from ai.phantoms.partial_volume import Tube, paint, render_union
from ai.phantoms.vessel_tree import Branch, grow_tree
from workstation.model.volume import Volume

VESSEL_HU = 40.0

DEFAULT_SHAPE = (120, 256, 256)
DEFAULT_SPACING = (1.4, 1.4, 2.5)


@dataclass
class ChestPhantom:
    """A chest CT volume and its ground truth."""

    volume: Volume  # int16 HU
    nodules: list[NoduleTruth]
    #: 0 outside the lungs, 1 right lung, 2 left lung (``LUNG_LABELS``).
    lung_labels: np.ndarray
    #: 0 background, else the ``id`` of the nodule occupying at least half the voxel.
    nodule_labels: np.ndarray
    seed: int

    @property
    def lung_mask(self) -> np.ndarray:
        return self.lung_labels > 0

    def nodule(self, nodule_id: int) -> NoduleTruth:
        return next(n for n in self.nodules if n.id == nodule_id)


def make_chest_ct(
    seed: int = 0,
    shape: tuple[int, int, int] = DEFAULT_SHAPE,
    spacing: tuple[float, float, float] = DEFAULT_SPACING,
    nodules: list[NoduleSpec] | None = None,
    noise_hu: float = 15.0,
    vessel_generations: int = 9,
) -> ChestPhantom:
    """Build a chest CT phantom.

    ``shape`` is (z, y, x) voxels and ``spacing`` (sx, sy, sz) mm; the chest is
    scaled to fit the in-plane field of view. ``nodules`` None draws a random,
    seed-determined set of 5-8; ``vessel_generations`` 0 leaves the lungs empty
    (useful to measure nodules alone). Everything random follows ``seed``.
    """
    grid = AxialGrid(shape, spacing)
    anatomy_rng, vessel_rng, nodule_rng, noise_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4)
    )
    anatomy = ChestAnatomy.build(grid, anatomy_rng)
    hu, lung_labels = render_torso(grid, anatomy)

    vessels = _grow_vessels(anatomy, vessel_rng, vessel_generations)
    _paint_union(hu, grid, [b.tube for b in vessels], VESSEL_HU)
    walls, lumens = anatomy.airway_tubes()
    _paint_union(hu, grid, walls, SOFT_TISSUE_HU)
    _paint_union(hu, grid, lumens, AIR_HU)
    cortex, marrow = anatomy.rib_tubes()
    _paint_union(hu, grid, cortex, CORTICAL_BONE_HU)
    _paint_union(hu, grid, marrow, CANCELLOUS_BONE_HU)

    if nodules is None:
        smallest_lung = min(min(lung.semi_xy) for lung in anatomy.lungs.values())
        nodules = default_nodule_specs(nodule_rng, max_diameter_mm=min(25.0, 0.4 * smallest_lung))
    placed = place_nodules(nodules, anatomy, grid, nodule_rng, vessels)
    nodule_labels = np.zeros(grid.shape, dtype=np.int16)
    render_nodules(hu, nodule_labels, grid, placed)

    voxels = _add_noise_int16(hu, noise_hu, noise_rng)
    volume = grid.volume(
        voxels,
        "CT",
        attributes={
            "SeriesDescription": f"Halong synthetic chest CT phantom (seed {seed})",
            "BodyPartExamined": "CHEST",
            "SliceThickness": grid.spacing[2],
            "PatientPosition": "FFS",
        },
    )
    return ChestPhantom(volume, [p.truth for p in placed], lung_labels, nodule_labels, seed)


def _grow_vessels(
    anatomy: ChestAnatomy, rng: np.random.Generator, generations: int
) -> list[Branch]:
    """Arterial and venous trees for each lung, rooted at its hilum, filling the whole lung."""
    branches: list[Branch] = []
    if generations <= 0:
        return branches
    for side, root, radius in anatomy.vessel_roots:
        territory = anatomy.lung_points(
            rng, side, 24 * 2**generations, inset_mm=2.0 * anatomy.scale
        )
        branches += grow_tree(rng, np.asarray(root), radius, territory, generations)
    return branches


def _paint_union(hu: np.ndarray, grid: AxialGrid, solids: list[Tube], value: float) -> None:
    rendered = render_union(grid, solids)
    if rendered is not None:
        box, fraction = rendered
        paint(hu[box], fraction, value)


def _add_noise_int16(hu: np.ndarray, noise_hu: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise per voxel, rounded to int16 HU, a few slices at a time (bounded memory)."""
    out = np.empty(hu.shape, dtype=np.int16)
    step = max(1, 2_000_000 // max(1, hu.shape[1] * hu.shape[2]))
    for k in range(0, hu.shape[0], step):
        block = hu[k : k + step]
        if noise_hu > 0:
            block = block + np.float32(noise_hu) * rng.standard_normal(
                block.shape, dtype=np.float32
            )
        out[k : k + step] = np.clip(np.rint(block), -32768, 32767)
    return out
