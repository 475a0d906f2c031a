"""Benchmark: load a 500-slice 512x512 CT series from files into a Volume.

Compares Halong's loader with SimpleITK's ImageSeriesReader and a plain pydicom
loop, in the same run on the same files. Each loader runs in its own process so
its peak memory (ru_maxrss after loading minus before) is its own.

    python -m benchmarks.load_series [--slices 500] [--repeats 3]

Goals on the 2-core reference machine: Halong at least 2x faster than SimpleITK,
peak memory at most 1.5x the size of the volume.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _write_series(folder: Path, slices: int) -> int:
    """A CT-like series (body ellipse, noise); returns the volume's size in bytes."""
    from workstation.dicom.image_writer import SeriesInfo, write_volume
    from workstation.model.volume import Volume

    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:512, 0:512]
    body = ((x - 256) / 220.0) ** 2 + ((y - 256) / 170.0) ** 2 <= 1
    base = np.where(body, 40, -1000).astype(np.int16)
    voxels = np.empty((slices, 512, 512), dtype=np.int16)
    for z in range(slices):
        voxels[z] = base + rng.integers(-20, 20, size=(512, 512), dtype=np.int16)
    volume = Volume(voxels=voxels, spacing=(0.7, 0.7, 0.8), origin=(-180, -180, -200))
    write_volume(volume, folder, SeriesInfo(series_description="benchmark"), shuffle_names=True)
    return voxels.nbytes


#: When Halong's loader handed over its first image (perf_counter), as the viewer gets it.
_first_image_at: list[float] = []


def _load_halong(folder: str) -> tuple[int, ...]:
    from workstation.dicom.loader import load_paths

    def first_image(_volume) -> None:
        _first_image_at.append(time.perf_counter())

    return load_paths([folder], preview=first_image).volumes[0].voxels.shape


def _load_simpleitk(folder: str) -> tuple[int, ...]:
    import SimpleITK as sitk

    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(folder))
    return tuple(reversed(reader.Execute().GetSize()))


def _load_pydicom(folder: str) -> tuple[int, ...]:
    import pydicom

    datasets = [pydicom.dcmread(p) for p in Path(folder).iterdir()]
    normal = np.cross(
        np.array(datasets[0].ImageOrientationPatient[:3], dtype=float),
        np.array(datasets[0].ImageOrientationPatient[3:], dtype=float),
    )
    datasets.sort(key=lambda ds: float(np.dot(np.array(ds.ImagePositionPatient, float), normal)))
    volume = np.stack(
        [ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept) for ds in datasets]
    )
    return volume.shape


LOADERS = {"halong": _load_halong, "simpleitk": _load_simpleitk, "pydicom": _load_pydicom}


def _high_water_bytes() -> int:
    """Peak resident memory of this process (VmHWM; ru_maxrss would include the parent's)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("VmHWM not available (this benchmark needs Linux)")


def _child(name: str, folder: str) -> None:
    """Run one loader once in this process and print its time and peak memory."""
    import pydicom  # noqa: F401  (imports are not what we measure)
    import SimpleITK  # noqa: F401

    import workstation.dicom.loader  # noqa: F401

    before = _high_water_bytes()
    start = time.perf_counter()
    shape = LOADERS[name](folder)
    seconds = time.perf_counter() - start
    peak = _high_water_bytes() - before
    first = _first_image_at[0] - start if _first_image_at else None
    print(json.dumps({"seconds": seconds, "peak_bytes": peak, "shape": shape, "first_s": first}))


def _measure(name: str, folder: Path, repeats: int) -> dict:
    runs = []
    for _ in range(repeats):
        output = subprocess.run(
            [sys.executable, "-m", "benchmarks.load_series", "--child", name, str(folder)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        runs.append(json.loads(output.strip().splitlines()[-1]))
    best = min(runs, key=lambda r: r["seconds"])
    best["peak_bytes"] = min(r["peak_bytes"] for r in runs)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slices", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", nargs=2, metavar=("LOADER", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    with tempfile.TemporaryDirectory(prefix="halong-bench-") as tmp:
        folder = Path(tmp)
        print(f"writing {args.slices} slices of 512x512 ...", flush=True)
        volume_bytes = _write_series(folder, args.slices)
        _measure("pydicom", folder, 1)  # warm the page cache for everyone
        results = {name: _measure(name, folder, args.repeats) for name in LOADERS}
    halong = results["halong"]
    print(f"\nvolume: {args.slices}x512x512 int16 = {volume_bytes / 2**20:.0f} MiB")
    print(
        f"{'loader':<10} {'time s':>8} {'peak MiB':>9} {'peak/volume':>12} {'halong speed-up':>16}"
    )
    for name, r in results.items():
        print(
            f"{name:<10} {r['seconds']:8.2f} {r['peak_bytes'] / 2**20:9.0f} "
            f"{r['peak_bytes'] / volume_bytes:12.2f} {r['seconds'] / halong['seconds']:15.2f}x"
        )
    print(
        f"halong's first image (the middle slice, for the viewer): {halong['first_s']:.2f} s "
        f"of {halong['seconds']:.2f} s"
    )
    speedup = results["simpleitk"]["seconds"] / halong["seconds"]
    memory = halong["peak_bytes"] / volume_bytes
    verdict = "met" if speedup >= 2 else "MISSED"
    print(f"\ngoal: >= 2x faster than SimpleITK: {speedup:.2f}x -> {verdict}")
    print(f"goal: peak <= 1.5x volume: {memory:.2f}x -> {'met' if memory <= 1.5 else 'MISSED'}")


if __name__ == "__main__":
    main()
