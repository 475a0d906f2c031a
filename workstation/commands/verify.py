"""``halong verify FILE``: who signed a report, when, and whether it changed since.

FILE is a signed PDF or a DICOM Encapsulated PDF (the PDF inside is checked). Exit
status 0 when every signature is intact, valid and covers the whole file (and, with
``--trust``, chains to a trusted CA); 1 when not (tampered, unsigned, untrusted).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

EXIT_INVALID = 1


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "verify",
        help="check the signature of a report PDF (or its DICOM Encapsulated PDF)",
        description=(
            "Report the signer, the signing time and the integrity of every signature "
            "of FILE. Any changed byte, or bytes added after signing, makes it fail. "
            "With --trust, the signer's certificate must chain to one of the given CAs."
        ),
    )
    parser.add_argument("file", type=Path, metavar="FILE")
    parser.add_argument(
        "--trust", action="append", default=[], type=Path, metavar="CA.pem", help="trusted CA"
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(handler=run)


def _pdf_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    if data[128:132] == b"DICM":
        from pydicom import dcmread

        from workstation.dicom.encapsulated_pdf import extract_pdf

        return extract_pdf(dcmread(path))
    return data


def _when(moment) -> str | None:
    return moment.isoformat() if moment else None


def run(args: argparse.Namespace) -> int:
    from workstation.reporting.verification import verify_pdf

    result = verify_pdf(_pdf_bytes(args.file), args.trust)
    if args.json:
        document = {
            "ok": result.ok,
            "problems": list(result.problems),
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
                for s in result.signatures
            ],
        }
        print(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        for s in result.signatures:
            trust = {None: "not checked (no --trust)", True: "trusted", False: "NOT TRUSTED"}
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
        for problem in result.problems:
            print(f"Problem: {problem}")
        print("VALID" if result.ok else "INVALID")
    return 0 if result.ok else EXIT_INVALID
