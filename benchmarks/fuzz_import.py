"""Benchmark: 10,000 mutated DICOM files through import and load; count the tracebacks.

Seeds: the vendor corpus in ``../shared/data/dicom-variety`` (nine transfer syntaxes, a
GE head CT, Enhanced multi-frame files) and pydicom's own test files. Each mutant is one
seed with a random damage (bytes flipped, a block zeroed or filled with 0xFF, the file cut
short, a chunk repeated, a 32-bit length set huge), written to disk and read as Halong
reads every file: the header (``read_instance``), then the volume (``load_paths``). A
"traceback" is any exception that escapes those calls: they must turn every bad file into
a skip with a reason. Goal: 0 over 10,000 files.

    python -m benchmarks.fuzz_import [--files 10000] [--seed 0]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VARIETY = REPO.parent / "shared" / "data" / "dicom-variety"
#: Seeds larger than this are left out: a mutant of each is written 10,000 times over.
MAX_SEED_BYTES = 4 * 1024 * 1024


def seed_files() -> list[Path]:
    """The corpus files to mutate: vendor DICOM and pydicom's test data, small ones (the
    files pydicom ships; its downloadable extras are in the vendor corpus already)."""
    import pydicom.data

    shipped = Path(pydicom.data.__file__).parent / "test_files"
    found = [p for p in VARIETY.rglob("*") if p.is_file()] if VARIETY.is_dir() else []
    found += list(shipped.rglob("*.dcm"))
    return sorted(p for p in set(found) if p.stat().st_size <= MAX_SEED_BYTES)


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One random damage of ``data`` (see the module doc)."""
    buffer = bytearray(data)
    size = len(buffer)
    if size < 16:
        return bytes(buffer)
    kind = rng.randrange(6)
    at = rng.randrange(size)
    if kind == 0:  # a few flipped bytes
        for _ in range(rng.randint(1, 8)):
            buffer[rng.randrange(size)] ^= 1 << rng.randrange(8)
    elif kind == 1:  # a block zeroed or set to 0xFF
        end = min(size, at + rng.randint(1, 512))
        buffer[at:end] = bytes([rng.choice((0x00, 0xFF))]) * (end - at)
    elif kind == 2:  # cut short
        del buffer[at:]
    elif kind == 3:  # a chunk repeated
        end = min(size, at + rng.randint(1, 256))
        buffer[at:at] = buffer[at:end]
    elif kind == 4:  # a 32-bit length (or anything) set huge
        position = min(size - 4, at)
        buffer[position : position + 4] = rng.choice((b"\xff\xff\xff\xff", b"\xff\xff\xff\x7f"))
    else:  # a random block
        end = min(size, at + rng.randint(1, 64))
        buffer[at:end] = bytes(rng.randrange(256) for _ in range(end - at))
    return bytes(buffer)


def read_like_halong(path: Path) -> str:
    """``read_instance`` then ``load_paths`` on one file: ``ok``, ``skipped`` or raises."""
    from workstation.dicom.headers import UnusableFile, read_instance
    from workstation.dicom.loader import load_paths

    try:
        read_instance(path)
    except UnusableFile:
        return "skipped"
    result = load_paths([path])
    return "ok" if result.volumes else "skipped"


def run(count: int, seed: int) -> int:
    seeds = seed_files()
    if not seeds:
        print("no seed files found", file=sys.stderr)
        return 2
    rng = random.Random(seed)
    outcomes: Counter[str] = Counter()
    tracebacks: list[str] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="halong-fuzz-") as scratch:
        path = Path(scratch) / "mutant.dcm"
        for number in range(count):
            source = seeds[number % len(seeds)]
            path.write_bytes(mutate(source.read_bytes(), rng))
            try:
                outcomes[read_like_halong(path)] += 1
            except KeyboardInterrupt:
                raise
            except BaseException as error:  # what a user would see as a traceback
                outcomes["traceback"] += 1
                if len(tracebacks) < 5:
                    last = traceback.format_exception(error)[-1].strip()
                    tracebacks.append(f"{source.name} (mutant {number}): {last}")
    seconds = time.perf_counter() - started
    print(f"{count} mutated files from {len(seeds)} seeds in {seconds:.1f} s "
          f"({count / seconds:.0f} files/s)")  # fmt: skip
    for outcome in ("ok", "skipped", "traceback"):
        print(f"  {outcome:<10}{outcomes[outcome]:>8}")
    for line in tracebacks:
        print(f"  e.g. {line}")
    print(f"goal: 0 tracebacks -> {'met' if outcomes['traceback'] == 0 else 'NOT met'}")
    return 0 if outcomes["traceback"] == 0 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    return run(args.files, args.seed)


if __name__ == "__main__":
    sys.exit(main())
