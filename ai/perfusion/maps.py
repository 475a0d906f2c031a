"""CBF, CBV, MTT, Tmax and TTP maps from tissue curves and the arterial input.

Units and constants (``MapSettings``):

* CBF (ml / 100 g / min) = 6000 kH / rho x max r, with r the residue from
  deconvolution (1/s);
* CBV (ml / 100 g) = 100 kH / rho x ∫C / ∫Ca;
* MTT (s) = 60 CBV / CBF (central volume theorem);
* Tmax (s): onset of the residue after the arterial input (see ``deconvolution``);
* TTP (s): time of the tissue curve's maximum after the first frame.

kH = 0.73 corrects for the lower haematocrit of capillaries than of large
vessels (Rempp 1994); rho = 1.04 g/ml is brain density. Both are settings.

Spatial averaging, and why it is done twice
-------------------------------------------
Voxel curves of thin-slice CT are too noisy to deconvolve (5 HU noise against a
1-15 HU tissue curve). Curves are averaged in-plane over blocks of about
``working_spacing_mm`` over tissue voxels only (CSF, bone and vessels never
dilute them), then smoothed in-plane by a Gaussian normalised the same way.

* Flow (CBF, CBV, MTT) is read from strongly smoothed curves
  (``flow_smoothing_mm``): the infarct core's curve is below 1 HU, and any
  deconvolution overestimates flow from noise-dominated curves. Averaging
  mixes flows linearly, so a lesion's edge stays where it is.
* Timing (Tmax, TTP) is read from lightly smoothed curves
  (``timing_smoothing_mm``) and then median-filtered (``timing_median_mm``).
  Averaging curves of different delays is not neutral: the earlier, higher-flow
  component dominates the mixed residue, which would move the Tmax > 6 s edge
  into the lesion (by about 2 mm, 7 % of the hypoperfused volume on the head
  phantom); a median filter removes noise without moving edges.

Maps come back on the input grid: each input voxel takes the value of its block,
and is zero outside tissue.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ai.perfusion.concentration import TimeGrid
from ai.perfusion.deconvolution import DeconvolutionSettings, deconvolve
from workstation.model.progress import CancelToken, check

MAP_NAMES = ("cbf", "cbv", "mtt", "tmax", "ttp")


@dataclass(frozen=True)
class MapSettings:
    """Constants and the spatial averaging applied around deconvolution."""

    #: Large-to-small vessel haematocrit ratio.
    k_h: float = 0.73
    #: Brain tissue density, g/ml.
    rho_g_per_ml: float = 1.04
    #: In-plane size of the blocks curves are averaged over (mm); 0 keeps the input grid.
    working_spacing_mm: float = 1.6
    #: Sigma of the in-plane Gaussian on the curves Tmax and TTP are read from (mm).
    timing_smoothing_mm: float = 1.0
    #: Width of the in-plane median filter then applied to Tmax (mm).
    timing_median_mm: float = 8.0
    #: Sigma of the in-plane Gaussian on the curves CBF and CBV are read from (mm).
    flow_smoothing_mm: float = 3.0


@dataclass(frozen=True)
class WorkingGrid:
    """Blocks of ``factor`` x ``factor`` input voxels in-plane (whole slices along z)."""

    factor: int
    input_shape_zyx: tuple[int, int, int]

    @property
    def shape_zyx(self) -> tuple[int, int, int]:
        z, y, x = self.input_shape_zyx
        return z, -(-y // self.factor), -(-x // self.factor)

    @classmethod
    def for_spacing(
        cls,
        spacing_xyz: tuple[float, float, float],
        shape_zyx: tuple[int, int, int],
        target_mm: float,
    ) -> WorkingGrid:
        pixel = max(spacing_xyz[0], spacing_xyz[1])
        factor = max(1, round(target_mm / pixel)) if target_mm > 0 else 1
        return cls(factor, tuple(int(n) for n in shape_zyx))  # type: ignore[arg-type]

    def block_sums(self, image: np.ndarray) -> np.ndarray:
        """Sum of ``image`` (z, y, x) over each block (float32; exact for integer images)."""
        f = self.factor
        z, by, bx = self.shape_zyx
        if f == 1:
            return np.asarray(image, dtype=np.float32)
        _, y, x = image.shape
        if y != by * f or x != bx * f:
            padded = np.zeros((z, by * f, bx * f), dtype=image.dtype)
            padded[:, :y, :x] = image
            image = padded
        wide = np.int64 if np.issubdtype(image.dtype, np.integer) else np.float32
        rows = image.reshape(z, by * f, bx, f).sum(axis=3, dtype=wide)
        return rows.reshape(z, by, f, bx).sum(axis=2).astype(np.float32)

    def to_input(self, blocks: np.ndarray) -> np.ndarray:
        """A block image (z, by, bx) expanded to the input grid."""
        f = self.factor
        if f == 1:
            return blocks
        _, y, x = self.input_shape_zyx
        return np.repeat(np.repeat(blocks, f, axis=1), f, axis=2)[:, :y, :x]


@dataclass
class TissueCurves:
    """Averaged, smoothed signal curves of the working-grid blocks that hold tissue."""

    grid: WorkingGrid
    #: (T, M) mean signal of tissue voxels in each block (same unit as the input).
    signal: np.ndarray
    #: (M, 3) block indices (z, y, x) of the curves.
    blocks: np.ndarray

    def to_input(self, values: np.ndarray, tissue: np.ndarray) -> np.ndarray:
        """Per-block values on the input grid, zero outside ``tissue``."""
        blocks = np.zeros(self.grid.shape_zyx, dtype=np.float32)
        blocks[tuple(self.blocks.T)] = values
        return np.where(tissue, self.grid.to_input(blocks), np.float32(0.0))

    def median_filtered(self, values: np.ndarray, width_blocks: int) -> np.ndarray:
        """In-plane median of per-block values over tissue blocks only.

        Blocks without tissue first take the value of the nearest tissue block,
        so the filter never pulls values towards zero at the brain's edge.
        """
        if width_blocks <= 1:
            return values
        image = np.zeros(self.grid.shape_zyx, dtype=np.float32)
        holds = np.zeros(self.grid.shape_zyx, dtype=bool)
        image[tuple(self.blocks.T)] = values
        holds[tuple(self.blocks.T)] = True
        nearest = ndimage.distance_transform_edt(
            ~holds, return_distances=False, return_indices=True
        )
        filled = image[tuple(nearest)]
        filtered = ndimage.median_filter(filled, size=(1, width_blocks, width_blocks))
        return filtered[tuple(self.blocks.T)]


def tissue_curves(
    frames: np.ndarray,
    tissue: np.ndarray,
    grid: WorkingGrid,
    sigmas_blocks: tuple[float, ...],
    cancel: CancelToken | None = None,
) -> list[TissueCurves]:
    """Tissue-weighted block averages of every frame, one set per in-plane smoothing.

    Only the blocks around the tissue are summed (the brain fills about half of
    a CT field of view), with a margin for the smoothing.
    """
    f = grid.factor
    margin = int(np.ceil(4 * max(sigmas_blocks, default=0.0)))
    _, y, x = tissue.shape
    rows = np.flatnonzero(tissue.any(axis=(0, 2)))
    columns = np.flatnonzero(tissue.any(axis=(0, 1)))
    if len(rows) == 0:
        raise ValueError("no tissue to compute maps on")
    by0, bx0 = max(0, rows[0] // f - margin), max(0, columns[0] // f - margin)
    by1 = min(grid.shape_zyx[1], rows[-1] // f + 1 + margin)
    bx1 = min(grid.shape_zyx[2], columns[-1] // f + 1 + margin)
    box = (slice(None), slice(by0 * f, min(by1 * f, y)), slice(bx0 * f, min(bx1 * f, x)))
    local = WorkingGrid(f, tissue[box].shape)
    weights = local.block_sums(tissue[box])
    holds_tissue = weights > 0
    blocks = np.argwhere(holds_tissue) + np.array([0, by0, bx0])
    norms = [_smooth(weights, sigma)[holds_tissue] for sigma in sigmas_blocks]
    signals = [np.empty((frames.shape[0], len(blocks)), dtype=np.float32) for _ in sigmas_blocks]
    inside = tissue[box]
    for t, frame in enumerate(frames):
        check(cancel)
        sums = local.block_sums(np.where(inside, frame[box], 0))
        for signal, norm, sigma in zip(signals, norms, sigmas_blocks, strict=True):
            signal[t] = _smooth(sums, sigma)[holds_tissue] / norm
    return [TissueCurves(grid, signal, blocks) for signal in signals]


def _smooth(image: np.ndarray, sigma: float) -> np.ndarray:
    if sigma <= 0:
        return image
    return ndimage.gaussian_filter(image, sigma=(0, sigma, sigma), mode="constant")


@dataclass
class PerfusionMaps:
    """Maps on the input grid (zero outside tissue) and the residue details behind them."""

    cbf: np.ndarray
    cbv: np.ndarray
    mtt: np.ndarray
    tmax: np.ndarray
    ttp: np.ndarray
    #: Where the maps are defined.
    tissue: np.ndarray
    device: str

    def as_dict(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in MAP_NAMES}


ToConcentration = Callable[[np.ndarray], np.ndarray]


def compute_maps(
    frames: np.ndarray,
    tissue: np.ndarray,
    spacing_xyz: tuple[float, float, float],
    to_concentration: ToConcentration,
    aif: np.ndarray,
    time_grid: TimeGrid,
    settings: MapSettings | None = None,
    deconvolution: DeconvolutionSettings | None = None,
    cancel: CancelToken | None = None,
) -> PerfusionMaps:
    """All maps on the input grid from raw frames ``(T, z, y, x)`` and the arterial input.

    ``to_concentration`` turns signal curves ``(T, M)`` into concentration on
    ``time_grid`` (the same conversion the arterial curve went through).
    """
    settings = settings or MapSettings()
    deconvolution = deconvolution or DeconvolutionSettings()
    grid = WorkingGrid.for_spacing(spacing_xyz, tissue.shape, settings.working_spacing_mm)
    block_mm = grid.factor * max(spacing_xyz[0], spacing_xyz[1])
    timing, flow = tissue_curves(
        frames,
        tissue,
        grid,
        (settings.timing_smoothing_mm / block_mm, settings.flow_smoothing_mm / block_mm),
        cancel,
    )
    timing_concentration = to_concentration(timing.signal)
    onset = deconvolve(aif, timing_concentration, time_grid.interval_s, deconvolution, cancel)
    median_width = 2 * int(settings.timing_median_mm / block_mm / 2) + 1
    tmax = timing.median_filtered(np.maximum(onset.tmax_s, 0.0), median_width)
    ttp = time_to_peak(timing_concentration, time_grid.interval_s)
    flow_residues = deconvolve(
        aif, to_concentration(flow.signal), time_grid.interval_s, deconvolution, cancel
    )
    scale = settings.k_h / settings.rho_g_per_ml
    cbf = np.maximum(6000.0 * scale * flow_residues.peak, 0.0)
    cbv = np.maximum(100.0 * scale * flow_residues.area, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        mtt = np.where(cbf > 0, 60.0 * cbv / cbf, 0.0)
    per_block = {"cbf": cbf, "cbv": cbv, "mtt": mtt, "tmax": tmax, "ttp": ttp}
    on_input = {name: timing.to_input(values, tissue) for name, values in per_block.items()}
    return PerfusionMaps(**on_input, tissue=tissue, device=onset.device)


def time_to_peak(curves: np.ndarray, interval_s: float) -> np.ndarray:
    """Time (s after the first sample) of each curve's maximum, parabola-refined."""
    index = np.argmax(curves, axis=0)
    n = curves.shape[0]
    columns = np.arange(curves.shape[1])
    before = curves[np.clip(index - 1, 0, n - 1), columns]
    at = curves[index, columns]
    after = curves[np.clip(index + 1, 0, n - 1), columns]
    curvature = before - 2 * at + after
    inside = (index > 0) & (index < n - 1) & (curvature < 0)
    shift = np.where(inside, 0.5 * (before - after) / np.where(inside, curvature, -1.0), 0.0)
    return ((index + np.clip(shift, -0.5, 0.5)) * interval_s).astype(np.float32)
