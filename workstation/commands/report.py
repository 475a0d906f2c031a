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
        "--physician",
        metavar="NAME",
        help="reading physician: always the certificate's holder; a different name is refused",
    )
    parser.add_argument(
        "--physician-id",
        default="",
        metavar="ID",
        help="practising licence no.: taken from the certificate; a different one is refused",
    )
    parser.add_argument("--language", choices=("vi", "en"), default="vi")
    parser.add_argument("--institution", default="", metavar="NAME", help="hospital name")
    parser.add_argument("--indication", metavar="TEXT", help="clinical indication")
    parser.add_argument("--findings", metavar="TEXT", help="findings (free text)")
    parser.add_argument("--impression", metavar="TEXT", help="impression (default: prefilled)")
    parser.add_argument(
        "--icd10",
        action="append",
        default=[],
        metavar="'CODE [TEXT]'",
        help="ICD-10 (WHO) diagnosis, code then description as in the report panel; "
        "repeatable (default: the codes the accepted findings suggest)",
    )
    parser.add_argument(
        "--timestamp-url", metavar="URL", help="RFC 3161 timestamp server: PAdES B-T"
    )
    parser.set_defaults(handler=run)


def _list_findings(report) -> int:
    print(f"AI findings ({report.patient.patient_id}, accession {report.study.accession_number}):")
    for finding in report.ai_findings:
        print(f"  {finding.finding_id:<12} {finding.title}: {finding.summary}")
        print(f"  {'':<12} AI: {finding.algorithm.label}")
    return 0


def run(args: argparse.Namespace) -> int:
    """0 when the report is signed; 2, with one line saying why, when it is refused."""
    from workstation.home import resolve_home
    from workstation.model.report import ReportLockedError, ReportRuleError
    from workstation.reporting.drafts import DraftError
    from workstation.reporting.gate import GateError, signing_physician
    from workstation.reporting.package import PackageError
    from workstation.reporting.report_dicom import ReportDicomError
    from workstation.reporting.results import ResultError
    from workstation.reporting.signing import SigningError, load_signer, read_passphrase
    from workstation.reporting.templates import TemplateError
    from workstation.reporting.workflow import (
        SignRequest,
        amendment,
        apply_acceptance,
        known_icd10,
        new_report,
        parse_icd10,
        sign,
    )

    if not (args.result_dirs or args.amend):
        print("halong report: give RESULT_DIR... (or --amend REPORT_DIR)", file=sys.stderr)
        return 2
    home = resolve_home(args.home)
    refusals = (
        GateError, ReportRuleError, ReportLockedError, ResultError, PackageError,
        ReportDicomError, SigningError, TemplateError, DraftError, ValueError,
    )  # fmt: skip
    try:
        result_dirs = list(args.result_dirs)
        if args.amend:
            needed = ("signer", "out", "reason")
        else:
            draft, _ = new_report(
                result_dirs, home, language=args.language, institution=args.institution
            )
            if args.list_findings:
                return _list_findings(draft)
            needed = ("signer", "out", "accept")
        missing = [name for name in needed if getattr(args, name) is None]
        if missing:
            options = ", ".join(f"--{name}" for name in missing)
            print(f"halong report: {options} required", file=sys.stderr)
            return 2
        signer = load_signer(args.signer, read_passphrase(args.passphrase_file))
        physician = signing_physician(signer, args.physician or "", args.physician_id)
        if args.amend:
            draft, recorded = amendment(args.amend, args.reason)
            result_dirs = result_dirs or recorded
        else:
            draft = apply_acceptance(draft, args.accept, physician.name)
        edits = {
            "indication": args.indication,
            "findings_text": args.findings,
            "impression": args.impression,
        }
        if args.icd10:
            edits["icd10"] = parse_icd10(args.icd10, known_icd10(draft))
        draft = draft.edit(**{key: value for key, value in edits.items() if value is not None})
        request = SignRequest(
            typed_physician=args.physician or "",
            typed_physician_id=args.physician_id,
            timestamp_url=args.timestamp_url,
            out_dir=args.out,
            amends=args.amend,
        )
        package = sign(draft, result_dirs, signer, request, home)
    except refusals as error:
        print(f"halong report: {error}", file=sys.stderr)
        return 2
    report = package.report
    accepted = [f.finding_id for f in report.accepted_findings]
    print(f"Signed by {physician.name}; AI findings accepted: {', '.join(accepted) or 'none'}")
    if report.replaces:
        print(f"Amended version {report.version}, replaces report {report.replaces}")
    for path in package.paths.values():
        print(f"  {path}")
    return 0
