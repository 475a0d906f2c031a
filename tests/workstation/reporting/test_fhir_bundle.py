"""The FHIR transaction Bundle validates as R4(B) and says what the EMR needs."""

from __future__ import annotations

import base64
import dataclasses
import json
import math

import pytest
from fhir.resources.R4B.bundle import Bundle

from workstation.model.report import Measurement, Physician, ReportRuleError
from workstation.reporting.fhir_bundle import build_fhir_bundle, fhir_bundle_bytes

VN_CORE = "http://fhir.ehealth.gov.vn/core/StructureDefinition/"


def _resources(bundle: dict, kind: str) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def _entries(bundle: dict, kind: str) -> list[dict]:
    return [e for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def test_bundle_validates_with_fhir_resources_r4b(final_report, signed_pdf):
    data = fhir_bundle_bytes(final_report, signed_pdf)
    bundle = Bundle.model_validate_json(data)
    assert bundle.type == "transaction"
    kinds = [entry.resource.get_resource_type() for entry in bundle.entry]
    assert kinds.count("Patient") == 1 and kinds.count("DiagnosticReport") == 1
    assert kinds.count("ImagingStudy") == 1 and kinds.count("Practitioner") == 1


def test_patient_is_a_conditional_create_on_its_identifier(final_report, signed_pdf):
    bundle = build_fhir_bundle(final_report, signed_pdf)
    (entry,) = _entries(bundle, "Patient")
    assert entry["request"]["method"] == "POST"
    assert entry["request"]["ifNoneExist"] == "identifier=urn:halong:patient-id|PAT-A"
    patient = entry["resource"]
    assert patient["name"][0]["family"] == "Nguyễn" and patient["name"][0]["given"] == ["Thị Lan"]
    assert patient["birthDate"] == "1958-03-12" and patient["gender"] == "female"
    assert patient["meta"]["profile"] == [VN_CORE + "vn-core-patient"]
    for entry in bundle["entry"]:  # every entry can be resent without duplicating anything
        request = entry["request"]
        assert request["method"] == "PUT" or request.get("ifNoneExist")


def test_imaging_study_carries_the_dicom_uids(final_report, signed_pdf):
    (study,) = _resources(build_fhir_bundle(final_report, signed_pdf), "ImagingStudy")
    assert {"system": "urn:dicom:uid", "value": f"urn:oid:{final_report.study.study_uid}"} in study[
        "identifier"
    ]
    assert study["series"][0]["uid"] == final_report.study.series[0].series_uid
    assert study["started"] == "2024-01-05T10:15:00+07:00"


def test_diagnostic_report_content(final_report, signed_pdf):
    bundle = build_fhir_bundle(final_report, signed_pdf)
    (report,) = _resources(bundle, "DiagnosticReport")
    assert report["status"] == "final"
    assert report["category"][0]["coding"][0]["code"] == "RAD"
    assert report["code"]["coding"][0] == {
        "system": "http://loinc.org",
        "code": "24627-2",
        "display": "CT Chest",
    }
    assert report["conclusion"] == final_report.impression
    icd = report["conclusionCode"][0]["coding"][0]
    assert icd["system"] == "http://hl7.org/fhir/sid/icd-10" and icd["code"] == "R91"
    form = report["presentedForm"][0]
    assert form["contentType"] == "application/pdf"
    assert base64.b64decode(form["data"]) == signed_pdf
    assert report["meta"]["profile"] == [VN_CORE + "vn-core-diagnostic-report"]
    assert len(report["result"]) == len(_resources(bundle, "Observation"))


def test_one_observation_per_accepted_measurement_with_ucum_units(final_report, signed_pdf):
    observations = _resources(build_fhir_bundle(final_report, signed_pdf), "Observation")
    by_code = {o["code"]["coding"][0]["code"]: o for o in observations}
    expected = {
        "lung-nodule.volume_mm3": (523.6, "mm3"),
        "lung-nodule.long_axis_mm": (11.2, "mm"),
        "lung-nodule.short_axis_mm": (8.9, "mm"),
        "lung-nodule.mean_diameter_mm": (10.1, "mm"),
        "perfusion.core_ml": (12.4, "mL"),
        "perfusion.hypoperfusion_ml": (86.0, "mL"),
        "perfusion.mismatch_ml": (73.6, "mL"),
        "perfusion.mismatch_ratio": (86.0 / 12.4, "1"),
        "perfusion.hir": (0.35, "1"),
    }
    for code, (value, unit) in expected.items():
        quantity = by_code[code]["valueQuantity"]
        assert quantity["system"] == "http://unitsofmeasure.org"
        assert quantity["code"] == unit and quantity["value"] == pytest.approx(value, abs=1e-3)
    # nodule 2 was rejected: none of its numbers may reach the EMR
    assert not [o for o in observations if "Nốt 2" in o["code"]["text"]]
    assert all(o["valueQuantity"]["value"] != 77.7 for o in observations)
    assert len(observations) == 6 + 6  # nodule 1 and the perfusion result, 6 numbers each


def test_infinite_mismatch_ratio_is_stated_not_invented(final_report, signed_pdf):
    perfusion = final_report.finding("perfusion")
    infinite = [
        dataclasses.replace(m, value=math.inf) if m.key == "mismatch_ratio" else m
        for m in perfusion.measurements
    ]
    changed = dataclasses.replace(perfusion, measurements=tuple(infinite))
    findings = tuple(changed if f is perfusion else f for f in final_report.ai_findings)
    report = dataclasses.replace(final_report, ai_findings=findings)
    bundle = build_fhir_bundle(report, signed_pdf)
    Bundle.model_validate(bundle)
    (ratio,) = [
        o
        for o in _resources(bundle, "Observation")
        if o["code"]["coding"][0]["code"] == "perfusion.mismatch_ratio"
    ]
    assert "valueQuantity" not in ratio
    assert ratio["dataAbsentReason"]["coding"][0]["code"] == "positive-infinity"
    assert isinstance(infinite[0], Measurement)


def test_amendment_is_an_amended_update_of_the_same_report(final_report, signed_pdf):
    amended = final_report.amend("sai vị trí thùy").edit(impression="Nốt 1 thùy dưới phải.")
    amended = amended.finalize(Physician("BS. Trần Bình", "CCHN-7"))
    first = build_fhir_bundle(final_report, signed_pdf)
    second = build_fhir_bundle(amended, signed_pdf)
    (one,) = _entries(first, "DiagnosticReport")
    (two,) = _entries(second, "DiagnosticReport")
    assert one["request"]["url"] == two["request"]["url"]  # same resource, updated
    assert two["resource"]["status"] == "amended"
    assert first["identifier"] != second["identifier"]
    Bundle.model_validate(second)


def test_the_same_report_always_gives_the_same_bundle(final_report, signed_pdf):
    first = fhir_bundle_bytes(final_report, signed_pdf)
    assert fhir_bundle_bytes(final_report, signed_pdf) == first
    assert json.loads(first)["identifier"]["value"] == final_report.report_id


def test_drafts_are_refused(draft, signed_pdf):
    with pytest.raises(ReportRuleError):
        build_fhir_bundle(draft, signed_pdf)
