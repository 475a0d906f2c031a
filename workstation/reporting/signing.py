"""PAdES signatures with the physician's PKCS#12 file (pyHanko).

Baseline B-B always; B-T when a timestamp server (RFC 3161) URL is configured, so
the time of signing is vouched for by a third party rather than by this computer's
clock. The signature *certifies* the document with "no changes allowed" (DocMDP
P=1): the signed report is immutable, and a correction is a new, amended version.

The passphrase is handled as bytes passed straight to the key loader: it is never
stored, never logged, and never part of an error message.
"""

from __future__ import annotations

import getpass
import io
from dataclasses import dataclass
from pathlib import Path

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers, timestamps

SIGNATURE_FIELD = "PhysicianSignature"


class SigningError(Exception):
    """The physician's key could not be loaded or the PDF could not be signed."""


@dataclass(frozen=True)
class PdfSigner:
    """A loaded signing key and certificate (its passphrase already forgotten)."""

    signer: signers.SimpleSigner

    @property
    def common_name(self) -> str:
        subject = self.signer.signing_cert.subject.native
        return str(subject.get("common_name") or self.signer.signing_cert.subject.human_friendly)

    @property
    def subject(self) -> str:
        return self.signer.signing_cert.subject.human_friendly

    @property
    def licence_number(self) -> str:
        """The holder's practising licence number (the subject's serialNumber), or ""."""
        return str(self.signer.signing_cert.subject.native.get("serial_number") or "")


def read_passphrase(passphrase_file: Path | None = None) -> bytes:
    """The passphrase from a file (first line) or, without one, typed at a hidden prompt."""
    if passphrase_file is not None:
        lines = passphrase_file.read_bytes().splitlines()
        return lines[0] if lines else b""
    return getpass.getpass("Passphrase of the signing key: ").encode("utf-8")


def load_signer(p12_path: Path, passphrase: bytes) -> PdfSigner:
    """Open the PKCS#12 file; a wrong passphrase or a broken file is a :class:`SigningError`."""
    data = Path(p12_path).read_bytes()
    try:
        signer = signers.SimpleSigner.load_pkcs12_data(data, passphrase=passphrase, other_certs=[])
    except Exception as error:  # pyHanko wraps many failures; the message never has the secret
        raise SigningError(
            f"cannot open the signing key {p12_path}: wrong passphrase or not a PKCS#12 file"
        ) from error
    if signer is None:
        raise SigningError(f"cannot open the signing key {p12_path}: wrong passphrase?")
    return PdfSigner(signer)


def sign_pdf(
    pdf: bytes,
    signer: PdfSigner,
    *,
    reason: str = "Radiology report",
    location: str = "",
    timestamp_url: str | None = None,
) -> bytes:
    """``pdf`` with a certifying PAdES signature: B-T with ``timestamp_url``, else B-B."""
    metadata = signers.PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        location=location or None,
        certify=True,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
    )
    timestamper = timestamps.HTTPTimeStamper(timestamp_url) if timestamp_url else None
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    try:
        output = signers.sign_pdf(writer, metadata, signer=signer.signer, timestamper=timestamper)
    except Exception as error:
        raise SigningError(f"signing failed: {error}") from error
    return output.getvalue()
