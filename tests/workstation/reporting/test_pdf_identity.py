"""The XMP identity reader: both RDF forms, and nothing ambiguous or partial accepted."""

from __future__ import annotations

import pytest
from support.report_fixtures import REPORT_IDENTITY

from workstation.reporting.pdf_identity import (
    IdentityError,
    identity_from_xmp,
    identity_mismatches,
)

RDF = 'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
HALONG = 'xmlns:h="urn:halong:report-identity:1.0/"'


def _packet(description: str) -> bytes:
    """An XMP packet, written by hand as another XMP writer would."""
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF {RDF}>{description}</rdf:RDF>'
        '</x:xmpmeta><?xpacket end="r"?>'
    ).encode()


def _elements(values: dict[str, str]) -> str:
    inner = "".join(f"<h:{k}>{v}</h:{k}>" for k, v in values.items())
    return f'<rdf:Description rdf:about="" {HALONG}>{inner}</rdf:Description>'


def _attributes(values: dict[str, str]) -> str:
    inner = " ".join(f'h:{k}="{v}"' for k, v in values.items())
    return f'<rdf:Description rdf:about="" {HALONG} {inner}/>'


def test_properties_as_elements_or_attributes_read_the_same():
    assert identity_from_xmp(_packet(_elements(REPORT_IDENTITY))) == REPORT_IDENTITY
    assert identity_from_xmp(_packet(_attributes(REPORT_IDENTITY))) == REPORT_IDENTITY
    split = {k: REPORT_IDENTITY[k] for k in ("PatientName", "PatientID")}
    rest = {k: v for k, v in REPORT_IDENTITY.items() if k not in split}
    assert identity_from_xmp(_packet(_attributes(split) + _elements(rest))) == REPORT_IDENTITY


def test_xmp_without_a_halong_identity_is_none():
    other = '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"/>'
    assert identity_from_xmp(_packet(other)) is None


@pytest.mark.parametrize(
    ("description", "said"),
    [
        (
            _elements({k: v for k, v in REPORT_IDENTITY.items() if k != "PatientID"}),
            "lacks PatientID",
        ),
        (
            _attributes(REPORT_IDENTITY) + _elements({"PatientID": "PAT-B"}),
            "PatientID more than once",
        ),
    ],
    ids=["partial", "ambiguous"],
)
def test_a_partial_or_ambiguous_identity_is_refused(description, said):
    with pytest.raises(IdentityError, match=said):
        identity_from_xmp(_packet(description))


def test_markup_that_is_no_xmp_is_refused():
    with pytest.raises(IdentityError, match="not well-formed"):
        identity_from_xmp(b"<x:xmpmeta><unclosed>")
    bomb = b'<!DOCTYPE x [<!ENTITY a "aaaaaaaa">]><x>&a;</x>'
    with pytest.raises(IdentityError, match="DTD"):
        identity_from_xmp(bomb)


def test_mismatches_follow_dicom_equality():
    padded = {**REPORT_IDENTITY, "PatientName": "Nguyễn^Thị Lan^^", "PatientID": "PAT-A "}
    assert identity_mismatches(REPORT_IDENTITY, padded) == ()
    moved = {**REPORT_IDENTITY, "PatientName": "Nguyễn^Thị", "AccessionNumber": "ACC-88"}
    assert identity_mismatches(REPORT_IDENTITY, moved) == ("PatientName", "AccessionNumber")
