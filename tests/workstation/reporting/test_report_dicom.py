"""The verified report SR and SEG: valid DICOM, only accepted nodules, superseding the AI SR."""

from __future__ import annotations

from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
import pytest
from support.dicom_validation import dciodvfy_errors, dsrdump
from support.report_fixtures import (
    FINDINGS,
    PHYSICIAN,
    DemoPki,
    write_ai_lung_dicom,
    write_lung_result,
    write_source_series,
)

from workstation.dicom.database import Database
from workstation.dicom.importer import ImportRequest, import_paths
from workstation.home import HalongHome
from workstation.reporting.signing import load_signer
from workstation.reporting.workflow import SignRequest, apply_acceptance, new_report, sign


def _package(root: Path, pki: DemoPki, accept: str) -> Path:
    """A lung study indexed locally, the engine's outputs, and the signed package."""
    ct = write_source_series(root / "ct")
    home = HalongHome(root / "home")
    database = home.database_path
    with Database.open(database) as db:
        import_paths(db, ImportRequest(paths=[ct], store=home.store, copy=False))
    lung = write_lung_result(root / "lung", home=home.root)
    write_ai_lung_dicom(lung, ct, home=home.root)
    draft, _ = new_report([lung], home, language="vi", institution="BV Hạ Long")
    draft = apply_acceptance(draft, accept, PHYSICIAN).edit(findings_text=FINDINGS)
    signer = load_signer(pki.p12, pki.passphrase)
    sign(draft, [lung], signer, SignRequest(out_dir=root / "out"), home)
    return root / "out"


@pytest.fixture(scope="module")
def package(tmp_path_factory, test_pki) -> Path:
    return _package(tmp_path_factory.mktemp("one-accepted"), test_pki, "nodule-1")


@pytest.mark.parametrize(
    ("name", "iod"),
    [
        ("report-sr.dcm", "Comprehensive3DSR"),
        ("report-seg.dcm", "Segmentation"),
        ("report-pdf.dcm", "EncapsulatedPDF"),
    ],
)
def test_dciodvfy_reports_no_errors(package, name, iod):
    assert dciodvfy_errors(package / name, iod) == []


def test_dsrdump_reads_the_verified_sr_with_only_the_accepted_nodule(package):
    text = dsrdump(package / "report-sr.dcm")
    assert "Comprehensive 3D SR" in text and "VERIFIED" in text
    assert "Nodule 1" in text and "Nodule 2" not in text
    assert "523.6" in text and "77.7" not in text


def test_sr_is_verified_and_supersedes_the_ai_sr(package, tmp_path_factory):
    sr = pydicom.dcmread(package / "report-sr.dcm")
    ai_sr = pydicom.dcmread(package.parent / "lung" / "lung-sr.dcm")
    assert (sr.VerificationFlag, sr.CompletionFlag) == ("VERIFIED", "COMPLETE")
    assert ai_sr.VerificationFlag == "UNVERIFIED"
    assert sr.VerifyingObserverSequence[0].VerifyingObserverName.family_name == PHYSICIAN
    predecessor = sr.PredecessorDocumentsSequence[0].ReferencedSeriesSequence[0]
    assert predecessor.ReferencedSOPSequence[0].ReferencedSOPInstanceUID == ai_sr.SOPInstanceUID
    equipment = sr.ContributingEquipmentSequence[0]
    made_by = (equipment.ManufacturerModelName, equipment.SoftwareVersions)
    assert made_by == ("Halong lung nodule CAD", "1.0.0")
    assert sr.StudyInstanceUID == ai_sr.StudyInstanceUID and sr.PatientID == "PAT-A"


def test_seg_holds_only_the_accepted_segment_and_keeps_its_tracking(package):
    seg = hd.seg.segread(package / "report-seg.dcm")
    ai_seg = hd.seg.segread(package.parent / "lung" / "nodules-seg.dcm")
    assert [s.segment_number for s in seg.SegmentSequence] == [1]
    assert seg.SegmentSequence[0].TrackingUID == ai_seg.SegmentSequence[0].TrackingUID
    assert seg.ContentCreatorName.family_name == PHYSICIAN
    sources = [
        r.ReferencedSOPInstanceUID
        for r in seg.ReferencedSeriesSequence[0].ReferencedInstanceSequence
    ]
    ours = seg.get_pixels_by_source_instance(sources, segment_numbers=[1])
    theirs = ai_seg.get_pixels_by_source_instance(sources, segment_numbers=[1, 2])
    assert np.array_equal(ours[..., 0], theirs[..., 0])  # nodule 1, voxel for voxel
    assert int(ours.sum()) == 4 * 7 * 7
    sr = hd.sr.srread(package / "report-sr.dcm")
    (group,) = sr.content.get_volumetric_roi_measurement_groups()
    image = group.referenced_segment[0].ReferencedSOPSequence[0]
    assert image.ReferencedSOPInstanceUID == seg.SOPInstanceUID


def test_nothing_accepted_gives_neither_sr_nor_seg(tmp_path, test_pki):
    """TID 1500 needs a measurement: the signed PDF, FHIR and HL7 still say "no nodule"."""
    package = _package(tmp_path, test_pki, "none")
    assert not (package / "report-seg.dcm").exists()
    assert not (package / "report-sr.dcm").exists()
    assert (package / "report-pdf.dcm").exists() and (package / "report.pdf").exists()
