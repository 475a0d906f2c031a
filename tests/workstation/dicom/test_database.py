"""The SQLite index: schema, idempotent inserts, and what the browser queries return."""

from __future__ import annotations

import sqlite3

import pytest

from workstation.dicom.database import SCHEMA_VERSION, Database, DatabaseError, index_row
from workstation.dicom.headers import InstanceHeader
from workstation.model.records import IndexCounts


def _header(sop: str, series: str = "9.1.1", study: str = "9.1", **values) -> InstanceHeader:
    defaults = {
        "path": f"/data/{sop}.dcm",
        "sop_class_uid": "1.2.840.10008.5.1.4.1.1.2",
        "transfer_syntax_uid": "1.2.840.10008.1.2.1",
        "patient_id": "P1",
        "patient_name": "Doe^Jane",
        "study_uid": study,
        "series_uid": series,
        "modality": "CT",
        "rows": 512,
        "columns": 512,
    }
    return InstanceHeader(sop_instance_uid=sop, **(defaults | values))


def _add(db: Database, *headers: InstanceHeader) -> int:
    return db.add([index_row(header, header.path) for header in headers])


def test_new_database_uses_wal_and_records_its_schema_version(tmp_path):
    path = tmp_path / "new" / "halong.sqlite"
    with Database.open(path) as db:
        assert db.counts() == IndexCounts(0, 0, 0, 0)
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert raw.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    raw.close()
    with Database.open(path):  # reopening neither fails nor adds a second version row
        pass
    raw = sqlite3.connect(path)
    assert raw.execute("SELECT COUNT(*) FROM schema_version").fetchone() == (1,)
    raw.close()


def test_database_from_a_newer_halong_is_refused(tmp_path):
    path = tmp_path / "halong.sqlite"
    Database.open(path).close()
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    raw.close()
    with pytest.raises(DatabaseError, match=f"schema version {SCHEMA_VERSION + 1}"):
        Database.open(path)


def test_a_file_that_is_no_database_is_reported_clearly(tmp_path):
    path = tmp_path / "halong.sqlite"
    path.write_text("these are my notes, not a database\n" * 100)
    with pytest.raises(DatabaseError, match="cannot use the Halong database"):
        Database.open(path)


def test_adding_counts_only_new_instances_and_fills_every_level(tmp_path):
    headers = [
        _header("9.1.1.1"),
        _header("9.1.1.2"),
        _header("9.1.2.1", series="9.1.2"),
        _header("9.2.1.1", series="9.2.1", study="9.2", patient_id="P2", patient_name="Roe^R"),
    ]
    with Database.open(tmp_path / "halong.sqlite") as db:
        assert _add(db, *headers) == 4
        assert _add(db, *headers) == 0
        assert _add(db, headers[0], _header("9.1.1.3")) == 1
        assert db.counts() == IndexCounts(patients=2, studies=2, series=3, instances=5)
        assert db.contains("9.1.1.3")
        assert not db.contains("9.1.1.4")


def test_later_files_fill_blank_values_but_never_move_a_study(tmp_path):
    with Database.open(tmp_path / "halong.sqlite") as db:
        _add(db, _header("9.1.1.1", study_description="", body_part=""))
        _add(
            db,
            _header("9.1.1.2", study_description="CT CHEST", body_part="CHEST"),
            _header("9.1.1.3", study_description="OTHER", body_part="HEAD", patient_id="P9"),
        )
        (study,) = db.studies()
        (series,) = db.series()
    assert (study.patient_id, study.study_description) == ("P1", "CT CHEST")
    assert series.body_part == "CHEST"


def test_series_geometry_is_that_of_the_lowest_instance_number(tmp_path):
    with Database.open(tmp_path / "halong.sqlite") as db:
        _add(
            db,
            _header("9.1.1.7", instance_number=7, rows=256, columns=256, number_of_frames=2),
            _header("9.1.1.3", instance_number=3, rows=512, columns=400, pixel_spacing=(0.5, 0.6)),
            _header("9.1.1.9", instance_number=None, rows=64, columns=64),
        )
        (series,) = db.series()
        instances = db.instances("9.1.1")
    assert (series.instance_count, series.frame_count) == (3, 4)
    assert (series.rows, series.columns, series.pixel_spacing) == (512, 400, (0.5, 0.6))
    assert [i.sop_instance_uid for i in instances] == ["9.1.1.3", "9.1.1.7", "9.1.1.9"]


def test_instances_keep_path_syntax_class_and_geometry(tmp_path):
    header = _header(
        "9.1.1.1",
        instance_number=12,
        image_position=(-100.5, 20.0, 33.25),
        image_orientation=(1.0, 0.0, 0.0, 0.0, 0.0, -1.0),
        pixel_spacing=(0.7, 0.9),
        slice_thickness=2.5,
        transfer_syntax_uid="1.2.840.10008.1.2.4.50",
        sop_class_uid="1.2.840.10008.5.1.4.1.1.4",
    )
    with Database.open(tmp_path / "halong.sqlite") as db:
        db.add([index_row(header, "/elsewhere/file.dcm")])
        (instance,) = db.instances("9.1.1")
    assert instance.path == "/elsewhere/file.dcm"
    assert instance.instance_number == 12
    assert instance.image_position == (-100.5, 20.0, 33.25)
    assert instance.image_orientation == (1.0, 0.0, 0.0, 0.0, 0.0, -1.0)
    assert (instance.pixel_spacing, instance.slice_thickness) == ((0.7, 0.9), 2.5)
    assert instance.transfer_syntax_uid == "1.2.840.10008.1.2.4.50"
    assert instance.sop_class_uid == "1.2.840.10008.5.1.4.1.1.4"


def test_studies_are_listed_newest_first_with_their_counts(tmp_path):
    with Database.open(tmp_path / "halong.sqlite") as db:
        _add(
            db,
            _header("9.1.1.1", study_date="20200101"),
            _header("9.1.2.1", series="9.1.2", modality="PT", study_date="20200101"),
            _header("9.1.2.2", series="9.1.2", modality="PT", study_date="20200101"),
            _header("9.2.1.1", series="9.2.1", study="9.2", study_date="20230505"),
        )
        studies = db.studies()
        assert [s.series_uid for s in db.series("9.1")] == ["9.1.1", "9.1.2"]
        assert db.series("no.such.study") == []
    assert [s.study_uid for s in studies] == ["9.2", "9.1"]
    assert (studies[1].series_count, studies[1].instance_count) == (2, 3)
    assert studies[1].modalities == ("CT", "PT")
