"""The signed report as a FHIR R4 transaction Bundle for the EMR.

Patient (conditional create on its identifier, so a resend never duplicates the
patient), Practitioner (likewise, when the physician has a licence number),
ImagingStudy (conditional create on the Study Instance UID), one Observation per
measurement of an accepted AI finding (UCUM units; conditional update on a stable
identifier) and the DiagnosticReport (category RAD, the exam's LOINC code, the
impression as conclusion, ICD-10 conclusion codes, the signed PDF as presentedForm;
conditional update on the report's identifier, so an amendment updates the same
resource and a resend changes nothing). Resources name the VN Core profiles
(``hl7.fhir.vn.core``) that exist for them.

Full URLs are ``urn:uuid`` values derived from the report version, so the same
report always gives the same bundle.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from workstation.model.report import (
    LOCAL_TIMEZONE,
    AIFinding,
    Measurement,
    Patient,
    Report,
    ReportStatus,
    Study,
    local_time,
    require_releasable,
)
from workstation.reporting.codes import (
    DICOM,
    ICD10,
    LOINC,
    STANDARD_CODES,
    UCUM,
    Code,
    measurement_code,
)

#: Canonical base of VN Core (hl7.fhir.vn.core); profile ids as published there.
VN_CORE = "http://fhir.ehealth.gov.vn/core/StructureDefinition/"
PROFILES = {
    "Patient": VN_CORE + "vn-core-patient",
    "ImagingStudy": VN_CORE + "vn-core-imaging-study",
    "DiagnosticReport": VN_CORE + "vn-core-diagnostic-report",
    "Observation": VN_CORE + "vn-core-observation-radiology-code",
}
DICOM_UID_SYSTEM = "urn:dicom:uid"
V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
DATA_ABSENT_REASON = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
_GENDER = {"M": "male", "F": "female", "O": "other"}


@dataclass(frozen=True)
class FhirSettings:
    """Identifier namespaces of this hospital (configure them per site)."""

    patient_system: str = "urn:halong:patient-id"
    practitioner_system: str = "urn:halong:practitioner-licence"
    report_system: str = "urn:halong:report"
    observation_system: str = "urn:halong:observation"
    accession_system: str = "urn:halong:accession"


def _coding(code: Code) -> dict[str, str]:
    return {"system": code.system.fhir, "code": code.code, "display": code.display}


def _date(yyyymmdd: str) -> str | None:
    if len(yyyymmdd) == 8 and yyyymmdd.isdigit():
        return f"{yyyymmdd[:4]}-{yyyymmdd[4:6]}-{yyyymmdd[6:]}"
    return None


def _instant(moment: datetime) -> str:
    return local_time(moment).isoformat()


def study_started(study: Study) -> str | None:
    """The study's date and time (scanner local time) as a FHIR dateTime, when known."""
    date, time = study.study_date, (study.study_time + "0000")[:6]
    if _date(date) is None:
        return None
    try:
        moment = datetime.strptime(date + time, "%Y%m%d%H%M%S")
    except ValueError:
        return _date(date)
    return moment.replace(tzinfo=LOCAL_TIMEZONE).isoformat()


Entry = tuple[dict[str, Any], dict[str, str]]  # (resource, request)


def patient_entry(patient: Patient, settings: FhirSettings) -> Entry:
    """The Patient and its conditional create on the identifier (a resend never duplicates)."""
    system = settings.patient_system
    family, _, given = patient.name.partition("^")
    name: dict[str, Any] = {"text": " ".join(p for p in (family, given.replace("^", " ")) if p)}
    if family:
        name["family"] = family
    if given:
        name["given"] = [g for g in given.split("^") if g]
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "identifier": [{"use": "usual", "system": system, "value": patient.patient_id}],
        "name": [name],
        "gender": _GENDER.get(patient.sex, "unknown"),
    }
    birth = _date(patient.birth_date)
    if birth:
        resource["birthDate"] = birth
    request = {
        "method": "POST",
        "url": "Patient",
        "ifNoneExist": f"identifier={system}|{patient.patient_id}",
    }
    return resource, request


def imaging_study_entry(study: Study, patient_url: str, settings: FhirSettings) -> Entry:
    """The ImagingStudy and its conditional create on the Study Instance UID."""
    uid = f"urn:oid:{study.study_uid}"
    identifiers: list[dict[str, Any]] = [{"system": DICOM_UID_SYSTEM, "value": uid}]
    if study.accession_number:
        identifiers.append(
            {
                "type": {"coding": [{"system": V2_0203, "code": "ACSN"}]},
                "system": settings.accession_system,
                "value": study.accession_number,
            }
        )
    resource: dict[str, Any] = {
        "resourceType": "ImagingStudy",
        "identifier": identifiers,
        "status": "available",
        "subject": {"reference": patient_url},
    }
    started = study_started(study)
    if started:
        resource["started"] = started
    modalities = sorted({s.modality for s in study.series if s.modality})
    if modalities:
        resource["modality"] = [{"system": DICOM.fhir, "code": m} for m in modalities]
    if study.description:
        resource["description"] = study.description
    if study.series:
        resource["numberOfSeries"] = len(study.series)
        resource["series"] = [_series(s) for s in study.series]
    request = {
        "method": "POST",
        "url": "ImagingStudy",
        "ifNoneExist": f"identifier={DICOM_UID_SYSTEM}|{uid}",
    }
    return resource, request


def profiled(resource: dict[str, Any]) -> dict[str, Any]:
    """``resource`` naming its VN Core profile first, where one exists for its type."""
    profile = PROFILES.get(resource["resourceType"])
    if not profile:
        return resource
    head = {"resourceType": resource["resourceType"], "meta": {"profile": [profile]}}
    return head | {k: v for k, v in resource.items() if k != "resourceType"}


class _Builder:
    def __init__(self, report: Report, pdf: bytes, settings: FhirSettings) -> None:
        self.report, self.pdf, self.settings = report, pdf, settings
        self.entries: list[dict[str, Any]] = []
        self._namespace = uuid.UUID(hex=report.report_id)

    def full_url(self, name: str) -> str:
        return f"urn:uuid:{uuid.uuid5(self._namespace, name)}"

    def add(self, name: str, resource: dict[str, Any], request: dict[str, str]) -> str:
        url = self.full_url(name)
        self.entries.append({"fullUrl": url, "resource": profiled(resource), "request": request})
        return url

    # -- resources -----------------------------------------------------------------------

    def patient(self) -> str:
        return self.add("patient", *patient_entry(self.report.patient, self.settings))

    def practitioner(self) -> dict[str, str]:
        physician = self.report.physician
        assert physician is not None  # require_releasable: final reports have one
        reference = {"display": physician.name}
        if physician.identifier:
            system = self.settings.practitioner_system
            resource = {
                "resourceType": "Practitioner",
                "identifier": [{"system": system, "value": physician.identifier}],
                "name": [{"text": physician.name}],
            }
            request = {
                "method": "POST",
                "url": "Practitioner",
                "ifNoneExist": f"identifier={system}|{physician.identifier}",
            }
            reference["reference"] = self.add("practitioner", resource, request)
        return reference

    def imaging_study(self, patient_url: str) -> str:
        entry = imaging_study_entry(self.report.study, patient_url, self.settings)
        return self.add("imaging-study", *entry)

    def observation(
        self,
        finding: AIFinding,
        measurement: Measurement,
        refs: dict[str, Any],
    ) -> str:
        report = self.report
        identifier = f"{report.set_id}/{finding.finding_id}/{measurement.key}"
        code = {
            "coding": [_coding(measurement_code(finding.kind, measurement.key, measurement.label))],
            "text": f"{finding.title}: {measurement.label}",
        }
        standard = STANDARD_CODES.get(measurement.key)
        if standard:
            code["coding"].append(_coding(standard))
        resource: dict[str, Any] = {
            "resourceType": "Observation",
            "identifier": [{"system": self.settings.observation_system, "value": identifier}],
            "status": _status(report),
            "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "imaging"}]}],
            "code": code,
            "subject": {"reference": refs["patient"]},
            "issued": _instant(report.finalized_at),
            "performer": [refs["practitioner"]],
            "method": {
                "text": f"AI-assisted: {finding.algorithm.label}; accepted by {finding.decided_by}"
            },
            "derivedFrom": [{"reference": refs["study"]}],
        }
        started = study_started(report.study)
        resource["effectiveDateTime"] = started or _instant(report.finalized_at)
        if measurement.is_finite:
            resource["valueQuantity"] = {
                "value": round(measurement.value, 4),
                "unit": measurement.unit,
                "system": UCUM.fhir,
                "code": measurement.unit,
            }
        else:
            resource["dataAbsentReason"] = {
                "coding": [{"system": DATA_ABSENT_REASON, "code": "positive-infinity"}]
            }
        request = {
            "method": "PUT",
            "url": f"Observation?identifier={self.settings.observation_system}|{identifier}",
        }
        return self.add(f"observation/{finding.finding_id}/{measurement.key}", resource, request)

    def diagnostic_report(self, refs: dict[str, Any], results: list[str]) -> str:
        report, system = self.report, self.settings.report_system
        resource: dict[str, Any] = {
            "resourceType": "DiagnosticReport",
            "identifier": [{"system": system, "value": report.set_id}],
            "status": _status(report),
            "category": [{"coding": [{"system": V2_0074, "code": "RAD", "display": "Radiology"}]}],
            "code": {
                "coding": [
                    {
                        "system": LOINC.fhir,
                        "code": report.exam_code,
                        "display": report.exam_display,
                    }
                ]
            },
            "subject": {"reference": refs["patient"]},
            "issued": _instant(report.finalized_at),
            "performer": [refs["practitioner"]],
            "resultsInterpreter": [refs["practitioner"]],
            "imagingStudy": [{"reference": refs["study"]}],
            "conclusion": report.impression,
            "conclusionCode": [
                {"coding": [{"system": ICD10.fhir, "code": c.code, "display": c.display}]}
                for c in report.icd10
            ],
            "presentedForm": [
                {
                    "contentType": "application/pdf",
                    "language": report.language,
                    "data": base64.b64encode(self.pdf).decode("ascii"),
                    "size": len(self.pdf),
                    "hash": base64.b64encode(hashlib.sha1(self.pdf).digest()).decode("ascii"),
                    "title": f"{report.exam_display} {report.study.accession_number}".strip(),
                    "creation": _instant(report.finalized_at),
                }
            ],
        }
        started = study_started(report.study)
        resource["effectiveDateTime"] = started or _instant(report.finalized_at)
        if results:
            resource["result"] = [{"reference": url} for url in results]
        request = {"method": "PUT", "url": f"DiagnosticReport?identifier={system}|{report.set_id}"}
        return self.add("diagnostic-report", resource, request)


def _series(series) -> dict[str, Any]:
    item: dict[str, Any] = {
        "uid": series.series_uid,
        "modality": {"system": DICOM.fhir, "code": series.modality or "OT"},
    }
    if series.number is not None:
        item["number"] = series.number
    if series.description:
        item["description"] = series.description
    if series.instance_count:
        item["numberOfInstances"] = series.instance_count
    return item


def _status(report: Report) -> str:
    return "amended" if report.status is ReportStatus.AMENDED else "final"


def build_fhir_bundle(
    report: Report, signed_pdf: bytes, settings: FhirSettings | None = None
) -> dict[str, Any]:
    """The transaction Bundle (a JSON-ready dict) for a final, signed report."""
    require_releasable(report)
    settings = settings or FhirSettings()
    builder = _Builder(report, signed_pdf, settings)
    refs: dict[str, Any] = {"patient": builder.patient()}
    refs["practitioner"] = builder.practitioner()
    refs["study"] = builder.imaging_study(refs["patient"])
    results = [
        builder.observation(finding, measurement, refs)
        for finding in report.accepted_findings
        for measurement in finding.measurements
    ]
    builder.diagnostic_report(refs, results)
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "identifier": {"system": settings.report_system, "value": report.report_id},
        "entry": builder.entries,
    }


def fhir_bundle_bytes(
    report: Report, signed_pdf: bytes, settings: FhirSettings | None = None
) -> bytes:
    """The bundle as UTF-8 JSON, ready to POST to the FHIR base URL."""
    bundle = build_fhir_bundle(report, signed_pdf, settings)
    return json.dumps(bundle, ensure_ascii=False, indent=1).encode("utf-8")
