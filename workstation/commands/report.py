"""``halong report RESULT_DIR...``: the physician's signed report from AI results.

The physician decides explicitly which AI findings enter the report (``--accept``);
``--list-findings`` shows them first. The passphrase of the signing key is read
from ``--passphrase-file`` or asked for, and never stored or printed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="write the signed report (PDF, DICOM SR/SEG/PDF, FHIR, HL7) from AI results",
        description=(
            "Make the report of the studies analysed in RESULT_DIR (folders holding "
            "lung.json or perfusion.json), sign its PDF with the physician's PKCS#12 "
            "certificate (PAdES) and write into --out: report.pdf (signed), "
            "report-pdf.dcm, report-sr.dcm, report-seg.dcm (when there are "
            "segmentations), fhir-bundle.json and oru.hl7. Only the AI findings named "
            "in --accept enter the report; the others are rejected. A signed report is "
            "never changed: --amend REPORT_DIR --reason TEXT writes a new, amended version "
            "that names the one it replaces."
        ),
    )
    parser.add_argument("result_dirs", nargs="*", type=Path, metavar="RESULT_DIR")
    parser.add_argument(
        "--amend",
        type=Path,
        metavar="REPORT_DIR",
        help="correct the signed report in REPORT_DIR: a new version that replaces it",
    )
    parser.add_argument("--reason", metavar="TEXT", help="why the report is amended")
    parser.add_argument("--signer", type=Path, metavar="CERT.p12", help="physician's PKCS#12")
    parser.add_argument(
        "--passphrase-file",
        type=Path,
        metavar="FILE",
        help="read the key's passphrase from FILE (first line); otherwise it is asked for",
    )
    parser.add_argument("--out", type=Path, metavar="DIR", help="new folder for the outputs")
    parser.add_argument(
        "--accept",
        metavar="all|none|IDS",
        help="the AI findings the physician accepts: all, none, or ids such as nodule-1,perfusion",
    )
    parser.add_argument(
        "--list-findings", action="store_true", help="only list the AI findings and their ids"
    )
    parser.add_argument(
        "--physician", metavar="NAME", help="reading physician (default: the certificate's name)"
    )
    parser.add_argument("--physician-id", default="", metavar="ID", help="practising licence no.")
    parser.add_argument("--language", choices=("vi", "en"), default="vi")
    parser.add_argument("--institution", default="", metavar="NAME", help="hospital name")
    parser.add_argument("--indication", metavar="TEXT", help="clinical indication")
    parser.add_argument("--findings", metavar="TEXT", help="findings (free text)")
    parser.add_argument("--impression", metavar="TEXT", help="impression (default: prefilled)")
    parser.add_argument(
        "--icd10",
        action="append",
        default=[],
        metavar="CODE[=TEXT]",
        help="ICD-10 (WHO) diagnosis; repeatable (default: the template's codes)",
    )
    parser.add_argument(
        "--timestamp-url", metavar="URL", help="RFC 3161 timestamp server: PAdES B-T"
    )
    parser.set_defaults(handler=run)


def _icd10_codes(values: list[str], template_id: str, language: str):
    from workstation.model.report import Icd10Code
    from workstation.reporting.templates import load_template

    known = {c.code: c for c in load_template(template_id, language).icd10_suggestions}
    codes = []
    for value in values:
        code, _, display = value.partition("=")
        code = code.strip().upper()
        codes.append(Icd10Code(code, display.strip() or getattr(known.get(code), "display", code)))
    return codes


def _list_findings(report) -> int:
    print(f"AI findings ({report.patient.patient_id}, accession {report.study.accession_number}):")
    for finding in report.ai_findings:
        print(f"  {finding.finding_id:<12} {finding.title}: {finding.summary}")
        print(f"  {'':<12} AI: {finding.algorithm.label}")
    return 0


def run(args: argparse.Namespace) -> int:
    from workstation.home import resolve_home
    from workstation.model.report import Physician
    from workstation.net.audit import AuditTrail
    from workstation.reporting.drafting import prefill_conclusion
    from workstation.reporting.package import (
        FILES,
        apply_acceptance,
        draft_from_results,
        key_images_for,
        previous_version,
        sign_report,
        write_package,
    )
    from workstation.reporting.signing import load_signer, read_passphrase

    home = resolve_home(args.home)
    if not (args.result_dirs or args.amend):
        print("halong report: give RESULT_DIR... (or --amend REPORT_DIR)", file=sys.stderr)
        return 2
    draft, results = None, []
    if args.result_dirs:  # with --amend: only for the SR/SEG and the key images
        draft, results = draft_from_results(
            args.result_dirs,
            language=args.language,
            institution=args.institution,
            database_path=home.database_path,
        )
        if args.list_findings:
            return _list_findings(draft)
    needed = ("signer", "out", "reason") if args.amend else ("signer", "out", "accept")
    missing = [name for name in needed if getattr(args, name) is None]
    if missing:
        options = ", ".join(f"--{name}" for name in missing)
        print(f"halong report: {options} required", file=sys.stderr)
        return 2
    signer = load_signer(args.signer, read_passphrase(args.passphrase_file))
    physician = Physician(args.physician or signer.common_name, args.physician_id)
    if args.amend:
        draft = previous_version(args.amend).amend(args.reason)
    else:
        draft = prefill_conclusion(apply_acceptance(draft, args.accept, physician.name))
    edits = {
        "indication": args.indication,
        "findings_text": args.findings,
        "impression": args.impression,
    }
    if args.icd10:
        edits["icd10"] = _icd10_codes(args.icd10, draft.template_id, draft.language)
    draft = draft.edit(**{key: value for key, value in edits.items() if value is not None})
    trail = AuditTrail.from_environment(home.audit)
    signed = sign_report(
        draft,
        signer,
        physician=physician,
        key_images=key_images_for(results),
        timestamp_url=args.timestamp_url,
        trail=trail,
    )
    previous_sr = [args.amend / FILES["sr"]] if args.amend else []
    package = write_package(
        signed,
        results,
        args.out,
        trail=trail,
        database_path=home.database_path,
        previous_sr=[path for path in previous_sr if path.is_file()],
    )
    accepted = [f.finding_id for f in signed.report.accepted_findings]
    print(f"Signed by {signer.common_name}; AI findings accepted: {', '.join(accepted) or 'none'}")
    if signed.report.replaces:
        version = signed.report.version
        print(f"Amended version {version}, replaces report {signed.report.replaces}")
    for path in package.paths.values():
        print(f"  {path}")
    return 0
