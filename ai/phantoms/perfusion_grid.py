"""A Kudo-style digital perfusion phantom: a grid of tiles with known CBF, CBV, MTT and delay.

After Kudo et al. (Radiology 2013), the reference for checking perfusion software:
every tile is uniform tissue with one combination of

* MTT (columns), and so CBF = 60 CBV / MTT;
* arrival delay relative to the arterial input (rows, 0-3 s): Tmax = delay, since
  every residue function used peaks at 0;
* CBV (sections, one axial slice each);

for one residue shape (exponential, box or linear) and one noise level. A last
column holds an arterial tile (the undiluted input), a venous tile and a tile of
unenhanced tissue, so automatic AIF/VOF selection can be exercised too.

CT frames are HU (tissue 40 HU + enhancement); MR frames are DSC signal
S = S0 exp(-TE k C) with Rician noise. Units as in ``kinetics``. With noise the
frames are int16, as scanners store them; without noise they stay float32, since
rounding to whole HU is itself noise of a few per cent of a small tissue curve
(written as DICOM they keep ~0.01 HU through the rescale slope).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from ai.phantoms import kinetics
from ai.phantoms.grid import AxialGrid
from ai.phantoms.perfusion_signal import ct_voxels, dsc_attenuation, mr_voxels, noise_rng
from workstation.model.volume import Volume

GRID_DELAYS_S = (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0)
GRID_MTTS_S = (2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0)
GRID_CBVS = (1.0, 2.0, 3.0, 4.0, 5.0)

TISSUE_HU = 40.0
TISSUE_S0 = 600.0
BLOOD_S0 = 300.0
AIF_ALPHA = 3.0
AIF_BETA_S = 1.5
VOF_DELAY_S = 4.0
VOF_DISPERSION_S = 3.0

Modality = Literal["CT", "MR"]


@dataclass
class PerfusionGrid:
    """The grid study and its truth; ``tile`` maps voxels to (cbv, delay, mtt) indices."""

    volume: Volume  # 4D [t, section, row, column]: int16, float32 when noise-free
    cbf: np.ndarray  # ml/100 g/min, 0 outside tissue tiles
    cbv: np.ndarray  # ml/100 g
    mtt: np.ndarray  # s
    tmax: np.ndarray  # s (= delay)
    #: (z, y, x, 3) indices into (cbvs, delays, mtts) of each tissue-tile voxel, -1 elsewhere.
    tile_index: np.ndarray
    tile_size: int
    cbvs: tuple[float, ...]
    delays_s: tuple[float, ...]
    mtts_s: tuple[float, ...]
    residue: kinetics.ResidueShape
    #: Arterial concentration per frame (HU for CT, mM for MR) and its tile.
    aif_curve: np.ndarray
    vof_curve: np.ndarray
    aif_tile: tuple[slice, slice, slice]
    vof_tile: tuple[slice, slice, slice]
    background_tile: tuple[slice, slice, slice]
    baseline_frames: int
    constants: dict[str, float | str] = field(default_factory=dict)

    @property
    def tissue_mask(self) -> np.ndarray:
        return self.tile_index[..., 0] >= 0

    @property
    def frame_times(self) -> np.ndarray:
        return np.asarray(self.volume.frame_times)

    def tile_interior(self, margin: int) -> np.ndarray:
        """Tissue voxels at least ``margin`` voxels inside their tile (unblurred by smoothing)."""
        _, ny, nx = self.cbf.shape
        y = np.arange(ny) % self.tile_size
        x = np.arange(nx) % self.tile_size
        inner_y = (y >= margin) & (y < self.tile_size - margin)
        inner_x = (x >= margin) & (x < self.tile_size - margin)
        return self.tissue_mask & inner_y[None, :, None] & inner_x[None, None, :]


def make_perfusion_grid(
    modality: Modality = "CT",
    residue: kinetics.ResidueShape = "exponential",
    noise: float = 0.0,
    seed: int = 0,
    tile_size: int = 8,
    pixel_mm: float = 2.0,
    slice_mm: float = 5.0,
    n_frames: int = 90,
    frame_interval_s: float = 1.0,
    cbvs: tuple[float, ...] = GRID_CBVS,
    delays_s: tuple[float, ...] = GRID_DELAYS_S,
    mtts_s: tuple[float, ...] = GRID_MTTS_S,
    aif_peak: float | None = None,
    bolus_arrival_s: float = 6.0,
    echo_time_ms: float = 30.0,
    relaxivity_per_s_per_mmol_l: float = 40.0,
) -> PerfusionGrid:
    """The grid phantom; ``noise`` is HU (CT) or the Rician sd (MR).

    The default acquisition (90 frames of 1 s) is long enough for the slowest
    tile (MTT 24 s, delay 3 s) to wash out, so CBV truth is measurable.
    """
    if modality not in ("CT", "MR"):
        raise ValueError(f"modality must be CT or MR, got {modality!r}")
    frame_times = np.arange(n_frames) * float(frame_interval_s)
    peak = aif_peak if aif_peak is not None else (400.0 if modality == "CT" else 6.0)
    t = kinetics.fine_time_grid(frame_times[-1])
    arterial = kinetics.gamma_variate(t, bolus_arrival_s, AIF_ALPHA, AIF_BETA_S, peak)
    venous = kinetics.venous_curve(t, arterial, VOF_DELAY_S, VOF_DISPERSION_S)

    n = tile_size
    shape = (len(cbvs), len(delays_s) * n, (len(mtts_s) + 1) * n)
    concentration = np.zeros((n_frames, *shape), dtype=np.float32)
    truth = {name: np.zeros(shape, dtype=np.float32) for name in ("cbf", "cbv", "mtt", "tmax")}
    tile_index = np.full((*shape, 3), -1, dtype=np.int16)
    for k, cbv in enumerate(cbvs):
        for j, delay in enumerate(delays_s):
            for i, mtt in enumerate(mtts_s):
                cbf = 60.0 * cbv / mtt
                tile = (k, slice(j * n, (j + 1) * n), slice(i * n, (i + 1) * n))
                curve = kinetics.tissue_curve(t, arterial, cbf, cbv, delay, residue)
                concentration[(slice(None), *tile)] = kinetics.sample(t, curve, frame_times)[
                    :, None, None
                ]
                for name, value in (("cbf", cbf), ("cbv", cbv), ("mtt", mtt), ("tmax", delay)):
                    truth[name][tile] = value
                tile_index[tile] = (k, j, i)
    vessel_column = slice(len(mtts_s) * n, shape[2])
    all_sections = slice(0, shape[0])
    aif_tile = (all_sections, slice(0, n), vessel_column)
    vof_tile = (all_sections, slice(n, 2 * n), vessel_column)
    background_tile = (all_sections, slice(2 * n, shape[1]), vessel_column)
    aif = kinetics.sample(t, arterial, frame_times).astype(np.float32)
    vof = kinetics.sample(t, venous, frame_times).astype(np.float32)
    concentration[(slice(None), *aif_tile)] = aif[:, None, None, None]
    concentration[(slice(None), *vof_tile)] = vof[:, None, None, None]

    rng = noise_rng(seed)
    if modality == "CT":
        values = concentration + np.float32(TISSUE_HU)
        voxels = ct_voxels(values, noise, rng) if noise > 0 else values
    else:
        s0 = np.full(shape, TISSUE_S0, dtype=np.float32)
        for tile in (aif_tile, vof_tile):
            s0[tile] = BLOOD_S0
        attenuation = dsc_attenuation(concentration, echo_time_ms, relaxivity_per_s_per_mmol_l)
        values = s0 * attenuation
        voxels = mr_voxels(values, noise, rng) if noise > 0 else values
    grid = AxialGrid(shape, (pixel_mm, pixel_mm, slice_mm))
    description = f"Halong perfusion grid phantom ({modality}, {residue}, noise {noise})"
    attributes: dict[str, object] = {
        "SeriesDescription": description,
        "BodyPartExamined": "HEAD",
    }
    if modality == "MR":
        attributes["EchoTime"] = float(echo_time_ms)
    volume = grid.volume(voxels, modality, frame_times=frame_times, attributes=attributes)
    return PerfusionGrid(
        volume=volume,
        cbf=truth["cbf"],
        cbv=truth["cbv"],
        mtt=truth["mtt"],
        tmax=truth["tmax"],
        tile_index=tile_index,
        tile_size=n,
        cbvs=tuple(cbvs),
        delays_s=tuple(delays_s),
        mtts_s=tuple(mtts_s),
        residue=residue,
        aif_curve=aif,
        vof_curve=vof,
        aif_tile=aif_tile,
        vof_tile=vof_tile,
        background_tile=background_tile,
        baseline_frames=int(np.sum(frame_times < bolus_arrival_s)),
        constants={
            "rho_g_per_ml": kinetics.RHO_G_PER_ML,
            "k_h": kinetics.K_H,
            "residue": residue,
            "aif_peak": peak,
            "bolus_arrival_s": bolus_arrival_s,
            "noise": noise,
            "echo_time_ms": echo_time_ms,
            "relaxivity_per_s_per_mmol_l": relaxivity_per_s_per_mmol_l,
        },
    )
