"""Code systems and the codes reports use, in one place for FHIR and HL7 v2 alike.

Each measurement key has a Halong code (exact meaning: "infarct core volume") and,
where one fits, a standard SNOMED CT or DICOM code for the quantity (``Volume``,
``Long axis``): receivers that know only the standard code still know what kind
of number it is.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CodeSystem:
    fhir: str  # canonical URI used in FHIR
    hl7v2: str  # coding-system name used in HL7 v2 (table 0396)


LOINC = CodeSystem("http://loinc.org", "LN")
SNOMED = CodeSystem("http://snomed.info/sct", "SCT")
DICOM = CodeSystem("http://dicom.nema.org/resources/ontology/DCM", "DCM")
ICD10 = CodeSystem("http://hl7.org/fhir/sid/icd-10", "I10")
UCUM = CodeSystem("http://unitsofmeasure.org", "UCUM")
#: Halong's own measurement codes (HL7 v2 local systems start with 99).
HALONG_MEASUREMENT = CodeSystem("urn:halong:measurement", "99HALONG")


@dataclass(frozen=True)
class Code:
    system: CodeSystem
    code: str
    display: str


_VOLUME = Code(SNOMED, "118565006", "Volume")
_DIAMETER = Code(SNOMED, "81827009", "Diameter")

#: Standard code of the quantity each measurement key measures.
STANDARD_CODES: dict[str, Code] = {
    "volume_mm3": _VOLUME,
    "long_axis_mm": Code(SNOMED, "103339001", "Long axis"),
    "short_axis_mm": Code(SNOMED, "103340004", "Short axis"),
    "mean_diameter_mm": _DIAMETER,
    "solid_core_mm": _DIAMETER,
    "mean_hu": Code(DICOM, "112031", "Attenuation Coefficient"),
    "core_ml": _VOLUME,
    "hypoperfusion_ml": _VOLUME,
    "tmax_gt10_ml": _VOLUME,
    "mismatch_ml": _VOLUME,
}

#: LOINC codes of the narrative report sections (HL7 v2 OBX-3).
SECTION_CODES: dict[str, Code] = {
    "indication": Code(LOINC, "18785-6", "Radiology Reason for study"),
    "technique": Code(LOINC, "55111-9", "Current imaging procedure descriptions"),
    "findings": Code(LOINC, "18782-3", "Radiology Study observation (narrative)"),
    "impression": Code(LOINC, "19005-8", "Radiology Impression (narrative)"),
    "recommendations": Code(LOINC, "18783-1", "Radiology Study recommendation (narrative)"),
}
REPORT_DOCUMENT = Code(LOINC, "18748-4", "Diagnostic imaging study")


def measurement_code(finding_kind: str, key: str, display: str) -> Code:
    """The Halong code of measurement ``key`` of a finding of ``finding_kind``."""
    return Code(HALONG_MEASUREMENT, f"{finding_kind}.{key}", display)
