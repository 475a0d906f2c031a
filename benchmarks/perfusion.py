"""Benchmark: a 512 x 512 x 32-slice x 40-frame CT perfusion study from DICOM files to all outputs.

The study is the synthetic stroke head (``make_ctp_head``) written as 1,280 DICOM
files in the single-series repeated-position layout. Timed: loading the files,
every analysis stage and every output (NIfTI, summary.png, DICOM, perfusion.json).

Baseline, measured in the same run: the textbook per-voxel oSVD in numpy (for
each voxel, pseudo-inverses of the block-circulant matrix at rising thresholds
until the oscillation index is met; Wu et al. 2003), timed on a sample of the
same curves and scaled to all of them, against Halong's vectorised deconvolution
of all of them.

    python -m benchmarks.perfusion [--slices 32] [--frames 40] [--accuracy]

``--accuracy`` also analyses the 256 x 256 x 16 head at 5 and 10 HU noise and
prints the core and hypoperfusion volume errors against the truth.

Goal on the 2-core reference machine: <= 15 s from files to all outputs.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

GOAL_S = 15.0
BASELINE_SAMPLE = 1500


def _machine() -> str:
    import torch

    cpu = platform.processor() or "cpu"
    for line in (
        Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []
    ):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    device = "cuda: " + torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    return (
        f"{os.cpu_count()} CPUs ({cpu}); torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads; device {device}"
    )


def _write_study(folder: Path, slices: int, frames: int) -> float:
    from ai.phantoms import make_ctp_head
    from workstation.dicom.image_writer import SeriesInfo, write_volume

    phantom = make_ctp_head(
        seed=0, shape=(slices, 512, 512), spacing=(0.45, 0.45, 5.0), n_frames=frames
    )
    info = SeriesInfo(series_description="benchmark CT perfusion", body_part="HEAD")
    write_volume(phantom.volume, folder, info, shuffle_names=True)
    return phantom.hypoperfusion_ml


def textbook_osvd_seconds_per_curve(aif: np.ndarray, curves: np.ndarray, dt: float) -> float:
    """Per-voxel numpy oSVD (Wu 2003), timed on ``curves`` (T, n): seconds per curve."""
    from ai.perfusion.deconvolution import OSVD_THRESHOLDS, DeconvolutionSettings

    limit = DeconvolutionSettings().oscillation_index
    n = len(aif)
    padded = np.concatenate([aif, np.zeros(n)]) * dt
    matrix = np.stack([np.roll(padded, shift) for shift in range(2 * n)], axis=1)
    u, s, vt = np.linalg.svd(matrix)
    inverses = [(vt.T * np.where(s >= p * s.max(), 1 / s, 0)) @ u.T for p in OSVD_THRESHOLDS]
    start = time.perf_counter()
    for curve in curves.T:
        tissue = np.concatenate([curve, np.zeros(n)])
        for inverse in inverses:
            residue = inverse @ tissue
            second = residue[2:] - 2 * residue[1:-1] + residue[:-2]
            if np.abs(second).sum() / (2 * n * max(residue.max(), 1e-12)) <= limit:
                break
    return (time.perf_counter() - start) / curves.shape[1]


def _deconvolution_comparison(study, result) -> tuple[float, float, int]:
    """(Halong seconds, textbook seconds scaled, curves) for the flow curves of the study."""
    from ai.perfusion.concentration import ct_concentration, uniform_time_grid
    from ai.perfusion.deconvolution import deconvolve
    from ai.perfusion.maps import MapSettings, WorkingGrid, tissue_curves

    volume = study.volume
    settings = MapSettings()
    grid = WorkingGrid.for_spacing(volume.spacing, volume.shape_zyx, settings.working_spacing_mm)
    block_mm = grid.factor * volume.spacing[0]
    (flow,) = tissue_curves(
        volume.voxels, result.maps.tissue, grid, (settings.flow_smoothing_mm / block_mm,)
    )
    baseline = slice(0, int(result.input["baseline_frames"]))
    curves = ct_concentration(flow.signal, baseline)
    aif = result.aif.values * np.float32(result.aif.partial_volume_scale or 1.0)
    interval = uniform_time_grid(volume.frame_times).interval_s
    start = time.perf_counter()
    deconvolve(aif, curves, interval)
    halong = time.perf_counter() - start
    sample = curves[:, np.random.default_rng(0).choice(curves.shape[1], BASELINE_SAMPLE)]
    per_curve = textbook_osvd_seconds_per_curve(aif.astype(float), sample.astype(float), interval)
    return halong, per_curve * curves.shape[1], curves.shape[1]


def run_benchmark(slices: int, frames: int) -> None:
    from ai.perfusion import PerfusionRequest, run_perfusion
    from workstation.dicom.series_input import load_series, request_for_path
    from workstation.perfusion.inputs import choose_perfusion_series
    from workstation.perfusion.outputs import save_outputs

    print(_machine())
    with tempfile.TemporaryDirectory(prefix="halong-perfusion-bench-") as tmp:
        folder, out = Path(tmp) / "ctp", Path(tmp) / "out"
        print(f"writing a 512x512 x {slices}-slice x {frames}-frame CT perfusion study ...")
        truth_ml = _write_study(folder, slices, frames)
        files = len(list(folder.iterdir()))
        start = time.perf_counter()
        study = choose_perfusion_series(load_series(request_for_path(folder), Path(tmp) / "none"))
        loaded = time.perf_counter()
        result = run_perfusion(PerfusionRequest(study.volume))
        analysed = time.perf_counter()
        save_outputs(result, study.loaded, out, b"benchmark")
        total = time.perf_counter() - start
        print(f"\n{files} files, volume {study.volume.voxels.shape} {study.volume.voxels.dtype}")
        print(f"{'stage':<16}{'seconds':>9}")
        print(f"{'load DICOM':<16}{loaded - start:9.2f}")
        for stage, seconds in result.timings_s.items():
            print(f"{stage:<16}{seconds:9.2f}")
        print(f"{'total':<16}{total:9.2f}   (analysis {analysed - loaded:.2f})")
        print(
            f"Tmax > 6 s {result.volumes.hypoperfusion_ml} ml (truth {truth_ml:.1f}); "
            f"device {result.maps.device}"
        )
        halong, textbook, curves = _deconvolution_comparison(study, result)
        print(
            f"\ndeconvolution of {curves} curves: Halong {halong:.2f} s, textbook per-voxel "
            f"numpy oSVD {textbook:.1f} s (from {BASELINE_SAMPLE} curves) -> "
            f"{textbook / halong:.0f}x"
        )
        verdict = "met" if total <= GOAL_S else "MISSED"
        print(f"goal: files to all outputs <= {GOAL_S:g} s: {total:.1f} s -> {verdict}")


def run_accuracy() -> None:
    from ai.perfusion import PerfusionRequest, run_perfusion
    from ai.phantoms import make_ctp_head

    print("\nhead phantom 256x256x16, 0.8 mm, 40 frames of 1.6 s: volume errors against truth")
    for noise in (5.0, 10.0):
        phantom = make_ctp_head(
            seed=0, shape=(16, 256, 256), spacing=(0.8, 0.8, 5.0), noise_hu=noise
        )
        volumes = run_perfusion(PerfusionRequest(phantom.volume)).volumes
        rows = (
            ("core", volumes.core_ml, phantom.core_ml),
            ("Tmax > 6 s", volumes.hypoperfusion_ml, phantom.hypoperfusion_ml),
            ("Tmax > 10 s", volumes.tmax_gt10_ml, phantom.tmax_gt10_ml),
        )
        for name, measured, truth in rows:
            error = 100 * (measured - truth) / truth
            print(f"  {noise:4.0f} HU  {name:<12} {measured:7.1f} ml  truth {truth:6.1f}", end="")
            print(f"  {error:+.1f} %")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slices", type=int, default=32)
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--accuracy", action="store_true", help="also the 5/10 HU volume errors")
    args = parser.parse_args()
    run_benchmark(args.slices, args.frames)
    if args.accuracy:
        run_accuracy()


if __name__ == "__main__":
    main()
