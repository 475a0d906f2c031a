"""Benchmark: cold start of the main window, beside importing the GUI stack alone.

Each run is a fresh Python process. The window run is ``python -m workstation.cli gui``
with ``$HALONG_EXIT_AFTER_SHOW=1``: the window prints ``startup_s=...`` (the process's
age) right after its first show event and quits. The baseline is
``python -c "import PySide6.QtWidgets, vtk"``, the GUI stack the window is built on.
Both are timed the same way, from the moment the parent starts the process to the
moment the child writes its line. The home holds a database with 20 indexed series,
so the study list has something to read.

    python -m benchmarks.startup [--repeats 5]

Needs a display; without ``$DISPLAY`` it starts its own Xvfb. Goal: the window shown
in under 2 s.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

GOAL_SECONDS = 2.0
BASELINE_CODE = "import PySide6.QtWidgets, vtk; print('ready', flush=True)"


@contextlib.contextmanager
def _display() -> Iterator[None]:
    """Use ``$DISPLAY``, or run an Xvfb server for the children while the block runs."""
    if os.environ.get("DISPLAY"):
        yield
        return
    read, write = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
        pass_fds=(write,),
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    with os.fdopen(read) as stream:
        number = stream.readline().strip()
    os.environ["DISPLAY"] = f":{number}"
    try:
        yield
    finally:
        del os.environ["DISPLAY"]
        server.terminate()
        server.wait()


def _time_until_line(command: list[str], environment: dict[str, str]) -> tuple[float, str]:
    """Seconds from starting ``command`` until its first stdout line, and that line."""
    start = time.perf_counter()
    child = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=environment
    )
    line = child.stdout.readline().strip()
    elapsed = time.perf_counter() - start
    child.stdout.read()
    if child.wait(timeout=60) != 0 or not line:
        raise RuntimeError(f"{' '.join(command)} failed (status {child.returncode})")
    return elapsed, line


def _fill_database(home: Path, folder: Path) -> None:
    import numpy as np

    from workstation.dicom.database import Database
    from workstation.dicom.image_writer import SeriesInfo, write_volume
    from workstation.dicom.importer import ImportRequest, import_paths
    from workstation.model.volume import Volume

    for index in range(20):
        info = SeriesInfo(patient_id=f"BENCH-{index % 5}", series_number=index + 1)
        write_volume(Volume(np.zeros((4, 32, 32), np.int16)), folder / f"s{index}", info)
    with Database.open(home / "halong.sqlite") as db:
        import_paths(db, ImportRequest([folder], home / "store"))


def _summary(times: list[float]) -> str:
    return f"best {min(times):.3f} s, median {statistics.median(times):.3f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="halong-startup-") as tmp, _display():
        root = Path(tmp)
        _fill_database(root / "home", root / "dicom")
        environment = dict(
            os.environ,
            HALONG_HOME=str(root / "home"),
            HALONG_SETTINGS_DIR=str(root / "settings"),
            HALONG_EXIT_AFTER_SHOW="1",
        )
        window_command = [sys.executable, "-m", "workstation.cli", "gui"]
        baseline_command = [sys.executable, "-c", BASELINE_CODE]
        _time_until_line(baseline_command, environment)  # warm the page cache for both
        _time_until_line(window_command, environment)

        window, reported, baseline = [], [], []
        for _ in range(args.repeats):  # interleaved, so drift hits both alike
            seconds, line = _time_until_line(window_command, environment)
            window.append(seconds)
            reported.append(float(line.split("=", 1)[1]))
            baseline.append(_time_until_line(baseline_command, environment)[0])

    print(f"{'run (fresh process each)':<46} {'time':>32}")
    print(f"{'import PySide6.QtWidgets, vtk (baseline)':<46} {_summary(baseline):>32}")
    print(f"{'halong gui until the window is shown':<46} {_summary(window):>32}")
    print(f"{'  (as the window reports its process age)':<46} {_summary(reported):>32}")
    ratio = statistics.median(window) / statistics.median(baseline)
    print(f"\nwindow shown / GUI stack imported (medians): {ratio:.2f}x")
    shown = statistics.median(window)
    verdict = "met" if shown < GOAL_SECONDS else "MISSED"
    print(f"goal: window shown in < {GOAL_SECONDS:g} s: {shown:.3f} s -> {verdict}")


if __name__ == "__main__":
    main()
