"""An apparent diffusion coefficient (ADC) map of the synthetic stroke head.

Same anatomy and infarct as ``make_mr_dsc_head`` for the same seed and grid, so
an MR stroke study (DSC + ADC) can be checked end to end: the infarct core has
restricted diffusion (ADC 450 x 10^-6 mm^2/s), well below the usual
620 x 10^-6 mm^2/s core threshold; normal grey and white matter, the penumbra
and the oligaemic tissue keep normal ADC (850 and 750), CSF is free water (3000).
Values are stored as int16 in units of 10^-6 mm^2/s, as scanners export ADC.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ai.phantoms.grid import AxialGrid
from ai.phantoms.head_anatomy import AIR, CORE, CSF, GREY, SCALP, SKULL, WHITE, build_head
from ai.phantoms.perfusion_signal import anatomy_rng, lookup, noise_rng
from workstation.model.volume import Volume

#: ADC per tissue class, 10^-6 mm^2/s.
TISSUE_ADC = {AIR: 0.0, SCALP: 1000.0, SKULL: 300.0, CSF: 3000.0, GREY: 850.0, WHITE: 750.0}
CORE_ADC = 450.0
BLOOD_ADC = 1600.0


@dataclass
class AdcPhantom:
    """A 3D ADC volume (int16, 10^-6 mm^2/s) and the truth of its restricted-diffusion core."""

    volume: Volume
    core_mask: np.ndarray
    parenchyma_mask: np.ndarray
    core_ml: float


def make_adc_head(
    seed: int = 0,
    shape: tuple[int, int, int] = (16, 128, 128),
    spacing: tuple[float, float, float] = (1.6, 1.6, 5.0),
    noise_sd: float = 30.0,
    infarct: bool = True,
) -> AdcPhantom:
    """The ADC map of the head ``make_mr_dsc_head(seed, shape, spacing)`` images."""
    grid = AxialGrid(shape, spacing)
    head = build_head(grid, anatomy_rng(seed), infarct)
    parenchyma = head.parenchyma
    core = parenchyma & (head.zone == CORE)
    adc = lookup(TISSUE_ADC, head.tissue)
    adc[(head.zone == CORE) & ((head.tissue == GREY) | (head.tissue == WHITE))] = CORE_ADC
    share = head.tissue_share
    adc = adc * share + np.float32(BLOOD_ADC) * (1 - share)
    if noise_sd > 0:
        adc += np.float32(noise_sd) * noise_rng(seed).standard_normal(shape, dtype=np.float32)
    voxels = np.clip(np.rint(adc), 0, 32767).astype(np.int16)
    volume = grid.volume(
        voxels,
        "MR",
        attributes={
            "SeriesDescription": f"Halong synthetic ADC map, 10^-6 mm2/s (seed {seed})",
            "BodyPartExamined": "HEAD",
        },
    )
    return AdcPhantom(
        volume=volume,
        core_mask=core,
        parenchyma_mask=parenchyma,
        core_ml=float(core.sum()) * grid.voxel_volume_mm3 / 1000.0,
    )
