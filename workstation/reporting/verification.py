"""Check a signed report: who signed it, when, whether one byte changed since, whether
the signer is someone the reader trusts, and whether it is filed under its own patient.

pyHanko recomputes the digest over the signed byte ranges (integrity), checks the
CMS signature (validity), builds the signer's chain to the trust roots given
(trust), and tells whether the signature covers the whole file: bytes appended
after signing count as tampering too. The patient and study are read from the XMP of
the revision the signature covers (:mod:`~workstation.reporting.pdf_identity`), and the
unsigned header of a DICOM Encapsulated PDF must agree with them. A file too damaged
to parse is reported, never raised, so ``halong verify`` can always answer; only what
is no report at all (a missing file, neither PDF nor DICOM, an unreadable trust root)
raises :class:`UnusableInput`.

The verdict is VALID only when every signature is sound, its signer chains to a trust
root, and the header (if any) matches; NOT VERIFIED when nothing is wrong but the
signer was not checked against a trusted CA, or an older PDF states no identity to
hold the header against; INVALID otherwise. A certificate with the right name from an
unknown CA is therefore never VALID.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from pydicom import dcmread
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from workstation.dicom.encapsulated_pdf import EncapsulatedPdfError, extract_pdf, header_identity
from workstation.reporting.pdf_identity import (
    CREATOR,
    IdentityError,
    identity_from_xmp,
    identity_mismatches,
)

if TYPE_CHECKING:
    from asn1crypto import x509

# pyHanko logs untrusted chains with tracebacks; leave them to apps that configure logging.
logging.getLogger("pyhanko").addHandler(logging.NullHandler())

#: What is said of a sound signature whose signer was not checked against a trusted CA.
SIGNER_NOT_CHECKED = "signature intact; signer not checked against a trusted CA"


class UnusableInput(Exception):
    """Nothing to verify: the file is missing or no PDF/DICOM, or a trust root is unreadable."""


class Verdict(Enum):
    VALID = "valid"
    NOT_VERIFIED = "not verified"  # nothing wrong, but not everything could be checked
    INVALID = "invalid"


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
    def failures(self) -> tuple[str, ...]:
        """What is wrong with this signature, in words (none when it is sound)."""
        wrong = []
        if not self.intact:
            wrong.append("the signed bytes changed since signing")
        if not self.valid:
            wrong.append("the signature value does not verify")
        if not self.covers_whole_file:
            wrong.append("bytes were added after signing")
        if self.docmdp_ok is False:
            wrong.append("the file was changed in a way its certification forbids")
        if self.timestamp_ok is False:
            wrong.append("the timestamp is invalid or not trusted")
        if self.trusted is False:
            wrong.append(
                f"the signer is not trusted: the certificate of {self.signer} does not chain "
                "to a trusted CA"
            )
        return tuple(f"signature {self.field_name}: {problem}" for problem in wrong)

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass(frozen=True)
class PdfVerification:
    signatures: tuple[SignatureCheck, ...] = ()
    problems: tuple[str, ...] = field(default=())
    identity: Mapping[str, str] | None = None  # the patient and study the signed PDF states
    made_by_halong: bool = False  # the signed revision's Creator is Halong
    identity_problem: str = ""  # why the identity the signed PDF states cannot be read

    @property
    def failures(self) -> tuple[str, ...]:
        unreadable = (self.identity_problem,) if self.identity_problem else ()
        signatures = (problem for s in self.signatures for problem in s.failures)
        return (*self.problems, *unreadable, *signatures)

    @property
    def ok(self) -> bool:
        """Every signature sound and none shown untrusted (unchecked trust passes here)."""
        return bool(self.signatures) and not self.failures

    @property
    def trusted(self) -> bool | None:
        """Whether every signer chains to a trust root; ``None`` when none was given."""
        if not self.signatures or any(s.trusted is None for s in self.signatures):
            return None
        return all(s.trusted for s in self.signatures)

    @property
    def identity_absence(self) -> str:
        """Why the signed PDF states no identity, in words ("" when it does)."""
        if self.identity is not None:
            return ""
        if self.identity_problem:
            return "what it states cannot be read"
        if self.made_by_halong:
            return "signed by an older Halong, before reports stated their patient and study"
        return "not a Halong report"


@dataclass(frozen=True)
class ReportVerification:
    """One file's answer: its PDF's signatures, and a DICOM header held against them."""

    pdf: PdfVerification
    header: Mapping[str, str] | None = None  # what a DICOM header states; None: a bare PDF

    @property
    def mismatches(self) -> tuple[str, ...]:
        """The DICOM keywords whose header value is not the signed one."""
        if self.header is None or self.pdf.identity is None:
            return ()
        return identity_mismatches(self.pdf.identity, self.header)

    @property
    def failures(self) -> tuple[str, ...]:
        """Why the file is INVALID (none when it is not)."""
        if not self.mismatches:
            return self.pdf.failures
        differ = f"the DICOM header differs from the signed PDF in {', '.join(self.mismatches)}"
        return (*self.pdf.failures, differ)

    @property
    def unchecked(self) -> tuple[str, ...]:
        """What could not be checked, which keeps a sound file from being VALID (none is
        listed for an INVALID file: "signature intact" would not be true of it)."""
        if self.failures:
            return ()
        gaps = []
        if self.pdf.trusted is None:
            gaps.append(SIGNER_NOT_CHECKED)
        if self.header is not None and self.pdf.identity is None:
            absence = self.pdf.identity_absence
            gaps.append(
                f"the signed PDF states no patient and study ({absence}): DICOM header not checked"
            )
        return tuple(gaps)

    @property
    def verdict(self) -> Verdict:
        if self.failures:
            return Verdict.INVALID
        return Verdict.NOT_VERIFIED if self.unchecked else Verdict.VALID


def load_trust_roots(paths: Sequence[Path]) -> list[x509.Certificate]:
    """The CA certificates (PEM or DER) a signer must chain to."""
    roots = []
    for path in paths:
        try:
            roots.append(load_cert_from_pemder(str(path)))
        except FileNotFoundError as error:
            raise UnusableInput(f"no such trusted CA file: {path}") from error
        except Exception as error:  # asn1crypto and pyHanko raise many kinds for a bad file
            raise UnusableInput(f"{path} is not a CA certificate (PEM or DER)") from error
    return roots


def verify_pdf(data: bytes, trust_roots: Sequence[Path] = ()) -> PdfVerification:
    """Every signature of the PDF ``data``, checked against ``trust_roots`` (PEM/DER files),
    and the patient and study its first signature covers."""
    roots = load_trust_roots(trust_roots)
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        embedded = list(reader.embedded_signatures)
    except Exception as error:  # any parse failure means the file is not what was signed
        return PdfVerification(problems=(f"not a readable PDF: {error}",))
    if not embedded:
        return PdfVerification(problems=("the PDF has no signature",))
    checks, problems = [], []
    for signature in embedded:
        context = ValidationContext(trust_roots=roots, allow_fetching=False)
        try:
            status = validate_pdf_signature(signature, context)
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
                trusted=bool(status.trusted) if roots else None,
                covers_whole_file=status.coverage == SignatureCoverageLevel.ENTIRE_FILE,
                docmdp_ok=status.docmdp_ok,
                timestamp_ok=_timestamp_ok(timestamp, bool(roots)),
            )
        )
    identity, made_by_halong, identity_problem = None, False, ""
    try:
        identity, made_by_halong = _signed_identity(reader, embedded[0])
    except Exception as error:  # IdentityError, or a signed revision pyHanko cannot resolve
        reason = error if isinstance(error, IdentityError) else f"unreadable metadata ({error})"
        identity_problem = f"the signed patient and study cannot be read: {reason}"
    return PdfVerification(
        tuple(checks), tuple(problems), identity, made_by_halong, identity_problem
    )


def verify_report_file(path: Path, trust_roots: Sequence[Path] = ()) -> ReportVerification:
    """The signed PDF ``path``, or the one inside the DICOM Encapsulated PDF ``path`` with
    its header held against the identity signed inside it."""
    data = _read(path)
    if data[128:132] == b"DICM":
        pdf, header = _encapsulated(path)
        return ReportVerification(verify_pdf(pdf, trust_roots), header)
    if b"%PDF-" not in data[:1024]:
        raise UnusableInput(f"{path} is neither a PDF nor a DICOM file")
    return ReportVerification(verify_pdf(data, trust_roots))


def _read(path: Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError as error:
        raise UnusableInput(f"no such file: {path}") from error
    except OSError as error:
        raise UnusableInput(f"cannot read {path}: {error.strerror or error}") from error


def _encapsulated(path: Path) -> tuple[bytes, dict[str, str]]:
    try:
        dataset = dcmread(path)
    except Exception as error:  # pydicom raises many kinds for a broken file
        raise UnusableInput(f"{path} is not a readable DICOM file ({error})") from error
    try:
        return extract_pdf(dataset), header_identity(dataset)
    except EncapsulatedPdfError as error:
        raise UnusableInput(f"{path}: {error}") from error


def _signed_identity(
    reader: PdfFileReader, signature: EmbeddedPdfSignature
) -> tuple[dict[str, str] | None, bool]:
    """The identity and whether Halong made it, as of the revision ``signature`` covers:
    metadata changed in a later revision never counts."""
    revision = reader.get_historical_resolver(signature.signed_revision)
    info = revision.trailer_view.get("/Info")
    creator = str(info.get_object().get("/Creator", "")) if info is not None else ""
    metadata = revision.root.get("/Metadata")
    identity = identity_from_xmp(metadata.get_object().data) if metadata is not None else None
    return identity, creator == CREATOR


def _timestamp_ok(timestamp, check_trust: bool) -> bool | None:
    """A B-T signature's timestamp token: intact and valid (and trusted, given roots)."""
    if timestamp is None:
        return None
    return bool(timestamp.intact and timestamp.valid and (timestamp.trusted or not check_trust))
