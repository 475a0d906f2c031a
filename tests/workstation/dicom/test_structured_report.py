"""TID 1500 measurement report: valid, readable by dcmtk and highdicom, verified or not."""

from __future__ import annotations

import highdicom as hd
import numpy as np
import pytest
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code
from support.dicom_validation import dciodvfy_errors, dsrdump, small_ct

from workstation.dicom.segmentation import Segment, write_segmentation
from workstation.dicom.structured_report import (
    Evaluation,
    Finding,
    Quantity,
    Verifier,
    write_measurement_report,
)
from workstation.model.report import Algorithm

ALGORITHM = Algorithm("Halong test CAD", "9.8.7")
COMPOSITION = Code("NODCOMP", "99HALONG", "Nodule composition")
CATEGORY = Code("LUNGRADS", "99HALONG", "Lung-RADS v2022 category")


@pytest.fixture(scope="module")
def ct(tmp_path_factory):
    return small_ct(tmp_path_factory.mktemp("ct"))


@pytest.fixture
def seg(ct, tmp_path):
    volume, sources = ct
    labels = np.zeros(volume.shape_zyx, dtype=np.uint8)
    labels[3:7, 10:20, 5:12] = 1
    labels[15:17, 30:33, 20:25] = 2
    segments = [Segment(n, f"Nodule {n}", f"Nodule {n}", algorithm=ALGORITHM) for n in (1, 2)]
    return write_segmentation(volume.with_voxels(labels), segments, sources, tmp_path / "seg.dcm")


def _findings(seg) -> list[Finding]:
    findings = []
    for item, volume_mm3 in zip(seg.SegmentSequence, (196.0, 21.0), strict=True):
        findings.append(
            Finding(
                segment_number=item.SegmentNumber,
                tracking_id=item.TrackingID,
                tracking_uid=item.TrackingUID,
                finding_site=Code("3341006", "SCT", "Right lung"),
                quantities=[
                    Quantity(codes.SCT.Volume, volume_mm3, codes.UCUM.CubicMillimeter),
                    Quantity(codes.SCT.Diameter, 6.5, codes.UCUM.Millimeter, codes.SCT.Mean),
                ],
                evaluations=[
                    Evaluation(
                        Code("NODCOMP", "99HALONG", "Nodule composition"),
                        codes.DCM.GroundGlassOpacity,
                    )
                ],
            )
        )
    return findings


def test_unverified_ai_report_is_valid_and_reads_back(ct, seg, tmp_path):
    _, sources = ct
    path = tmp_path / "sr.dcm"
    write_measurement_report(sources, seg, _findings(seg), path, ALGORITHM)
    assert dciodvfy_errors(path, "Comprehensive3DSR") == []
    dump = dsrdump(path)
    assert "Verification Flag   : UNVERIFIED" in dump
    assert 'Tracking Identifier")="Nodule 2"' in dump
    assert '"Device Observer Name")="Halong test CAD"' in dump

    sr = hd.sr.srread(path)
    assert sr.VerificationFlag == "UNVERIFIED"
    groups = sr.content.get_volumetric_roi_measurement_groups()
    assert [g.tracking_identifier for g in groups] == ["Nodule 1", "Nodule 2"]
    assert [g.tracking_uid for g in groups] == [s.TrackingUID for s in seg.SegmentSequence]
    for group, volume_mm3 in zip(groups, (196.0, 21.0), strict=True):
        (volume,) = group.get_measurements(name=codes.SCT.Volume)
        assert volume.value == pytest.approx(volume_mm3)
        assert volume.unit == codes.UCUM.CubicMillimeter
        assert group.referenced_segment.referenced_sop_instance_uid == seg.SOPInstanceUID
        (composition,) = group.get_qualitative_evaluations(name=COMPOSITION)
        assert composition.value == codes.DCM.GroundGlassOpacity


def test_verified_report_names_the_verifying_physician(ct, seg, tmp_path):
    _, sources = ct
    path = tmp_path / "verified.dcm"
    verifier = Verifier("Nguyen^Lan", "Halong General Hospital")
    write_measurement_report(
        sources, seg, _findings(seg), path, Algorithm("x", "1"), verifier=verifier
    )
    assert dciodvfy_errors(path, "Comprehensive3DSR") == []
    sr = hd.sr.srread(path)
    assert sr.VerificationFlag == "VERIFIED" and sr.PreliminaryFlag == "FINAL"
    observer = sr.VerifyingObserverSequence[0]
    assert observer.VerifyingObserverName == "Nguyen^Lan"
    assert observer.VerifyingOrganization == "Halong General Hospital"


def test_a_report_with_nothing_found_carries_the_exam_assessment(ct, tmp_path):
    _, sources = ct
    path = tmp_path / "empty.dcm"
    negative = Evaluation(CATEGORY, Code("LR1", "99HALONG", "Lung-RADS 1"))
    write_measurement_report(sources, None, [], path, ALGORITHM, assessment=[negative])
    assert dciodvfy_errors(path, "Comprehensive3DSR") == []
    assert '"Lung-RADS v2022 category")=(LR1,99HALONG,"Lung-RADS 1")' in dsrdump(path)
    with pytest.raises(ValueError, match="segmentation"):
        write_measurement_report(sources, None, [Finding(1, "a", "1.2.3")], path, ALGORITHM)
    with pytest.raises(ValueError, match="assessment"):
        write_measurement_report(sources, None, [], path, ALGORITHM)
