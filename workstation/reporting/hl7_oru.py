"""The signed report as an HL7 v2.5 ORU^R01 message, for EMRs that speak v2.

MSH (UTF-8 declared in MSH-18, since names are Vietnamese), PID, OBR (the exam's
LOINC code, the accession number, result status F or C for an amendment, the
reading physician), then OBX segments: the report text as TX (one per line, under
the LOINC code of its section), the accepted AI measurements as NM with UCUM units,
the ICD-10 diagnoses as CWE, and the signed PDF as ED (Base64).

MSH-10, the message control id, is derived from the report version, so building
the message twice gives the same id: the receiver (and the outbox) can use it to
recognise a resend.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from workstation.model.report import Report, ReportStatus, local_time, require_releasable
from workstation.reporting.codes import (
    ICD10,
    LOINC,
    REPORT_DOCUMENT,
    SECTION_CODES,
    STANDARD_CODES,
    UCUM,
    Code,
    measurement_code,
)

SEGMENT_SEPARATOR = "\r"
_ESCAPES = (("\\", "\\E\\"), ("|", "\\F\\"), ("^", "\\S\\"), ("&", "\\T\\"), ("~", "\\R\\"))


@dataclass(frozen=True)
class Hl7Settings:
    """Who sends and who receives (configure per site)."""

    sending_application: str = "HALONG"
    sending_facility: str = ""
    receiving_application: str = ""
    receiving_facility: str = ""
    processing_id: str = "P"  # P production, T training, D debugging


def escape(text: str) -> str:
    """``text`` with the HL7 delimiters escaped and no control characters."""
    for raw, escaped in _ESCAPES:
        text = text.replace(raw, escaped)
    return "".join(c for c in text if c >= " " or c == "\t")


def _cwe(code: Code, text: str | None = None) -> str:
    return f"{escape(code.code)}^{escape(text or code.display)}^{code.system.hl7v2}"


def _timestamp(moment: datetime) -> str:
    return local_time(moment).strftime("%Y%m%d%H%M%S%z")


def control_id(report: Report) -> str:
    """MSH-10 for ``report``: 20 characters, the same every time for one version."""
    return report.report_id[:20].upper()


def _name(dicom_name: str) -> str:
    family, _, given = dicom_name.partition("^")
    return f"{escape(family)}^{escape(given.replace('^', ' '))}"


def _text_lines(report: Report) -> Iterable[tuple[Code, str]]:
    sections = (
        ("indication", report.indication),
        ("technique", report.technique),
        ("findings", report.findings_text),
        ("impression", report.impression),
        ("recommendations", report.recommendations),
    )
    for key, text in sections:
        for line in text.strip().splitlines():
            yield SECTION_CODES[key], line
    for finding in report.accepted_findings:
        label = f"AI-assisted ({finding.algorithm.label}, accepted by {finding.decided_by})"
        yield SECTION_CODES["findings"], f"{finding.title}: {finding.summary}. {label}"


def build_oru_r01(report: Report, signed_pdf: bytes, settings: Hl7Settings | None = None) -> str:
    """The ER7 text of the ORU^R01 message (segments separated by carriage returns)."""
    require_releasable(report)
    settings = settings or Hl7Settings()
    physician = report.physician
    assert physician is not None  # require_releasable: final reports have one
    patient, study = report.patient, report.study
    finalized = _timestamp(report.finalized_at)
    status = "C" if report.status is ReportStatus.AMENDED else "F"
    exam = Code(LOINC, report.exam_code, report.exam_display)
    interpreter = f"{escape(physician.identifier)}&{escape(physician.name)}"
    segments = [
        "|".join(
            [
                "MSH",
                "^~\\&",
                escape(settings.sending_application),
                escape(settings.sending_facility),
                escape(settings.receiving_application),
                escape(settings.receiving_facility),
                finalized,
                "",
                "ORU^R01^ORU_R01",
                control_id(report),
                settings.processing_id,
                "2.5",
                "",
                "",
                "AL",
                "NE",
                "VNM",
                "UNICODE UTF-8",
            ]
        ),
        "|".join(
            [
                "PID",
                "1",
                "",
                f"{escape(patient.patient_id)}^^^{escape(patient.issuer)}^PI",
                "",
                _name(patient.name),
                "",
                patient.birth_date,
                patient.sex if patient.sex in {"M", "F", "O"} else "U",
            ]
        ),
        "|".join(
            [
                "OBR",
                "1",
                "",
                escape(study.accession_number),
                _cwe(exam),
                "",
                "",
                (study.study_date + study.study_time)[:14],
                *[""] * 12,
                report.set_id,  # OBR-20, filler field 1: the same for every version
                "",
                finalized,
                "",
                "RAD",
                status,
                *[""] * 6,
                interpreter,
            ]
        ),
    ]
    observations: list[str] = []

    def obx(value_type: str, identifier: str, sub_id: str, value: str, units: str = "") -> None:
        number = len(observations) + 1
        fields = ["OBX", str(number), value_type, identifier, sub_id, value, units]
        fields += ["", "", "", "", status, "", "", finalized]
        observations.append("|".join(fields))

    for code, line in _text_lines(report):
        obx("TX", _cwe(code), code.code, escape(line))
    for finding in report.accepted_findings:
        for measurement in finding.measurements:
            if not measurement.is_finite:  # NM cannot say infinity; the TX text does
                continue
            local = measurement_code(finding.kind, measurement.key, measurement.label)
            identifier = _cwe(local, f"{finding.title}: {measurement.label}")
            standard = STANDARD_CODES.get(measurement.key)
            if standard:
                identifier += f"^{escape(standard.code)}^{escape(standard.display)}"
                identifier += f"^{standard.system.hl7v2}"
            unit = f"{escape(measurement.unit)}^{escape(measurement.unit)}^{UCUM.hl7v2}"
            obx("NM", identifier, finding.finding_id, f"{measurement.value:.4g}", unit)
    for diagnosis in report.icd10:
        icd = _cwe(Code(ICD10, diagnosis.code, diagnosis.display))
        obx("CWE", _cwe(SECTION_CODES["impression"]), "icd10", icd)
    pdf = base64.b64encode(signed_pdf).decode("ascii")
    obx("ED", _cwe(REPORT_DOCUMENT), "pdf", f"^AP^PDF^Base64^{pdf}")
    return SEGMENT_SEPARATOR.join(segments + observations) + SEGMENT_SEPARATOR


def oru_r01_bytes(report: Report, signed_pdf: bytes, settings: Hl7Settings | None = None) -> bytes:
    """The message as UTF-8 bytes (MSH-18 says so), ready for MLLP framing."""
    return build_oru_r01(report, signed_pdf, settings).encode("utf-8")
