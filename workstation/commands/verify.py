"""``halong verify FILE``: who signed a report, when, whether it changed since, whether the
signer is trusted, and (for a DICOM Encapsulated PDF) whether the header names the patient
and study signed inside the PDF.

Exit status: 0 VALID (sound, the signer chains to a ``--trust`` CA, the header matches);
1 INVALID (changed, unsigned, untrusted signer, a header naming someone else); 2 when
FILE is no report at all; 3 NOT VERIFIED (sound, but no ``--trust`` was given, or an
older PDF states no identity to hold the DICOM header against).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workstation.reporting.verification import ReportVerification

EXIT_UNUSABLE = 2
EXIT_STATUS = {"valid": 0, "invalid": 1, "not verified": 3}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "verify",
        help="check the signature of a report PDF (or its DICOM Encapsulated PDF)",
        description=(
            "Report the signer, the signing time and the integrity of every signature "
            "of FILE, and the patient and study signed inside it. Any changed byte, bytes "
            "added after signing, or a DICOM header naming another patient or study makes "
            "it fail. VALID needs --trust: the signer's certificate must chain to one of "
            "the given CAs."
        ),
    )
    parser.add_argument("file", type=Path, metavar="FILE")
    parser.add_argument(
        "--trust", action="append", default=[], type=Path, metavar="CA.pem", help="trusted CA"
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(handler=run)


def _when(moment) -> str | None:
    return moment.isoformat() if moment else None


def _document(result: ReportVerification) -> dict:
    """The JSON answer: the verdict and everything it rests on."""
    pdf, header = result.pdf, result.header
    return {
        "verdict": result.verdict.value,
        "ok": result.verdict.value == "valid",
        "trusted": pdf.trusted,
        "identity": dict(pdf.identity) if pdf.identity is not None else None,
        "identity_absent": pdf.identity_absence or None,
        "header": dict(header) if header is not None else None,
        "mismatches": [
            {"field": keyword, "signed": pdf.identity[keyword], "header": header[keyword]}
            for keyword in result.mismatches
        ],
        "problems": list(result.failures),
        "unchecked": list(result.unchecked),
        "signatures": [
            {
                "field": s.field_name,
                "signer": s.signer,
                "subject": s.signer_subject,
                "signing_time": _when(s.signing_time),
                "timestamp_time": _when(s.timestamp_time),
                "timestamp_ok": s.timestamp_ok,
                "intact": s.intact,
                "valid": s.valid,
                "trusted": s.trusted,
                "covers_whole_file": s.covers_whole_file,
                "ok": s.ok,
            }
            for s in pdf.signatures
        ],
    }


def _print_signatures(result: ReportVerification) -> None:
    trust = {None: "not checked (no --trust)", True: "trusted", False: "NOT TRUSTED"}
    for s in result.pdf.signatures:
        print(f"Signature {s.field_name}")
        print(f"  signer:       {s.signer}")
        print(f"  signing time: {_when(s.signing_time) or 'not stated'}")
        if s.timestamp_ok is not None:
            verdict = "valid" if s.timestamp_ok else "INVALID"
            print(f"  timestamp:    {_when(s.timestamp_time)} ({verdict}, PAdES B-T)")
        print(f"  integrity:    {'intact' if s.intact and s.valid else 'BROKEN'}")
        whole = "whole file" if s.covers_whole_file else "NOT the whole file (changed since)"
        print(f"  covers:       {whole}")
        print(f"  certificate:  {trust[s.trusted]}")


def _print_identity(result: ReportVerification) -> None:
    pdf, header = result.pdf, result.header
    if pdf.identity is None:
        print(f"Signed patient and study: none ({pdf.identity_absence})")
        return
    print("Signed patient and study:")
    for keyword, value in pdf.identity.items():
        print(f"  {keyword + ':':18}{value}")
    if header is None:
        return
    if not result.mismatches:
        print("DICOM header: names the signed patient and study")
        return
    print("DICOM header DIFFERS from the signed PDF:")
    for keyword in result.mismatches:
        print(f"  {keyword + ':':18}signed {pdf.identity[keyword]!r}, header {header[keyword]!r}")


def _print(result: ReportVerification) -> None:
    _print_signatures(result)
    if result.pdf.signatures:
        _print_identity(result)
    verdict = result.verdict.value
    reasons = result.failures if verdict == "invalid" else result.unchecked
    print(f"{verdict.upper()}: {'; '.join(reasons)}" if reasons else verdict.upper())


def run(args: argparse.Namespace) -> int:
    from workstation.reporting.verification import UnusableInput, verify_report_file

    try:
        result = verify_report_file(args.file, args.trust)
    except UnusableInput as error:
        print(f"halong verify: {error}", file=sys.stderr)
        return EXIT_UNUSABLE
    if args.json:
        print(json.dumps(_document(result), ensure_ascii=False, indent=2))
    else:
        _print(result)
    return EXIT_STATUS[result.verdict.value]
