"""De-identified export: PS3.15 Basic Profile + Clean Descriptors, checked on the files."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from workstation.dicom.deidentify import (
    DeidentificationError,
    Deidentifier,
    export_deidentified,
    profile,
)
from workstation.dicom.image_writer import SeriesInfo, write_volume
from workstation.model.volume import Volume

NAME, PATIENT_ID, ACCESSION, BIRTH = "Nguyễn^Thị Lan", "BN-20240105-77", "ACC-9981", "19580312"
SECRETS = ("Nguyễn", "Thị Lan", PATIENT_ID, ACCESSION, BIRTH, "Bệnh viện Bạch Mai", "Trần^Bình")


@pytest.fixture
def identified_series(tmp_path: Path) -> list[Path]:
    info = SeriesInfo(
        patient_id=PATIENT_ID,
        patient_name=NAME,
        patient_birth_date=BIRTH,
        patient_sex="F",
        accession_number=ACCESSION,
        study_description=f"CT NGUC {PATIENT_ID}",
        series_description="LUNG 1.25 Nguyễn Thị Lan 05/01/2024",
    )
    volume = Volume(np.arange(3 * 8 * 8, dtype=np.int16).reshape(3, 8, 8), modality="CT")
    paths = write_volume(volume, tmp_path / "identified", info)
    for path in paths:
        dataset = pydicom.dcmread(path)
        dataset.InstitutionName = "Bệnh viện Bạch Mai"
        dataset.ReferringPhysicianName = "Trần^Bình"
        dataset.OtherPatientIDs = "CCCD-001"
        dataset.PatientAddress = "12 Hàng Bài, Hà Nội"
        dataset.ImageComments = f"đo lại cho {PATIENT_ID}"
        dataset.add_new(0x00091010, "LO", "private vendor note")  # private
        referenced = Dataset()
        referenced.ReferencedSOPClassUID = dataset.SOPClassUID
        referenced.ReferencedSOPInstanceUID = pydicom.dcmread(paths[0]).SOPInstanceUID
        dataset.SourceImageSequence = Sequence([referenced])
        dataset.save_as(path, enforce_file_format=True)
    return paths


def test_no_identifier_survives_anywhere_in_the_files(identified_series, tmp_path):
    written = export_deidentified(identified_series, tmp_path / "out")
    assert len(written) == len(identified_series)
    for path in written:
        raw = path.read_bytes()
        for secret in SECRETS:
            assert secret.encode("utf-8") not in raw, secret
            assert secret.replace("^", " ").encode("utf-8") not in raw, secret
        dataset = pydicom.dcmread(path)
        assert "OtherPatientIDs" not in dataset and "PatientAddress" not in dataset
        assert "InstitutionName" not in dataset and dataset.ReferringPhysicianName == ""
        assert dataset.PatientBirthDate == "" and dataset.AccessionNumber == ""
        assert not [e for e in dataset if e.tag.is_private]


def test_method_is_recorded(identified_series, tmp_path):
    dataset = pydicom.dcmread(export_deidentified(identified_series[:1], tmp_path / "o")[0])
    assert dataset.PatientIdentityRemoved == "YES"
    codes = {
        (c.CodeValue, c.CodingSchemeDesignator) for c in dataset.DeidentificationMethodCodeSequence
    }
    assert codes == {("113100", "DCM"), ("113105", "DCM")}


def test_uids_are_replaced_consistently_and_references_still_match(identified_series, tmp_path):
    originals = [pydicom.dcmread(p) for p in identified_series]
    exported = [pydicom.dcmread(p) for p in export_deidentified(identified_series, tmp_path / "o")]
    assert len({d.StudyInstanceUID for d in exported}) == 1
    assert len({d.SeriesInstanceUID for d in exported}) == 1
    assert len({d.FrameOfReferenceUID for d in exported}) == 1
    assert {d.StudyInstanceUID for d in exported}.isdisjoint(
        {d.StudyInstanceUID for d in originals}
    )
    first = min(exported, key=lambda d: d.InstanceNumber)
    for dataset in exported:
        assert dataset.SourceImageSequence[0].ReferencedSOPInstanceUID == first.SOPInstanceUID
        assert dataset.file_meta.MediaStorageSOPInstanceUID == dataset.SOPInstanceUID
        assert dataset.SOPClassUID == originals[0].SOPClassUID  # not a UID to replace
    assert len({d.PatientID for d in exported}) == 1 and exported[0].PatientID.startswith("ANON-")
    by_number = {d.InstanceNumber: d for d in originals}
    for dataset in exported:  # pixels untouched
        assert np.array_equal(dataset.pixel_array, by_number[dataset.InstanceNumber].pixel_array)


def test_clean_descriptors_keep_the_description_without_the_identifiers(
    identified_series, tmp_path
):
    dataset = pydicom.dcmread(export_deidentified(identified_series[:1], tmp_path / "o")[0])
    assert dataset.SeriesDescription == "LUNG 1.25"
    assert dataset.StudyDescription == "CT NGUC"
    assert dataset.ImageComments == "đo lại cho"


def _dciodvfy_errors(path: Path) -> set[str]:
    done = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True)
    return {line for line in (done.stdout + done.stderr).splitlines() if line.startswith("Error")}


def test_the_exported_series_is_valid_and_still_loads(identified_series, tmp_path):
    written = export_deidentified(identified_series, tmp_path / "o")
    # de-identification adds no error to those the source images already had
    assert _dciodvfy_errors(written[0]) <= _dciodvfy_errors(identified_series[0])
    from workstation.dicom.loader import load_paths

    loaded = load_paths([tmp_path / "o"])
    assert len(loaded.volumes) == 1  # one series again, from the de-identified files


def test_burned_in_text_is_refused(identified_series):
    dataset = pydicom.dcmread(identified_series[0])
    dataset.BurnedInAnnotation = "YES"
    with pytest.raises(DeidentificationError):
        Deidentifier().deidentify(dataset)


def test_profile_table_covers_the_key_attributes():
    rules = profile()
    assert len(rules) > 400
    assert rules[0x00100010].action == "Z" and rules[0x00100020].action == "Z"
    assert rules[0x0020000D].action == "U" and rules[0x00080018].action == "U"
    assert rules[0x0008103E].cleans and rules[0x00081030].cleans
    assert rules[0x00101040].action == "X"  # Patient's Address
    assert rules[0x00082112].action == "U*"  # Source Image Sequence
