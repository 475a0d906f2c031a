"""Check a signed report: who signed it, when, and whether one byte changed since.

pyHanko recomputes the digest over the signed byte ranges (integrity), checks the
CMS signature (validity), builds the signer's chain to the trust roots given
(trust), and tells whether the signature covers the whole file: bytes appended
after signing count as tampering too. A file too damaged to parse is reported,
never raised, so ``halong verify`` can always answer.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

# pyHanko logs untrusted chains with tracebacks; leave them to apps that configure logging.
logging.getLogger("pyhanko").addHandler(logging.NullHandler())


@dataclass(frozen=True)
class SignatureCheck:
    field_name: str
    signer: str
    signer_subject: str
    signing_time: datetime | None
    timestamp_time: datetime | None
    intact: bool
    valid: bool
    trusted: bool | None  # None: no trust roots were given
    covers_whole_file: bool
    docmdp_ok: bool | None
    timestamp_ok: bool | None = None  # None: no timestamp (PAdES B-B)

    @property
    def ok(self) -> bool:
        return (
            self.intact
            and self.valid
            and self.covers_whole_file
            and self.docmdp_ok is not False
            and self.trusted is not False
            and self.timestamp_ok is not False
        )


@dataclass(frozen=True)
class PdfVerification:
    signatures: tuple[SignatureCheck, ...] = ()
    problems: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return bool(self.signatures) and not self.problems and all(s.ok for s in self.signatures)


def _trust_context(trust_roots: Sequence[Path]) -> ValidationContext:
    roots = [load_cert_from_pemder(str(path)) for path in trust_roots]
    return ValidationContext(trust_roots=roots, allow_fetching=False)


def verify_pdf(data: bytes, trust_roots: Sequence[Path] = ()) -> PdfVerification:
    """Every signature of the PDF ``data``, checked against ``trust_roots`` (PEM/DER files)."""
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        embedded = list(reader.embedded_signatures)
    except Exception as error:  # any parse failure means the file is not what was signed
        return PdfVerification(problems=(f"not a readable PDF: {error}",))
    if not embedded:
        return PdfVerification(problems=("the PDF has no signature",))
    checks, problems = [], []
    for signature in embedded:
        try:
            status = validate_pdf_signature(signature, _trust_context(trust_roots))
        except Exception as error:
            problems.append(f"signature {signature.field_name}: cannot be validated: {error}")
            continue
        subject = status.signing_cert.subject
        timestamp = status.timestamp_validity
        checks.append(
            SignatureCheck(
                field_name=signature.field_name,
                signer=str(subject.native.get("common_name") or subject.human_friendly),
                signer_subject=subject.human_friendly,
                signing_time=status.signer_reported_dt,
                timestamp_time=timestamp.timestamp if timestamp is not None else None,
                intact=bool(status.intact),
                valid=bool(status.valid),
                trusted=bool(status.trusted) if trust_roots else None,
                covers_whole_file=status.coverage == SignatureCoverageLevel.ENTIRE_FILE,
                docmdp_ok=status.docmdp_ok,
                timestamp_ok=_timestamp_ok(timestamp, bool(trust_roots)),
            )
        )
    return PdfVerification(tuple(checks), tuple(problems))


def _timestamp_ok(timestamp, check_trust: bool) -> bool | None:
    """A B-T signature's timestamp token: intact and valid (and trusted, given roots)."""
    if timestamp is None:
        return None
    return bool(timestamp.intact and timestamp.valid and (timestamp.trusted or not check_trust))
