"""Every output of a signed report carries the same numbers for every accepted finding.

The ground truth is what the engines wrote (the fixture's lung.json and perfusion.json);
the PDF text (as poppler extracts it), the verified SR (as highdicom reads it), the FHIR
Observations and the HL7 OBX NM segments must each state those values.
"""

from __future__ import annotations

import json
import math

import highdicom as hd
import pytest
from pydicom.sr.codedict import codes
from support.report_fixtures import (
    FINDINGS,
    lung_document,
    make_test_pki,
    pdf_text,
    perfusion_document,
    write_ai_lung_dicom,
    write_lung_result,
    write_perfusion_result,
    write_source_series,
)

#: What the engines wrote: (finding id, measurement key) -> value.
NODULE_KEYS = ("volume_mm3", "long_axis_mm", "short_axis_mm", "mean_diameter_mm", "mean_hu")
PERFUSION_KEYS = ("core_ml", "hypoperfusion_ml", "tmax_gt10_ml", "mismatch_ml", "hir")
#: The PDF's wording and precision (English template), per key.
SHOWN = {
    "volume_mm3": ("Volume", 0, "mm³"),
    "long_axis_mm": ("Long axis", 1, "mm"),
    "short_axis_mm": ("Short axis", 1, "mm"),
    "mean_diameter_mm": ("Mean diameter", 1, "mm"),
    "mean_hu": ("Mean attenuation", 1, "HU"),
    "core_ml": ("Infarct core (rCBF < 30%)", 1, "mL"),
    "hypoperfusion_ml": ("Hypoperfusion (Tmax > 6 s)", 1, "mL"),
    "tmax_gt10_ml": ("Tmax > 10 s", 1, "mL"),
    "mismatch_ml": ("Mismatch volume", 1, "mL"),
    "hir": ("Hypoperfusion intensity ratio (HIR)", 2, ""),
}
#: The SR concept of each nodule quantity the lung engine's SR carries.
SR_CONCEPTS = {
    "volume_mm3": codes.SCT.Volume,
    "long_axis_mm": codes.SCT.LongAxis,
    "mean_diameter_mm": codes.SCT.Diameter,
}


def _truth() -> dict[tuple[str, str], float]:
    values = {}
    for nodule in lung_document()["nodules"]:
        for key in NODULE_KEYS:
            values[(f"nodule-{nodule['id']}", key)] = float(nodule[key])
    perfusion = perfusion_document()
    for key in PERFUSION_KEYS:
        values[("perfusion", key)] = float(perfusion[key])
    return values


@pytest.fixture
def package(halong, tmp_path):
    ct = write_source_series(tmp_path / "ct")
    assert halong("import", ct).status == 0
    lung = write_lung_result(tmp_path / "lung")
    write_ai_lung_dicom(lung, ct)
    perfusion = write_perfusion_result(tmp_path / "perfusion")
    pki = make_test_pki(tmp_path / "pki")
    out = tmp_path / "out"
    done = halong(
        "report", lung, perfusion, "--signer", pki.p12, "--passphrase-file",
        pki.passphrase_file, "--out", out, "--accept", "all", "--findings", FINDINGS,
        "--language", "en",
    )  # fmt: skip
    assert done.status == 0, done.err
    return out


def test_fhir_observations_state_the_engines_values(package):
    bundle = json.loads((package / "fhir-bundle.json").read_text(encoding="utf-8"))
    stated = {}
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Observation" and "valueQuantity" in resource:
            _, finding, key = resource["identifier"][0]["value"].split("/")
            stated[(finding, key)] = resource["valueQuantity"]["value"]
    for where, value in _truth().items():
        assert stated[where] == pytest.approx(value, abs=1e-4), where


def test_hl7_numeric_observations_state_the_engines_values(package):
    segments = (package / "oru.hl7").read_bytes().decode("utf-8").split("\r")
    stated = {}
    for segment in segments:
        fields = segment.split("|")
        if fields[0] == "OBX" and fields[2] == "NM":
            key = fields[3].split("^")[0].split(".", 1)[1]
            stated[(fields[4], key)] = float(fields[5])
    for where, value in _truth().items():
        assert stated[where] == pytest.approx(value, rel=5e-4), where  # NM has 4 digits


def test_the_pdf_prints_the_engines_values(package):
    text = " ".join(pdf_text(package / "report.pdf").split())
    for (_, key), value in _truth().items():
        label, digits, unit = SHOWN[key]
        shown = f"{label}: {value:.{digits}f}" + (f" {unit}" if unit else "")
        assert shown in text, shown


def test_the_verified_sr_states_the_engines_nodule_values(package):
    sr = hd.sr.srread(package / "report-sr.dcm")
    groups = sr.content.get_volumetric_roi_measurement_groups()
    truth = _truth()
    assert len(groups) == 2
    for number, group in enumerate(groups, start=1):
        for key, concept in SR_CONCEPTS.items():
            (measurement,) = [m for m in group.get_measurements() if m.name == concept]
            assert math.isclose(float(measurement.value), truth[(f"nodule-{number}", key)]), key
