"""The triage node's closed loop, end to end with real parts.

An Orthanc playing the scanner sends a study to the node (``/modalities/halong/store``),
the node analyses it and a second Orthanc, the PACS, receives the results; the critical
result reaches the FHIR receiver as a FHIR R4 Communication, the API lists it, and the
physician on call logs in on the page in headless Chromium, sees the alert and
acknowledges it; the API then says who and when, and the EMR gets the acknowledgement.
Once with a CT perfusion (target mismatch), once with a chest CT (a Lung-RADS 4B nodule);
each alert carries the engine's summary picture.

Numbers are held to the phantoms' truth; what the PACS holds is read with pydicom,
highdicom and Pillow, what the EMR got with ``fhir.resources``, what the physician saw
from the page's HTML.
"""

from __future__ import annotations

import base64
import hashlib
import io
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
import pytest
from PIL import Image
from support.closed_loop import (
    PHYSICIAN,
    Arrival,
    ClosedLoop,
    Communication,
    ShownAlert,
    closed_loop,
    hospital_clock,
    iso_seconds,
    seconds_ago,
    shown_number,
)
from support.lung_studies import SUSPICIOUS_PATIENT, write_suspicious_chest_ct
from support.node_runs import pacs_series
from support.perfusion_studies import write_ctp_phantom

from workstation.lung.summary_image import SUMMARY_IMAGE

pytestmark = pytest.mark.slow  # real Orthancs, worker processes, the engines, Chromium

#: As test_node_end_to_end.py holds the perfusion engine to the phantom's truth.
PERFUSION_TOLERANCE = 0.10
#: As the lung panel's tests hold nodule diameters (mm) and volumes to the truth.
DIAMETER_TOLERANCE_MM, VOLUME_TOLERANCE = 1.0, 0.10
#: The report's words for the two volumes, as the page and the EMR show them.
CORE, HYPOPERFUSION = "Infarct core (rCBF < 30%)", "Hypoperfusion (Tmax > 6 s)"
#: Lung-RADS v2022: a solid nodule of 15 mm or more at baseline is 4B.
LUNG_RADS_4B_SOLID_MM = 15.0
#: The middle of the slice on a lung summary.png, left to right (pixels).
#: The lung picture's slice: a 560 px square, 12 px from the left; the nodule outline red.
SLICE_MIDDLE_PX = 12 + 560 / 2
OUTLINE_RGB = (255, 40, 40)
#: Clock times on the page and in the API are whole seconds.
SECOND = 1.0


@pytest.fixture
def loop(scanner, orthanc, halong_scp_port, tmp_path: Path):
    with closed_loop(tmp_path, scanner, orthanc, halong_scp_port) as running:
        yield running


def _within(moment: float, start: float, end: float) -> bool:
    return start - SECOND <= moment <= end + SECOND


def _close_the_loop(
    loop: ClosedLoop, page, arrival: Arrival, patient: dict[str, str], study_uid: str
) -> tuple[dict, Communication, ShownAlert]:
    """What every critical result goes through after the analysis, checked the same way
    for both kinds: the EMR's Communication, the API, the page, the acknowledgement.
    Returns the alert as the API listed it, the Communication and what the page showed."""
    patient_id, patient_name = patient["patient_id"], patient["patient_name"]
    (alert,) = loop.communications(1)
    assert alert.resource["status"] == "completed" and alert.resource["priority"] == "stat"
    assert alert.patient["identifier"][0]["value"] == patient_id
    assert alert.study["resourceType"] == "ImagingStudy"
    assert alert.study["identifier"][0]["value"] == f"urn:oid:{study_uid}"
    assert "AI-generated" in alert.resource["note"][0]["text"]

    (listed,) = loop.api_alerts()
    assert listed["patient"] == {"id": patient_id, "name": patient_name.replace("^", " ")}
    assert listed["study_uid"] == study_uid
    assert listed["recipient"] == PHYSICIAN and listed["acknowledged_by"] is None
    last_image = iso_seconds(listed["last_image_at"])  # the time since it is there
    assert _within(last_image, arrival.sent_from, arrival.sent_until)
    assert last_image <= iso_seconds(listed["identified_at"]) + SECOND

    shown = loop.acknowledge_on_page(page, listed["id"])
    assert shown.patient == patient_name.replace("^", " ")
    assert patient_id in shown.patient_id
    assert shown.finding == listed["finding"]
    since = seconds_ago(shown.since_last_image)
    assert shown.shown_from - arrival.sent_until - SECOND <= since
    assert since <= shown.shown_until - arrival.sent_from + SECOND
    assert shown.acknowledged_by == PHYSICIAN and shown.acknowledge_buttons_left == 0
    assert _within(hospital_clock(shown.acknowledged_at), shown.clicked_from, shown.clicked_until)

    (after,) = loop.api_alerts()
    assert (after["acknowledged_by"], after["acknowledged_via"]) == (PHYSICIAN, "web page")
    assert after["received_by"] == PHYSICIAN
    assert _within(iso_seconds(after["acknowledged_at"]), shown.clicked_from, shown.clicked_until)

    _, answer = loop.communications(2)
    (identifier,) = alert.resource["identifier"]
    assert answer.resource["inResponseTo"] == [
        {"reference": f"Communication?identifier={identifier['system']}|{identifier['value']}"}
    ]
    assert f"acknowledged by {PHYSICIAN}" in answer.text
    assert answer.patient["identifier"] == alert.patient["identifier"]
    return listed, alert, shown


def _pacs_instance(loop: ClosedLoop, tags: dict[str, str]) -> pydicom.Dataset:
    return pydicom.dcmread(io.BytesIO(loop.pacs.stored_file(tags["SOPInstanceUID"])))


def test_a_ct_perfusion_alert_closes_the_loop(loop: ClosedLoop, page, tmp_path: Path) -> None:
    ctp = write_ctp_phantom(tmp_path / "ctp")
    truth = ctp.phantom
    arrival = loop.send(ctp.folder, ctp.study_uid)
    assert arrival.job["workflow"] == "perfusion"

    held = pacs_series(loop.pacs)
    assert set(held) == {
        "AI CT perfusion summary",
        "AI CT perfusion maps (colour)",
        "AI CT perfusion parametric maps",
    }
    for tags in (t for instances in held.values() for t in instances):
        assert tags["PatientID"] == "PAT-300" and tags["StudyInstanceUID"] == ctp.study_uid
        assert "AI-generated" in tags["DerivationDescription"]

    patient = {"patient_id": "PAT-300", "patient_name": "Le^Van Hung"}
    listed, alert, shown = _close_the_loop(loop, page, arrival, patient, ctp.study_uid)

    def near(value: float, expected: float) -> bool:
        return abs(value - expected) <= PERFUSION_TOLERANCE * expected

    for text in (alert.text, shown.numbers):
        assert near(shown_number(text, CORE, "mL"), truth.core_ml)
        assert near(shown_number(text, HYPOPERFUSION, "mL"), truth.hypoperfusion_ml)
    assert near(listed["numbers"]["core_ml"], truth.core_ml)
    assert near(listed["numbers"]["hypoperfusion_ml"], truth.hypoperfusion_ml)
    assert listed["numbers"]["defuse3"] == "needs input"  # no clinical values on the node
    assert alert.text.startswith("Target mismatch profile")
    assert "DEFUSE 3: needs input" in shown.numbers

    # the summary image: the same picture the PACS got as the summary Secondary Capture
    (attachment,) = alert.attachments
    assert attachment["contentType"] == "image/png"
    png = base64.b64decode(attachment["data"])
    assert attachment["size"] == len(png)
    assert base64.b64decode(attachment["hash"]) == hashlib.sha1(png).digest()
    picture = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    (summary,) = held["AI CT perfusion summary"]
    assert np.array_equal(picture, _pacs_instance(loop, summary).pixel_array)
    assert shown.image_width == picture.shape[1]


def test_a_chest_ct_lung_alert_closes_the_loop(loop: ClosedLoop, page, tmp_path: Path) -> None:
    chest = write_suspicious_chest_ct(tmp_path / "chest")
    nodule = chest.nodule
    assert nodule.type == "solid" and nodule.diameter_mm >= LUNG_RADS_4B_SOLID_MM
    arrival = loop.send(chest.folder, chest.study_uid)
    assert arrival.job["workflow"] == "lung"

    held = pacs_series(loop.pacs)
    (seg_tags,) = held.pop("Lung nodules (AI, unverified)")
    (sr_tags,) = held.pop("Lung nodules report (AI)")
    assert held == {}
    for tags in (seg_tags, sr_tags):
        assert tags["PatientID"] == SUSPICIOUS_PATIENT["patient_id"]
        assert tags["StudyInstanceUID"] == chest.study_uid
    sr = _pacs_instance(loop, sr_tags)
    assert (sr.Modality, sr.VerificationFlag) == ("SR", "UNVERIFIED")
    seg = hd.seg.Segmentation.from_dataset(_pacs_instance(loop, seg_tags))
    (number,) = seg.get_segment_numbers()
    assert seg.get_segment_description(number).SegmentAlgorithmType == "AUTOMATIC"
    voxels = seg.get_volume(combine_segments=True)
    where = np.argwhere(voxels.array == number)
    volume_mm3 = len(where) * abs(np.linalg.det(voxels.affine[:3, :3]))
    assert abs(volume_mm3 - nodule.volume_mm3) <= VOLUME_TOLERANCE * nodule.volume_mm3
    centre = voxels.affine[:3, :3] @ where.mean(axis=0) + voxels.affine[:3, 3]
    assert np.linalg.norm(centre - np.array(nodule.center_lps_mm)) <= DIAMETER_TOLERANCE_MM

    listed, alert, shown = _close_the_loop(loop, page, arrival, SUSPICIOUS_PATIENT, chest.study_uid)
    assert listed["rules"] == ["lung-rads-4b-4x"]  # 20 mm: no mass of 30 mm
    assert (listed["numbers"]["lung_rads"], listed["numbers"]["nodules"]) == ("4B", 1)
    long_axis = listed["numbers"]["long_axis_mm"]
    assert abs(long_axis - nodule.long_axis_mm) <= DIAMETER_TOLERANCE_MM
    for text in (alert.text, shown.numbers):
        assert "Lung-RADS 4B" in text and "Nodules: 1" in text
        shown_axis = shown_number(text, "Largest long axis", "mm")
        assert abs(shown_axis - nodule.long_axis_mm) <= DIAMETER_TOLERANCE_MM
    assert alert.text.startswith("Lung-RADS 4B/4X")

    # the key image: the result folder's sealed summary.png, the nodule outlined on it
    (attachment,) = alert.attachments
    assert attachment["contentType"] == "image/png"
    png = base64.b64decode(attachment["data"])
    assert attachment["size"] == len(png)
    assert base64.b64decode(attachment["hash"]) == hashlib.sha1(png).digest()
    (drawn,) = (loop.home / "results" / chest.study_uid).glob(f"lung-*/{SUMMARY_IMAGE}")
    assert drawn.read_bytes() == png
    picture = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    assert picture.shape == (700, 1000, 3)
    assert shown.image_width == picture.shape[1]
    outlined = np.argwhere(np.all(picture == OUTLINE_RGB, axis=-1))
    assert len(outlined) > 0
    # the nodule is in the patient's left lung (LPS +x): radiologically, the image's right
    # half of the slice (its square panel, 560 pixels wide, lies 12 from the left)
    assert nodule.center_lps_mm[0] > 0
    assert np.all(outlined[:, 1] > SLICE_MIDDLE_PX)
