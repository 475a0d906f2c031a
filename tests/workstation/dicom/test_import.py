"""Importing generated CT series: the index must show exactly the values that were written."""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path

import pydicom
import pytest

from workstation.dicom import importer
from workstation.dicom.database import Database
from workstation.dicom.importer import ImportRequest, import_paths
from workstation.model.progress import CancelToken
from workstation.model.records import IndexCounts


@pytest.fixture
def db(tmp_path):
    with Database.open(tmp_path / "home" / "halong.sqlite") as database:
        yield database


def _store(tmp_path: Path) -> Path:
    return tmp_path / "home" / "store"


def _import(db: Database, tmp_path: Path, *paths: Path, copy: bool = False, **options):
    return import_paths(db, ImportRequest(paths, _store(tmp_path), copy=copy), **options)


def _indexed_paths(db: Database) -> dict[str, str]:
    return {i.sop_instance_uid: i.path for s in db.series() for i in db.instances(s.series_uid)}


def _files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file())


def test_generated_studies_are_indexed_with_the_values_written(db, tmp_path, known_series):
    folder, known = known_series
    report = _import(db, tmp_path, folder)

    assert (report.imported, report.already_indexed, report.skipped) == (14, 0, [])
    assert db.counts() == IndexCounts(patients=2, studies=3, series=4, instances=14)
    studies = {study.study_uid: study for study in db.studies()}
    series = {record.series_uid: record for record in db.series()}
    for expected in known:
        info = expected.info
        study = studies[info.study_uid]
        assert (study.patient_id, study.patient_name) == (info.patient_id, info.patient_name)
        assert (study.patient_birth_date, study.patient_sex) == (
            info.patient_birth_date,
            info.patient_sex,
        )
        assert (study.study_date, study.study_time) == (info.study_date, info.study_time)
        assert study.study_description == info.study_description
        assert study.accession_number == info.accession_number
        assert study.modalities == ("CT",)
        record = series[info.series_uid]
        assert record.study_uid == info.study_uid
        assert (record.series_number, record.series_description) == (
            info.series_number,
            info.series_description,
        )
        assert (record.modality, record.body_part) == ("CT", info.body_part)
        assert record.frame_of_reference_uid == info.frame_of_reference_uid
        assert (record.instance_count, record.frame_count) == (expected.slices, expected.slices)
        assert (record.rows, record.columns) == (expected.rows, expected.columns)
        x_spacing, y_spacing, z_spacing = expected.spacing
        assert record.pixel_spacing == pytest.approx((y_spacing, x_spacing))  # DICOM: row, col
        assert record.slice_thickness == pytest.approx(z_spacing)
        assert record.image_orientation == pytest.approx((1, 0, 0, 0, 1, 0))
        instances = db.instances(info.series_uid)
        assert [i.instance_number for i in instances] == list(range(1, expected.slices + 1))
        positions = [i.image_position for i in instances]
        assert positions == [
            pytest.approx((-20.0, 10.0, 5.0 + k * z_spacing)) for k in range(expected.slices)
        ]
    assert studies["1.2.826.0.1.3680043.10.511.1"].series_count == 2
    assert studies["1.2.826.0.1.3680043.10.511.1"].instance_count == 7
    written = {
        pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID: str(p) for p in _files(folder)
    }
    assert _indexed_paths(db) == written  # files stay in place


def test_importing_again_changes_nothing(db, tmp_path, known_series):
    folder, _ = known_series
    _import(db, tmp_path, folder)
    before = (db.counts(), db.studies(), db.series(), _indexed_paths(db))

    report = _import(db, tmp_path, folder, *_files(folder / "series-0"))

    assert (report.imported, report.already_indexed, report.skipped) == (0, 18, [])
    assert (db.counts(), db.studies(), db.series(), _indexed_paths(db)) == before
    assert not _store(tmp_path).exists()


def test_copy_puts_files_in_the_store_and_points_the_index_there(db, tmp_path, known_series):
    folder, _ = known_series
    originals = {pydicom.dcmread(p).SOPInstanceUID: p.read_bytes() for p in _files(folder)}

    assert _import(db, tmp_path, folder, copy=True).imported == 14
    paths = _indexed_paths(db)
    store = _store(tmp_path)
    assert all(Path(path).is_relative_to(store) for path in paths.values())
    assert {uid: Path(path).read_bytes() for uid, path in paths.items()} == originals
    assert len(_files(store)) == 14

    copied = {path: path.stat().st_mtime_ns for path in _files(store)}
    again = _import(db, tmp_path, folder, copy=True)
    assert (again.imported, again.already_indexed) == (0, 14)
    assert {path: path.stat().st_mtime_ns for path in _files(store)} == copied  # not rewritten
    assert len(_files(folder)) == 14  # the originals are untouched


def test_zip_members_are_extracted_into_the_store(db, tmp_path, known_series):
    folder, known = known_series
    archive = tmp_path / "study.ZIP"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for path in _files(folder / "series-3"):
            zipped.write(path, f"DICOM/{path.name}")
        zipped.writestr("DICOM/", "")
        zipped.writestr("notes.txt", "not an image")
        zipped.writestr("DICOM/cut.dcm", (folder / "series-3" / "IM00000.dcm").read_bytes()[:300])

    report = _import(db, tmp_path, archive)

    assert (report.imported, report.already_indexed) == (known[3].slices, 0)
    assert sorted(skipped.path for skipped in report.skipped) == [
        f"{archive}/DICOM/cut.dcm",
        f"{archive}/notes.txt",
    ]
    store = _store(tmp_path)
    for uid, path in _indexed_paths(db).items():
        assert Path(path).is_relative_to(store)
        assert pydicom.dcmread(path).SOPInstanceUID == uid
    assert len(_files(store)) == known[3].slices  # rejected members and staging are gone
    assert not [p for p in store.iterdir() if p.name.startswith(".unzip")]


def test_duplicates_and_batch_boundaries(db, tmp_path, known_series, monkeypatch):
    folder, _ = known_series
    monkeypatch.setattr(importer, "BATCH_SIZE", 3)
    shutil.copy(folder / "series-1" / "IM00001.dcm", folder / "series-1" / "same-again.dcm")

    report = _import(db, tmp_path, folder)

    assert (report.imported, report.already_indexed, report.skipped) == (14, 1, [])
    assert db.counts().instances == 14


def test_progress_is_reported_and_cancel_keeps_what_was_read(
    db, tmp_path, known_series, monkeypatch
):
    folder, _ = known_series
    monkeypatch.setattr(importer, "BATCH_SIZE", 4)
    token = CancelToken()
    calls = []

    def progress(done, total, message):
        calls.append((done, total, message))
        if done == 6:
            token.cancel()

    report = _import(db, tmp_path, folder, progress=progress, cancel=token)

    assert report.cancelled
    assert [done for done, _, _ in calls] == [1, 2, 3, 4, 5, 6]
    assert {total for _, total, _ in calls} == {None}
    assert calls[-1][2] == "6 new, 0 already indexed, 0 skipped"
    assert report.imported == 6 == db.counts().instances


def test_files_without_study_or_series_uid_are_skipped_with_the_reason(db, tmp_path, known_series):
    folder, _ = known_series
    for number, keyword in enumerate(("StudyInstanceUID", "SeriesInstanceUID")):
        ds = pydicom.dcmread(folder / "series-0" / "IM00000.dcm")
        delattr(ds, keyword)
        ds.SOPInstanceUID = f"1.2.826.0.1.3680043.10.511.99.{number}"
        ds.save_as(tmp_path / f"no-{keyword}.dcm")

    report = _import(
        db, tmp_path, tmp_path / "no-StudyInstanceUID.dcm", tmp_path / "no-SeriesInstanceUID.dcm"
    )

    assert report.imported == 0
    assert [(Path(s.path).name, s.reason) for s in report.skipped] == [
        ("no-StudyInstanceUID.dcm", "no Study Instance UID, so it cannot be filed under a study"),
        (
            "no-SeriesInstanceUID.dcm",
            "no Series Instance UID, so it cannot be filed under a series",
        ),
    ]


def test_odd_folders_are_walked_safely(db, tmp_path, known_series):
    folder, _ = known_series
    (folder / "loop").symlink_to(folder, target_is_directory=True)
    os.close(os.open(os.fsencode(folder) + b"/bad-\xff-name.dcm", os.O_CREAT | os.O_WRONLY))

    report = _import(db, tmp_path, folder, tmp_path / "missing")

    assert report.imported == 14
    assert [(s.path, s.reason) for s in report.skipped] == [
        (f"{folder}/bad-\ufffd-name.dcm", "the file name is not valid UTF-8; rename it"),
        (str(tmp_path / "missing"), "no such file or folder"),
    ]
