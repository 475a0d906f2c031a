"""The local index of DICOM files: patients, studies, series and instances in SQLite.

The files stay where they are (or in Halong's store); the database only remembers
where each instance lives and the header values a study browser shows, so listing
thousands of studies never opens a DICOM file. SOP Instance UIDs are the keys, which
makes indexing the same file twice a no-op. WAL mode lets the viewer read while an
import writes.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

from workstation.dicom.headers import InstanceHeader
from workstation.model.records import IndexCounts, InstanceRecord, SeriesRecord, StudyRecord

#: Bump when the tables change, and teach :func:`_check_schema` to migrate.
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS patients (
    patient_id TEXT NOT NULL,
    patient_name TEXT NOT NULL,
    patient_birth_date TEXT NOT NULL,
    patient_sex TEXT NOT NULL,
    PRIMARY KEY (patient_id, patient_name)
);
CREATE TABLE IF NOT EXISTS studies (
    study_uid TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL,
    patient_name TEXT NOT NULL,
    accession_number TEXT NOT NULL,
    study_date TEXT NOT NULL,
    study_time TEXT NOT NULL,
    study_description TEXT NOT NULL,
    FOREIGN KEY (patient_id, patient_name) REFERENCES patients (patient_id, patient_name)
);
CREATE INDEX IF NOT EXISTS studies_by_patient ON studies (patient_id, patient_name);
CREATE TABLE IF NOT EXISTS series (
    series_uid TEXT PRIMARY KEY,
    study_uid TEXT NOT NULL REFERENCES studies (study_uid),
    modality TEXT NOT NULL,
    series_number INTEGER,
    series_description TEXT NOT NULL,
    body_part TEXT NOT NULL,
    frame_of_reference_uid TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS series_by_study ON series (study_uid);
CREATE TABLE IF NOT EXISTS instances (
    sop_instance_uid TEXT PRIMARY KEY,
    series_uid TEXT NOT NULL REFERENCES series (series_uid),
    sop_class_uid TEXT NOT NULL,
    transfer_syntax_uid TEXT NOT NULL,
    instance_number INTEGER,
    path TEXT NOT NULL,
    rows INTEGER NOT NULL,
    columns INTEGER NOT NULL,
    number_of_frames INTEGER NOT NULL,
    pixel_spacing TEXT,      -- JSON [row spacing, column spacing] in mm
    slice_thickness REAL,
    image_orientation TEXT,  -- JSON [6 direction cosines]
    image_position TEXT      -- JSON [x, y, z] in patient LPS mm
);
CREATE INDEX IF NOT EXISTS instances_by_series ON instances (series_uid, instance_number);
"""

# Header fields stored as they are; the tuple-valued ones are stored as JSON text.
_PLAIN_FIELDS = (
    "patient_id",
    "patient_name",
    "patient_birth_date",
    "patient_sex",
    "study_uid",
    "accession_number",
    "study_date",
    "study_time",
    "study_description",
    "series_uid",
    "modality",
    "series_number",
    "series_description",
    "body_part",
    "frame_of_reference_uid",
    "sop_instance_uid",
    "sop_class_uid",
    "transfer_syntax_uid",
    "instance_number",
    "rows",
    "columns",
    "number_of_frames",
    "slice_thickness",
)
_JSON_FIELDS = ("pixel_spacing", "image_orientation", "image_position")


def _upsert(table: str, key: Sequence[str], fixed: Sequence[str], fillable: Sequence[str]) -> str:
    """INSERT that, for a known key, keeps ``fixed`` and only fills blank ``fillable`` values."""
    columns = [*key, *fixed, *fillable]
    fill = ", ".join(f"{name} = COALESCE(NULLIF({name}, ''), excluded.{name})" for name in fillable)
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) "
        f"VALUES ({', '.join(':' + name for name in columns)}) "
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {fill}"
    )


_ADD_PATIENT = _upsert(
    "patients", ("patient_id", "patient_name"), (), ("patient_birth_date", "patient_sex")
)
_ADD_STUDY = _upsert(
    "studies",
    ("study_uid",),
    ("patient_id", "patient_name"),
    ("accession_number", "study_date", "study_time", "study_description"),
)
_ADD_SERIES = _upsert(
    "series",
    ("series_uid",),
    ("study_uid",),
    ("modality", "series_number", "series_description", "body_part", "frame_of_reference_uid"),
)
_INSTANCE_COLUMNS = (
    "sop_instance_uid",
    "series_uid",
    "sop_class_uid",
    "transfer_syntax_uid",
    "instance_number",
    "path",
    "rows",
    "columns",
    "number_of_frames",
    *("pixel_spacing", "slice_thickness", "image_orientation", "image_position"),
)
_ADD_INSTANCE = (
    f"INSERT OR IGNORE INTO instances ({', '.join(_INSTANCE_COLUMNS)}) "
    f"VALUES ({', '.join(':' + name for name in _INSTANCE_COLUMNS)})"
)

_STUDIES = """
SELECT st.study_uid, p.patient_id, p.patient_name, p.patient_birth_date, p.patient_sex,
       st.accession_number, st.study_date, st.study_time, st.study_description,
       GROUP_CONCAT(DISTINCT NULLIF(se.modality, '')) AS modalities,
       COUNT(DISTINCT se.series_uid) AS series_count,
       COUNT(i.sop_instance_uid) AS instance_count
FROM studies st
JOIN patients p USING (patient_id, patient_name)
JOIN series se ON se.study_uid = st.study_uid
JOIN instances i ON i.series_uid = se.series_uid
GROUP BY st.study_uid
ORDER BY st.study_date DESC, st.study_time DESC, st.study_uid
"""

_SERIES = """
SELECT s.series_uid, s.study_uid, s.modality, s.series_number, s.series_description,
       s.body_part, s.frame_of_reference_uid,
       (SELECT COUNT(*) FROM instances WHERE series_uid = s.series_uid) AS instance_count,
       (SELECT SUM(number_of_frames) FROM instances WHERE series_uid = s.series_uid)
           AS frame_count,
       first.rows, first.columns, first.pixel_spacing, first.slice_thickness,
       first.image_orientation
FROM series s
JOIN instances first ON first.rowid = (
    SELECT rowid FROM instances WHERE series_uid = s.series_uid
    ORDER BY instance_number IS NULL, instance_number, rowid LIMIT 1
)
WHERE :study_uid IS NULL OR s.study_uid = :study_uid
ORDER BY s.study_uid, s.series_number IS NULL, s.series_number, s.series_uid
"""

_INSTANCES = f"""
SELECT {", ".join(_INSTANCE_COLUMNS)} FROM instances WHERE series_uid = ?
ORDER BY instance_number IS NULL, instance_number, rowid
"""


class DatabaseError(Exception):
    """The database cannot be opened or used; the message says why, for the user."""


IndexRow = dict[str, Any]


def index_row(header: InstanceHeader, path: str) -> IndexRow:
    """The values one instance contributes to all four levels, ready for :meth:`Database.add`.

    Small and detached from the parsed dataset, so an importer can hold a batch of them.
    """
    row: IndexRow = {name: getattr(header, name) for name in _PLAIN_FIELDS}
    for name in _JSON_FIELDS:
        value = getattr(header, name)
        row[name] = None if value is None else json.dumps(list(value))
    row["path"] = path
    return row


def _decode(row: sqlite3.Row) -> dict[str, Any]:
    values = dict(row)
    for name in _JSON_FIELDS:
        if name in values:
            text = values[name]
            values[name] = None if text is None else tuple(json.loads(text))
    return values


class Database:
    """An open connection to the index; use as a context manager to close it."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._connection = connection
        self.path = path

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Self:
        """Open (creating if needed) the database file at ``path``."""
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(path, timeout=10.0)
        except (sqlite3.Error, OSError) as error:
            raise DatabaseError(f"cannot open the Halong database {path}: {error}") from error
        try:
            connection.row_factory = sqlite3.Row
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")
            connection.execute("PRAGMA foreign_keys = ON")
            _check_schema(connection)
        except sqlite3.Error as error:
            connection.close()
            raise DatabaseError(f"cannot use the Halong database {path}: {error}") from error
        except DatabaseError:
            connection.close()
            raise
        return cls(connection, path)

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def _failing_as(self, action: str) -> Iterator[None]:
        """Turn SQLite's errors (locked, disk full, corrupt) into one clear DatabaseError."""
        try:
            yield
        except sqlite3.Error as error:
            message = f"cannot {action} the Halong database {self.path}: {error}"
            raise DatabaseError(message) from error

    def contains(self, sop_instance_uid: str) -> bool:
        """Whether an instance with this SOP Instance UID is already indexed."""
        query = "SELECT 1 FROM instances WHERE sop_instance_uid = ?"
        with self._failing_as("read"):
            return self._connection.execute(query, (sop_instance_uid,)).fetchone() is not None

    def add(self, rows: Sequence[IndexRow]) -> int:
        """Index a batch of :func:`index_row` rows in one transaction; return how many were new."""
        # Every row goes through the upserts in file order: the first non-blank value wins.
        with self._failing_as("write to"), self._connection:
            self._connection.executemany(_ADD_PATIENT, rows)
            self._connection.executemany(_ADD_STUDY, rows)
            self._connection.executemany(_ADD_SERIES, rows)
            return self._connection.executemany(_ADD_INSTANCE, rows).rowcount

    def studies(self) -> list[StudyRecord]:
        """All studies, newest first, with their series and instance counts."""
        records = []
        with self._failing_as("read"):
            rows = self._connection.execute(_STUDIES).fetchall()
        for row in rows:
            values = dict(row)
            modalities = (values["modalities"] or "").split(",")
            values["modalities"] = tuple(sorted(filter(None, modalities)))
            records.append(StudyRecord(**values))
        return records

    def series(self, study_uid: str | None = None) -> list[SeriesRecord]:
        """The series of one study, or of all studies, in series-number order."""
        with self._failing_as("read"):
            rows = self._connection.execute(_SERIES, {"study_uid": study_uid}).fetchall()
        return [SeriesRecord(**_decode(row)) for row in rows]

    def instances(self, series_uid: str) -> list[InstanceRecord]:
        """The instances of one series in instance-number order."""
        with self._failing_as("read"):
            rows = self._connection.execute(_INSTANCES, (series_uid,)).fetchall()
        return [InstanceRecord(**_decode(row)) for row in rows]

    def counts(self) -> IndexCounts:
        """How many patients, studies, series and instances are indexed."""
        tables = ("patients", "studies", "series", "instances")
        query = " UNION ALL ".join(f"SELECT COUNT(*) FROM {table}" for table in tables)
        with self._failing_as("read"):
            numbers = [row[0] for row in self._connection.execute(query)]
        return IndexCounts(*numbers)


def _check_schema(connection: sqlite3.Connection) -> None:
    """Create the tables in a new database; refuse one written by a newer Halong."""
    connection.executescript(
        f"BEGIN IMMEDIATE; {_SCHEMA}"
        f"INSERT INTO schema_version SELECT {SCHEMA_VERSION} "
        "WHERE NOT EXISTS (SELECT 1 FROM schema_version); COMMIT;"
    )
    (version,) = connection.execute("SELECT MAX(version) FROM schema_version").fetchone()
    if version != SCHEMA_VERSION:
        raise DatabaseError(
            f"the database has schema version {version}, this Halong reads version "
            f"{SCHEMA_VERSION}; use the Halong version that wrote it"
        )
