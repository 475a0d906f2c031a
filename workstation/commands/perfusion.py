"""``halong perfusion INPUT --out DIR``: stroke perfusion maps, core/penumbra volumes, triage."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from workstation.cli import EXIT_ERROR, EXIT_INTERRUPTED
from workstation.commands.console import ProgressLine, cancel_on_interrupt


def _point(text: str) -> tuple[float, float, float]:
    try:
        x, y, z = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected X,Y,Z in LPS mm, got {text!r}") from None
    return x, y, z


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "perfusion",
        help="CT/MR perfusion maps, infarct core and hypoperfusion volumes, DEFUSE 3/DAWN triage",
        description=(
            "Analyse a CT perfusion or MR DSC study: CBF, CBV, MTT, Tmax and TTP maps, "
            "infarct core (relative CBF < 30 %, or ADC < 620 x 10^-6 mm2/s with --adc), "
            "Tmax > 6 s and > 10 s volumes, mismatch, QC flags and the DEFUSE 3 / DAWN "
            "rules. Writes perfusion.json, NIfTI maps and masks, summary.png and DICOM "
            "(Secondary Captures and Parametric Maps) into --out. Results are AI-generated."
        ),
    )
    parser.add_argument(
        "input", metavar="INPUT", help="DICOM folder, 4D NIfTI, or the UID of an indexed series"
    )
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    parser.add_argument(
        "--adc", metavar="ADC_INPUT", help="ADC map (DICOM folder, NIfTI or series UID)"
    )
    _clinical_options(parser)
    parser.add_argument(
        "--dt", type=_positive, metavar="SECONDS", help="frame interval (NIfTI without one)"
    )
    parser.add_argument("--aif", type=_point, metavar="X,Y,Z", help="arterial voxel, LPS mm")
    parser.add_argument("--vof", type=_point, metavar="X,Y,Z", help="venous voxel, LPS mm")
    parser.add_argument(
        "--language", choices=("vi", "en"), default="vi", help="words on summary.png"
    )
    parser.set_defaults(handler=run)

    triage = subparsers.add_parser(
        "triage",
        help="decide DEFUSE 3 and DAWN again for a perfusion result with new clinical values",
        description=(
            "Re-run the DEFUSE 3 and DAWN rules on the volumes of RESULT_DIR (a folder "
            "holding perfusion.json) with the clinical values given, as the Perfusion panel's "
            "Clinical Values… does. The result folder is not changed (its files are sealed); "
            "to keep the new decisions in a result, run 'halong perfusion' with the values."
        ),
    )
    triage.add_argument("result_dir", type=Path, metavar="RESULT_DIR")
    _clinical_options(triage)
    triage.add_argument("--json", action="store_true", help="print the decisions as JSON")
    triage.set_defaults(handler=run_triage)


def _clinical_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--age", type=_positive, metavar="N", help="age in years")
    parser.add_argument("--nihss", type=int, metavar="N", help="NIHSS score")
    parser.add_argument(
        "--onset-hours", type=_positive, metavar="H", help="hours since last known well"
    )


class _Stages:
    """Progress of the analysis stages on stderr, one line per stage."""

    def __call__(self, done: int, total: int | None, message: str) -> None:
        print(f"perfusion [{done}/{total}] {message}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    """Exit 0 on success, 2 for input that cannot be analysed, 130 on Ctrl-C."""
    from ai.perfusion import ClinicalInputs, PerfusionInputError
    from workstation.dicom.series_input import SeriesInputError, load_series, resolve_input
    from workstation.home import resolve_home
    from workstation.model.progress import Cancelled, CancelToken
    from workstation.perfusion.analysis import PerfusionOptions, analyse
    from workstation.perfusion.inputs import choose_perfusion_series
    from workstation.perfusion.outputs import save_outputs

    if _nihss_refused(args.nihss):
        return EXIT_ERROR
    home = resolve_home(args.home)
    database = home.database_path
    token = CancelToken()
    stages = _Stages()
    try:
        with cancel_on_interrupt(token):
            with ProgressLine() as progress:
                request = resolve_input(str(args.input), database)
                loaded = load_series(request, database, progress, token, frame_interval_s=args.dt)
                study = choose_perfusion_series(loaded, args.dt)
            options = PerfusionOptions(
                clinical=ClinicalInputs(args.age, args.nihss, args.onset_hours),
                adc=resolve_input(str(args.adc), database) if args.adc else None,
                aif_lps_mm=args.aif,
                vof_lps_mm=args.vof,
            )
            result = analyse(study.loaded, options, database, stages, token)
            result.qc.notes[:0] = study.notes
            seal = home.result_seal_key()
            written = save_outputs(
                result, study.loaded, args.out, seal, stages, token, language=args.language
            )
    except (SeriesInputError, PerfusionInputError) as error:
        print(f"halong perfusion: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except Cancelled:
        print("halong perfusion: cancelled", file=sys.stderr)
        return EXIT_INTERRUPTED
    _print_summary(result.to_json(), written.folder)
    return 0


def _nihss_refused(nihss: int | None) -> bool:
    if nihss is not None and not 0 <= nihss <= 42:
        print(f"halong: error: NIHSS must be 0-42, got {nihss}", file=sys.stderr)
        return True
    return False


def run_triage(args: argparse.Namespace) -> int:
    """0 with the decisions printed; 2 when the folder holds no valid perfusion result."""
    import json

    from ai.perfusion import ClinicalInputs
    from workstation.perfusion.analysis import decide_triage
    from workstation.reporting.result_schema import ResultSchemaError, require_valid

    if _nihss_refused(args.nihss):
        return EXIT_ERROR
    path = args.result_dir / "perfusion.json"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        require_valid(document, "perfusion", str(path))
    except (OSError, ValueError, ResultSchemaError) as error:
        print(f"halong triage: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    ratio = document["mismatch_ratio"]
    decisions = decide_triage(
        document["core_ml"],
        document["hypoperfusion_ml"],
        document["mismatch_ml"],
        float(ratio) if ratio is not None else None,
        ClinicalInputs(args.age, args.nihss, args.onset_hours),
    )
    if args.json:
        print(json.dumps({d.rule: d.to_json() for d in decisions}, ensure_ascii=False, indent=1))
        return 0
    print(f"Triage of {args.result_dir} (AI-generated volumes, new clinical values):")
    for decision in decisions:
        print(f"  {decision.rule:<15} {decision.status}")
        for reason in decision.reasons:
            print(f"  {'':<15} - {reason}")
    return 0


def _print_summary(document: dict, folder: Path) -> None:
    def shown(key: str, unit: str = "") -> str:
        value = document[key]
        return "n/a" if value is None else f"{value}{unit}"

    print(f"{document['modality']} perfusion (AI-generated, not reviewed by a physician)")
    print(f"  core            {shown('core_ml', ' ml')}")
    print(f"  Tmax > 6 s      {shown('hypoperfusion_ml', ' ml')}")
    print(f"  Tmax > 10 s     {shown('tmax_gt10_ml', ' ml')}   HIR {shown('hir')}")
    print(f"  mismatch        {shown('mismatch_ml', ' ml')}   ratio {shown('mismatch_ratio')}")
    for decision in document["triage"].values():
        print(f"  {decision['rule']:<15} {decision['status']}")
    raised = document["qc"]["raised"]
    print(f"  QC              {', '.join(raised) if raised else 'no flags raised'}")
    for note in document["qc"]["notes"]:
        print(f"  note: {note}")
    print(f"Written to {folder}")
