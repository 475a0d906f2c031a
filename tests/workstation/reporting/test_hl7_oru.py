"""The HL7 v2.5 ORU^R01 message parses with hl7apy and carries text, numbers and the PDF."""

from __future__ import annotations

import base64
import dataclasses

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message

from workstation.model.report import Physician
from workstation.reporting.hl7_oru import build_oru_r01, control_id, oru_r01_bytes


def _obx_fields(message: str) -> list[list[str]]:
    return [s.split("|") for s in message.strip("\r").split("\r") if s.startswith("OBX|")]


def test_message_parses_with_hl7apy(final_report, signed_pdf):
    message = oru_r01_bytes(final_report, signed_pdf).decode("utf-8")
    parsed = parse_message(message, validation_level=VALIDATION_LEVEL.TOLERANT, find_groups=True)
    assert parsed.name == "ORU_R01"
    assert parsed.msh.msh_9.to_er7() == "ORU^R01^ORU_R01"
    assert parsed.msh.msh_10.value == control_id(final_report)
    assert parsed.msh.msh_12.value == "2.5"
    assert parsed.msh.msh_18.value == "UNICODE UTF-8"
    result = parsed.oru_r01_patient_result
    assert result.oru_r01_patient.pid.pid_5.to_er7() == "Nguyễn^Thị Lan"
    order = result.oru_r01_order_observation
    assert order.obr.obr_4.to_er7() == "24627-2^CT Chest^LN"
    assert order.obr.obr_25.value == "F"
    observations = order.children.get("ORU_R01_OBSERVATION")
    assert len(observations) == len(_obx_fields(message))


def test_message_structure_passes_hl7apy_strict_validation(final_report, signed_pdf):
    """hl7apy types every OBX-5 as ST (199 characters), whatever OBX-2 says, so the long
    values (the Base64 PDF, long text lines) are shortened; everything else is strict."""
    message = build_oru_r01(final_report, signed_pdf)
    segments = []
    for segment in message.strip("\r").split("\r"):
        fields = segment.split("|")
        if fields[0] == "OBX":
            fields[5] = fields[5][:150]
        segments.append("|".join(fields))
    parsed = parse_message(
        "\r".join(segments), validation_level=VALIDATION_LEVEL.STRICT, find_groups=True
    )
    parsed.validate()


def test_text_numbers_and_pdf(final_report, signed_pdf):
    obx = _obx_fields(build_oru_r01(final_report, signed_pdf))
    kinds = {fields[2] for fields in obx}
    assert kinds == {"TX", "NM", "CWE", "ED"}
    impression = [f[5] for f in obx if f[2] == "TX" and f[3].startswith("19005-8")]
    assert impression and "Nốt 1" in impression[0]
    numbers = {f[3].split("^")[0]: (float(f[5]), f[6]) for f in obx if f[2] == "NM"}
    assert numbers["lung-nodule.volume_mm3"] == (523.6, "mm3^mm3^UCUM")
    assert numbers["perfusion.core_ml"] == (12.4, "mL^mL^UCUM")
    (icd,) = [f[5] for f in obx if f[2] == "CWE"]
    assert icd.startswith("R91^") and icd.endswith("^I10")
    (pdf,) = [f[5] for f in obx if f[2] == "ED"]
    _source, kind, subtype, encoding, data = pdf.split("^")
    assert (kind, subtype, encoding) == ("AP", "PDF", "Base64")
    assert base64.b64decode(data) == signed_pdf
    assert all(f[11] == "F" for f in obx)


def test_rejected_findings_are_not_sent(final_report, signed_pdf):
    message = build_oru_r01(final_report, signed_pdf)
    assert "Nốt 2" not in message and "77.7" not in message


def test_delimiters_in_text_are_escaped(final_report, signed_pdf):
    edited = dataclasses.replace(final_report, impression="a|b^c&d~e\\f")
    message = build_oru_r01(edited, signed_pdf)
    assert "a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f" in message
    parsed = parse_message(message, validation_level=VALIDATION_LEVEL.TOLERANT, find_groups=True)
    assert parsed.name == "ORU_R01"


def test_amendment_is_a_correction(final_report, signed_pdf):
    amended = final_report.amend("đính chính").finalize(Physician("BS. Trần Bình"))
    message = build_oru_r01(amended, signed_pdf)
    obr = next(s for s in message.split("\r") if s.startswith("OBR|")).split("|")
    assert obr[25] == "C"
    assert control_id(amended) != control_id(final_report)
    assert build_oru_r01(final_report, signed_pdf) == build_oru_r01(final_report, signed_pdf)
