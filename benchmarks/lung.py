"""Benchmark and acceptance evaluation of the lung nodule engine.

    python -m benchmarks.lung [--device cpu|cuda] [--skip-timing] [--skip-phantoms] [--json FILE]

1. Speed: a 512 x 512 x 300 synthetic chest CT (0.7 x 0.7 x 1.0 mm) is written as DICOM,
   then taken from files to lung.json (plus SEG and SR) as ``halong lung`` does, with
   the time of each stage. Baseline in the same run: reading the same files with
   SimpleITK's ImageSeriesReader (I/O only). Goal: <= 30 s on the 2-core CPU.
2. Accuracy: phantom scans never used in training (seeds from 90 000, grid shapes the
   training did not use), scored against their truth: sensitivity for nodules >= 4 mm
   at the shipped operating point and false positives per scan, FROC sensitivities at
   1/8 ... 8 false positives per scan, volume error for nodules >= 6 mm on <= 1.25 mm
   slices, and type accuracy.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

#: 12 held-out scans: thin slices (volume rule), medium and thick slices.
PHANTOM_CASES = (
    *((90_000 + i, (200, 448, 448), (0.75, 0.75, 1.0)) for i in range(6)),
    *((90_100 + i, (120, 400, 400), (0.85, 0.85, 2.0)) for i in range(3)),
    *((90_200 + i, (50, 384, 384), (0.9, 0.9, 5.0)) for i in range(3)),
)
TIMING_SHAPE, TIMING_SPACING = (300, 512, 512), (0.7, 0.7, 1.0)
GOAL_S = 30.0


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            names = [
                line.split(":", 1)[1].strip() for line in info if line.startswith("model name")
            ]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    return f"{os.cpu_count()} vCPU {cpu}, Python {platform.python_version()}"


def time_full_scan(device: str | None) -> dict:
    """Files -> lung.json on a 512 x 512 x 300 chest CT, stage by stage."""
    import SimpleITK as sitk

    from ai.lung.pipeline import LungRequest, analyse_chest_ct
    from ai.phantoms import make_chest_ct
    from workstation.dicom.image_writer import SeriesInfo, write_volume
    from workstation.dicom.series_input import load_series, request_for_path
    from workstation.lung.outputs import write_lung_outputs

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "ct"
        phantom = make_chest_ct(seed=90_500, shape=TIMING_SHAPE, spacing=TIMING_SPACING)
        write_volume(phantom.volume, folder, SeriesInfo(study_date="20250301"), shuffle_names=True)
        del phantom
        started = time.perf_counter()
        reader = sitk.ImageSeriesReader()
        reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(folder)))
        reader.Execute()
        baseline = time.perf_counter() - started

        started = time.perf_counter()
        ct = load_series(request_for_path(folder), Path(scratch) / "no-database.sqlite")
        loaded = time.perf_counter() - started
        result = analyse_chest_ct(LungRequest(ct.volume, device=device))
        result.timings_s = {"load": loaded, **result.timings_s}
        write_lung_outputs(result, ct, Path(scratch) / "out", b"benchmark")
    timings = result.timings_s
    return {
        "shape_zyx": list(TIMING_SHAPE),
        "spacing_mm": list(TIMING_SPACING),
        "device": result.algorithm.device,
        "stages_s": {k: round(v, 2) for k, v in timings.items()},
        "to_lung_json_s": round(timings["total"] - timings.get("dicom_outputs", 0.0), 2),
        "baseline_simpleitk_read_s": round(baseline, 2),
        "nodules": len(result.nodules),
    }


def evaluate_phantoms(device: str | None, limit: int | None) -> dict:
    """The acceptance figures and FROC on the held-out phantom set."""
    from ai.lung.classifier import NoduleClassifier
    from ai.lung.evaluation import PhantomCase, acceptance, run_phantom
    from ai.models.device import select_device

    classifier = NoduleClassifier.load(device=select_device(device))
    scores, seconds = [], []
    for seed, shape, spacing in PHANTOM_CASES[:limit]:
        started = time.perf_counter()
        scores.append(run_phantom(PhantomCase(seed, shape, spacing), classifier))
        seconds.append(time.perf_counter() - started)
        score = scores[-1]
        print(
            f"  seed {seed} {spacing[0]:g}x{spacing[1]:g}x{spacing[2]:g} mm: "
            f"{sum(score.found)}/{len(score.found)} found, {score.false_positives} FP, "
            f"{seconds[-1]:.1f} s"
            + (f"  missed: {'; '.join(score.misses)}" if score.misses else "")
        )
    result = acceptance(scores).to_json()
    result["threshold"] = classifier.threshold
    result["seconds_per_scan"] = round(sum(seconds) / len(seconds), 1)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", help="cpu, cuda (default: CUDA when available)")
    parser.add_argument("--skip-timing", action="store_true")
    parser.add_argument("--skip-phantoms", action="store_true")
    parser.add_argument("--phantoms", type=int, help="evaluate only the first N phantom scans")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)

    report: dict = {"machine": _machine()}
    print(f"Machine: {report['machine']}")
    if not args.skip_timing:
        timing = time_full_scan(args.device)
        report["timing"] = timing
        print(f"Device: {timing['device']}")
        print(
            f"512x512x300 chest CT from files to lung.json: {timing['to_lung_json_s']:.1f} s "
            f"(goal <= {GOAL_S:g} s: {'met' if timing['to_lung_json_s'] <= GOAL_S else 'NOT met'})"
        )
        for stage, seconds in timing["stages_s"].items():
            print(f"  {stage:16s} {seconds:7.2f} s")
        ratio = timing["to_lung_json_s"] / timing["baseline_simpleitk_read_s"]
        print(
            f"  baseline: SimpleITK series read {timing['baseline_simpleitk_read_s']:.2f} s; "
            f"pipeline / baseline = {ratio:.1f}x"
        )
    if not args.skip_phantoms:
        print("Held-out phantom scans:")
        accuracy = evaluate_phantoms(args.device, args.phantoms)
        report["phantoms"] = accuracy
        print(
            f"Acceptance over {accuracy['scans']} scans, {accuracy['nodules']} nodules >= 4 mm:\n"
            f"  sensitivity {100 * accuracy['sensitivity']:.1f} % at "
            f"{accuracy['fp_per_scan']:.2f} FP/scan (threshold {accuracy['threshold']:.3f})\n"
            f"  volume error (>= 6 mm, <= 1.25 mm slices, n={accuracy['volume_nodules']}): "
            f"mean {100 * accuracy['volume_error_mean']:.1f} %, max "
            f"{100 * accuracy['volume_error_max']:.1f} %, within 10 %: "
            f"{100 * accuracy['volume_within_10_percent']:.0f} % "
            f"(max {100 * accuracy['volume_error_max_free']:.1f} % away from the pleura)\n"
            f"  juxtapleural ones against their part inside the pleura: mean "
            f"{100 * accuracy['volume_error_mean_juxtapleural_inside']:.1f} %, max "
            f"{100 * accuracy['volume_error_max_juxtapleural_inside']:.1f} %\n"
            f"  type correct {100 * accuracy['type_accuracy']:.1f} %"
        )
        print(
            "  FROC: "
            + ", ".join(
                f"{p['fp_per_scan']:g} FP: {100 * p['sensitivity']:.1f} %" for p in accuracy["froc"]
            )
        )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
