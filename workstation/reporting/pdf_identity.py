"""The patient and study of a report, written inside the PDF bytes that get signed (XMP).

Nothing around a signed PDF is signed: anyone can change the PatientID of its DICOM
Encapsulated PDF and the signature still holds. So the PDF states its own patient and
study in its XMP metadata, keyed by the DICOM keywords of
:data:`~workstation.dicom.encapsulated_pdf.IDENTITY_KEYWORDS`, and ``halong verify``
holds the header against that.

pyHanko rewrites the XMP packet when it signs (the properties become attributes of
``rdf:Description`` instead of elements), so the reader takes both RDF forms.
"""

from __future__ import annotations

from collections.abc import Mapping
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from workstation.dicom.encapsulated_pdf import IDENTITY_KEYWORDS
from workstation.model.report import Report

NAMESPACE = "urn:halong:report-identity:1.0/"
#: The PDF's Creator: how a Halong report from before the identity tells from a foreign PDF.
CREATOR = "Halong workstation"
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"


class IdentityError(Exception):
    """The XMP metadata claims a Halong identity that cannot be read whole and unambiguous."""


def report_identity(report: Report) -> dict[str, str]:
    """The patient and study of ``report`` as the DICOM header of its PDF states them."""
    patient, study = report.patient, report.study
    return {
        "PatientName": patient.name,
        "PatientID": patient.patient_id,
        "PatientBirthDate": patient.birth_date,
        "StudyInstanceUID": study.study_uid,
        "AccessionNumber": study.accession_number,
    }


def identity_xmp(identity: Mapping[str, str]) -> str:
    """The ``x:xmpmeta`` element (fpdf2 wraps it in the packet) stating ``identity``."""
    properties = "".join(
        f"<halong:{keyword}>{escape(identity[keyword])}</halong:{keyword}>"
        for keyword in IDENTITY_KEYWORDS
    )
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        f'<rdf:RDF xmlns:rdf="{_RDF}">'
        f'<rdf:Description rdf:about="" xmlns:halong="{NAMESPACE}">{properties}'
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
    )


def identity_from_xmp(packet: bytes) -> dict[str, str] | None:
    """The identity an XMP packet states; ``None`` when it states none (an older PDF)."""
    if b"<!DOCTYPE" in packet or b"<!ENTITY" in packet:  # XMP never needs a DTD
        raise IdentityError("the XMP metadata declares a DTD")
    try:
        root = ElementTree.fromstring(packet)
    except ElementTree.ParseError as error:
        raise IdentityError(f"the XMP metadata is not well-formed XML ({error})") from error
    stated: dict[str, list[str]] = {}
    prefix = f"{{{NAMESPACE}}}"
    for description in root.iter(f"{{{_RDF}}}Description"):
        pairs = [*description.attrib.items(), *((c.tag, c.text or "") for c in description)]
        for name, value in pairs:
            if name.startswith(prefix):
                stated.setdefault(name.removeprefix(prefix), []).append(value)
    if not stated:
        return None
    missing = [keyword for keyword in IDENTITY_KEYWORDS if keyword not in stated]
    if missing:
        raise IdentityError(f"the signed identity lacks {', '.join(missing)}")
    repeated = [keyword for keyword in IDENTITY_KEYWORDS if len(stated[keyword]) > 1]
    if repeated:
        raise IdentityError(f"the signed identity states {', '.join(repeated)} more than once")
    return {keyword: stated[keyword][0] for keyword in IDENTITY_KEYWORDS}


def identity_mismatches(signed: Mapping[str, str], header: Mapping[str, str]) -> tuple[str, ...]:
    """The keywords whose header value differs from the signed one."""
    return tuple(
        keyword
        for keyword in IDENTITY_KEYWORDS
        if _canonical(keyword, signed.get(keyword, ""))
        != _canonical(keyword, header.get(keyword, ""))
    )


def _canonical(keyword: str, value: str) -> str:
    """DICOM's equality: padding aside, and a name's empty trailing components dropped."""
    value = value.strip()
    return value.rstrip("^= ") if keyword == "PatientName" else value
