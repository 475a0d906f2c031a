"""Benchmark: index 5,000 small CT files into the database; compare with bare pydicom.

Generates the files (64x64 CT slices in several series, two patients), then in the
same run times a plain ``pydicom.dcmread(stop_before_pixels=True)`` loop over them
(the baseline) and Halong's importer (headers, database, progress bookkeeping),
best of ``--repeats`` each, with a fresh database per importer run. Peak Python
memory of the importer is traced for a fifth of the files and for all of them: it
must not grow with the number of files.

    python -m benchmarks.import_files [--files 5000] [--series 10] [--repeats 3]

Goal on the 2-core reference machine: at least 1,000 files/s.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

GOAL_FILES_PER_SECOND = 1000


def _write_files(folder: Path, files: int, series: int) -> list[Path]:
    import numpy as np

    from workstation.dicom.image_writer import SeriesInfo, write_volume
    from workstation.model.volume import Volume

    paths: list[Path] = []
    for index in range(series):
        slices = files // series + (1 if index < files % series else 0)
        volume = Volume(np.zeros((slices, 64, 64), np.int16), spacing=(0.7, 0.7, 1.0))
        info = SeriesInfo(patient_id=f"BENCH-{index % 2}", series_number=index + 1)
        paths += write_volume(volume, folder / f"series-{index:02d}", info)
    return paths


def _baseline(paths: list[Path]) -> None:
    import pydicom

    for path in paths:
        pydicom.dcmread(path, stop_before_pixels=True)


def _import(folders: list[Path], home: Path) -> int:
    from workstation.dicom.database import Database
    from workstation.dicom.importer import ImportRequest, import_paths

    with Database.open(home / "halong.sqlite") as db:
        report = import_paths(db, ImportRequest(folders, home / "store"))
    return report.imported + report.already_indexed


def _best_seconds(run: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def _peak_traced_bytes(run: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--series", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import pydicom  # noqa: F401  (imports are not what we measure)

    import workstation.dicom.importer  # noqa: F401

    with tempfile.TemporaryDirectory(prefix="halong-bench-") as tmp:
        root = Path(tmp)
        print(f"writing {args.files} files of 64x64 in {args.series} series ...", flush=True)
        paths = _write_files(root / "dicom", args.files, args.series)
        folders = sorted((root / "dicom").iterdir())
        homes = iter(root / f"home-{n}" for n in range(args.repeats + 3))
        _baseline(paths)  # warm the page cache for both

        baseline = _best_seconds(lambda: _baseline(paths), args.repeats)
        importer = _best_seconds(lambda: _import(folders, next(homes)), args.repeats)
        again_home = next(homes)
        _import(folders, again_home)
        again = _best_seconds(lambda: _import(folders, again_home), 1)
        fifth = _peak_traced_bytes(lambda: _import(folders[: len(folders) // 5], next(homes)))
        full = _peak_traced_bytes(lambda: _import(folders, next(homes)))

    rate, base_rate = args.files / importer, args.files / baseline
    print(f"\n{'run':<42} {'files/s':>9}")
    print(f"{'pydicom dcmread(stop_before_pixels) loop':<42} {base_rate:9.0f}")
    print(f"{'halong import (new files)':<42} {rate:9.0f}")
    print(f"{'halong import (all already indexed)':<42} {args.files / again:9.0f}")
    print(f"\nimporter / baseline speed: {rate / base_rate:.2f}x")
    print(
        f"peak traced Python memory: {fifth / 2**20:.1f} MiB for {args.files // 5} files, "
        f"{full / 2**20:.1f} MiB for {args.files} files"
    )
    verdict = "met" if rate >= GOAL_FILES_PER_SECOND else "MISSED"
    print(f"goal: >= {GOAL_FILES_PER_SECOND} files/s: {rate:.0f} -> {verdict}")


if __name__ == "__main__":
    main()
