"""Variations on the chest phantom for training and testing lung AI on harder cases.

The base phantom has smooth nodules, white noise and clean lungs. Real scans add:

* spicules: thin strands radiating from a nodule into the lung;
* masses several centimetres across that bulge into the mediastinum;
* scanner texture: noise correlated over a voxel or two (reconstruction kernels)
  and slow density variations of the parenchyma.

Each function changes a :class:`ChestPhantom` (or its specs) and keeps its truth valid:
spicules are not part of a nodule's measured volume (radiologists measure without
them), and a mass is an ordinary nodule with an explicit centre.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ai.phantoms.chest_ct import ChestPhantom
from ai.phantoms.grid import AxialGrid
from ai.phantoms.nodules import SOLID_HU, NoduleSpec, NoduleTruth, _random_rotation
from ai.phantoms.partial_volume import Tube, fibonacci_sphere, paint, render_union


def _grid(phantom: ChestPhantom) -> AxialGrid:
    return AxialGrid(phantom.volume.voxels.shape, phantom.volume.spacing)


def add_spicules(
    phantom: ChestPhantom,
    nodule: NoduleTruth,
    rng: np.random.Generator,
    count: int = 8,
    length_mm: tuple[float, float] = (3.0, 9.0),
    radius_mm: float = 0.45,
) -> None:
    """Thin solid strands from a nodule's surface outwards, painted into the volume."""
    grid = _grid(phantom)
    centre = np.asarray(nodule.center_lps_mm)
    directions = fibonacci_sphere(count) @ _random_rotation(rng).T
    r = nodule.diameter_mm / 2.0
    tubes = []
    for direction in directions:
        length = rng.uniform(*length_mm)
        start = centre + 0.8 * r * direction
        end = centre + (r + length) * direction
        tubes.append(Tube(start, end, radius_mm * 1.3, radius_mm * 0.6))
    rendered = render_union(grid, tubes)
    if rendered is None:
        return
    box, fraction = rendered
    hu = phantom.volume.voxels[box].astype(np.float32)
    outside = phantom.nodule_labels[box] == 0  # never repaint the nodule itself
    paint(hu, fraction * outside, SOLID_HU)
    phantom.volume.voxels[box] = np.clip(np.rint(hu), -32768, 32767).astype(np.int16)


def add_scanner_texture(
    phantom: ChestPhantom,
    rng: np.random.Generator,
    noise_hu: float = 20.0,
    correlation_mm: float = 0.8,
    density_hu: float = 20.0,
) -> None:
    """Correlated noise everywhere and slow density waves inside the lungs."""
    voxels = phantom.volume.voxels
    sx, sy, sz = phantom.volume.spacing
    sigma = [correlation_mm / sz, correlation_mm / sy, correlation_mm / sx]
    noise = ndimage.gaussian_filter(rng.standard_normal(voxels.shape, dtype=np.float32), sigma)
    noise *= np.float32(noise_hu / max(float(noise.std()), 1e-6))
    coarse = ndimage.zoom(
        rng.standard_normal([max(2, n // 16) for n in voxels.shape]).astype(np.float32),
        [n / max(2, n // 16) for n in voxels.shape],
        order=1,
    )[tuple(slice(0, n) for n in voxels.shape)]
    coarse = ndimage.gaussian_filter(coarse, 2.0)
    coarse *= np.float32(density_hu / max(float(coarse.std()), 1e-6))
    noise += np.where(phantom.lung_mask, coarse, np.float32(0.0))
    phantom.volume.voxels[...] = np.clip(np.rint(voxels + noise), -32768, 32767).astype(np.int16)


def mediastinal_mass_spec(
    phantom: ChestPhantom, rng: np.random.Generator, diameter_mm: float
) -> NoduleSpec:
    """A solid mass just inside a lung's medial border, bulging into the mediastinum."""
    volume = phantom.volume
    lung = phantom.lung_mask
    border = lung & ~ndimage.binary_erosion(lung)
    k, j, i = np.nonzero(border)
    world = volume.index_to_world(np.stack([i, j, k], axis=1))
    z_lo, z_hi = np.percentile(world[:, 2], [25, 75])
    medial = (np.abs(world[:, 0]) < np.percentile(np.abs(world[:, 0]), 20)) & (
        (world[:, 2] > z_lo) & (world[:, 2] < z_hi)
    )
    choices = world[medial] if medial.any() else world
    point = choices[int(rng.integers(len(choices)))]
    lateral = np.array([np.sign(point[0]) or 1.0, 0.0, 0.0])
    centre = point + lateral * 0.25 * diameter_mm
    return NoduleSpec(
        "solid",
        float(diameter_mm),
        center_lps_mm=(float(centre[0]), float(centre[1]), float(centre[2])),
        shape="lobulated",
        lobulation=float(rng.uniform(0.2, 0.35)),
    )
