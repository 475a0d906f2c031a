"""``halong audit verify`` and ``halong audit list`` as an auditor runs them: every kind of
tampering named where it is, and what the window and the import leave in the trail."""

from __future__ import annotations

import datetime as dt
import getpass
import os
import subprocess
import sys
from pathlib import Path

import pydicom
import pytest
from support.audit_trails import STUDY_UID, event_code, read_chain, write_small_trail
from support.net_fixtures import halong_scp_port, orthanc
from support.studies import write_series

__all__ = ["halong_scp_port", "orthanc"]  # fixtures used here

#: (file, line) of each record of the small trail, in the chain's order.
POSITIONS = [("audit-2025-01.log", n) for n in (1, 2, 3)] + [
    ("audit-2025-02.log", n) for n in (1, 2, 3)
]


@pytest.fixture
def trail(halong_home: Path) -> list[dict]:
    return write_small_trail(halong_home / "audit")


def _lines(home: Path) -> list[bytes]:
    """The stored lines in the chain's order, each with its newline."""
    files = sorted((home / "audit").glob("audit-*.log"))
    return [line for path in files for line in path.read_bytes().splitlines(keepends=True)]


def _store(home: Path, lines: list[bytes]) -> None:
    """Put ``lines`` back, the first three into January's file and the rest into February's."""
    (home / "audit" / "audit-2025-01.log").write_bytes(b"".join(lines[:3]))
    (home / "audit" / "audit-2025-02.log").write_bytes(b"".join(lines[3:]))


def _named(result, place: tuple[str, int], kind: str) -> None:
    assert result.status == 1, result.out + result.err
    assert f"broken: {place[0]} line {place[1]}: {kind}:" in result.out, result.out


def test_verify_says_ok_on_a_fresh_trail_across_two_monthly_files(halong, halong_home, trail):
    result = halong("audit", "verify")

    assert result.status == 0, result.out
    assert result.out.splitlines()[0] == "ok: 6 records"
    newest = read_chain(halong_home / "audit")[-1]
    assert f"newest record's SHA-256: {newest.seal.hex()}" in result.out


@pytest.mark.parametrize("index", range(6))
@pytest.mark.parametrize("where", ["start", "middle", "seal"])
def test_one_changed_byte_names_that_record(halong, halong_home, trail, index, where):
    lines = _lines(halong_home)
    line = bytearray(lines[index])
    offset = {"start": 1, "middle": len(line) // 2, "seal": len(line) - 80}[where]
    line[offset] = ord("X") if line[offset] != ord("X") else ord("Y")
    lines[index] = bytes(line)
    _store(halong_home, lines)

    _named(halong("audit", "verify"), POSITIONS[index], "changed")


@pytest.mark.parametrize("index", range(6))
def test_a_deleted_line_is_named(halong, halong_home, trail, index):
    month, line = POSITIONS[index]
    path = halong_home / "audit" / month
    stored = path.read_bytes().splitlines(keepends=True)
    del stored[line - 1]
    path.write_bytes(b"".join(stored))
    # named where the record after it now stands: the next line, or the next month's first
    place = POSITIONS[index + 1] if index == 2 else POSITIONS[index]

    result = halong("audit", "verify")

    _named(result, place, "deleted")
    assert f"record {index + 1} is missing" in result.out


@pytest.mark.parametrize("index", range(5))
def test_two_swapped_lines_are_out_of_order(halong, halong_home, trail, index):
    lines = _lines(halong_home)
    lines[index], lines[index + 1] = lines[index + 1], lines[index]
    _store(halong_home, lines)

    _named(halong("audit", "verify"), POSITIONS[index], "out of order")


@pytest.mark.parametrize("index", range(6))
def test_a_repeated_line_is_inserted(halong, halong_home, trail, index):
    lines = _lines(halong_home)
    path = halong_home / "audit" / POSITIONS[index][0]
    stored = path.read_bytes().splitlines(keepends=True)
    line = POSITIONS[index][1]
    stored.insert(line, lines[index])
    path.write_bytes(b"".join(stored))

    _named(halong("audit", "verify"), (POSITIONS[index][0], line + 1), "inserted")


@pytest.mark.parametrize("month", ["audit-2025-01.log", "audit-2025-02.log"])
@pytest.mark.parametrize("cut", [1, 30, "half"])
def test_a_last_line_cut_short_is_named(halong, halong_home, trail, month, cut):
    path = halong_home / "audit" / month
    data = path.read_bytes()
    last_line = data[:-1].rsplit(b"\n", 1)[1]
    path.write_bytes(data[: -(len(last_line) // 2 if cut == "half" else cut)])

    _named(halong("audit", "verify"), (month, 3), "changed")


def test_the_newest_record_removed_or_the_head_lost_is_named(halong, halong_home, trail):
    head = halong_home / "audit" / "chain-head.json"
    saved = head.read_bytes()
    head.unlink()
    _named(halong("audit", "verify"), ("chain-head.json", 1), "deleted")

    head.write_bytes(saved.replace(b'"records": 6', b'"records": 5'))
    _named(halong("audit", "verify"), ("audit-2025-02.log", 3), "inserted")

    newest = read_chain(halong_home / "audit")[-1].seal.hex()
    head.write_bytes(saved.replace(newest.encode(), b"0" * 64))
    _named(halong("audit", "verify"), ("audit-2025-02.log", 3), "changed")


def test_list_shows_every_record_as_it_was_made(halong, trail):
    listed = halong("audit", "list", "--json").json()

    assert [
        {key: entry[key] for key in ("event_code", "action", "user", "patients", "outcome")}
        | {"studies": entry["studies"], "time": dt.datetime.fromisoformat(entry["time"])}
        for entry in listed
    ] == [
        {key: fact[key] for key in ("event_code", "action", "user", "patients", "outcome")}
        | {"studies": fact["studies"], "time": fact["time"]}
        for fact in trail
    ]
    assert [entry["number"] for entry in listed] == [1, 2, 3, 4, 5, 6]
    assert listed[0]["event_types"] == ["Application Start"]


def test_list_filters_by_day_and_patient_and_prints_a_table(halong, trail):
    february = halong("audit", "list", "--json", "--since", "2025-02-01").json()
    assert [entry["event_code"] for entry in february] == ["110110", "110106", "110100"]

    about_b = halong("audit", "list", "--json", "--patient", "PAT-B").json()
    assert [(entry["event_code"], entry["patients"]) for entry in about_b] == [
        ("110103", ["PAT-B"])
    ]

    table = halong("audit", "list", "--patient", "PAT-A")
    assert table.status == 0
    header, *rows = table.out.splitlines()
    assert header.split() == ["Time", "Event", "Action", "User", "Patient", "Study", "Outcome"]
    assert len(rows) == 3 and all(STUDY_UID in row for row in rows)
    assert "Patient Record: Author's Signature" in rows[1] and "minor failure" in rows[2]


def test_a_bad_date_is_one_clear_line(halong, trail):
    result = halong("audit", "list", "--since", "yesterday")
    assert result.status == 2
    assert "expected a date YYYY-MM-DD, not 'yesterday'" in result.err


def test_import_records_its_source_and_counts(halong, halong_home, tmp_path):
    series = write_series(
        tmp_path / "ct",
        patient_name="Audit^Import",
        patient_id="PAT-IMP",
        description="CT CHEST",
        accession="ACC-9",
        shape=(6, 16, 16),
    )
    assert halong("import", series.folder).status == 0

    (record,) = read_chain(halong_home / "audit")
    assert event_code(record.message) == "110107"
    media = [
        p
        for p in record.message.iter("ActiveParticipant")
        if p.find("RoleIDCode").get("csd-code") == "110155"
    ]
    assert [p.get("UserID") for p in media] == [series.folder.absolute().as_uri()]
    description = record.message.find("EventIdentification/EventOutcomeDescription").text
    assert description.startswith("6 instances indexed (6 new, 0 already indexed)")
    assert halong("audit", "verify").out.startswith("ok: 1 record\n")


def test_query_and_retrieve_are_recorded_with_the_pacs_and_the_study(
    halong, halong_home, orthanc, tmp_path
):
    series = write_series(
        tmp_path / "ct",
        patient_name="Audit^Retrieve",
        patient_id="PAT-RET",
        description="CT HEAD",
        accession="ACC-7",
        shape=(3, 8, 8),
    )
    for path in sorted(series.folder.iterdir()):
        orthanc.upload(path)
    pacs = ["--dicomweb", orthanc.dicomweb_url]
    assert halong("query", *pacs, "--patient-id", "PAT-RET").status == 0
    assert halong("retrieve", series.study_uid, *pacs).status == 0

    listed = halong("audit", "list", "--json").json()

    assert [entry["event_code"] for entry in listed] == ["110112", "110104"]
    assert listed[1]["studies"] == [series.study_uid]
    query, retrieve = (record.message for record in read_chain(halong_home / "audit"))
    assert orthanc.dicomweb_url in {p.get("UserID") for p in query.iter("ActiveParticipant")}
    details = retrieve.find("ParticipantObjectIdentification/ParticipantObjectDetail")
    assert details.get("type") == "NumberOfInstances" and details.get("value") == "Mw=="  # 3


@pytest.mark.gui
@pytest.mark.slow
def test_view_leaves_a_study_opened_record_between_start_and_stop(halong, halong_home, tmp_path):
    series = write_series(
        tmp_path / "ct",
        patient_name="Audit^View",
        patient_id="PAT-VIEW",
        description="CT CHEST",
        accession="ACC-8",
        shape=(20, 32, 32),
    )
    written = pydicom.dcmread(next(series.folder.iterdir()), stop_before_pixels=True)
    environment = dict(os.environ, HALONG_HOME=str(halong_home))
    environment["HALONG_SETTINGS_DIR"] = str(tmp_path / "settings")
    screenshot = tmp_path / "shot.png"
    arguments = ["view", str(series.folder), "--screenshot", str(screenshot), "--size", "800x600"]
    view = subprocess.run(
        [sys.executable, "-m", "workstation.cli", *arguments],
        capture_output=True,
        text=True,
        timeout=300,
        env=environment,
    )
    assert view.returncode == 0, view.stderr

    listed = halong("audit", "list", "--json").json()

    assert [(e["event_code"], e["event_types"]) for e in listed] == [
        ("110100", ["Application Start"]),
        ("110103", []),
        ("110100", ["Application Stop"]),
    ]
    opened = listed[1]
    assert opened["patients"] == [written.PatientID] == ["PAT-VIEW"]
    assert opened["studies"] == [written.StudyInstanceUID]
    assert {e["user"] for e in listed} == {getpass.getuser()}
    assert halong("audit", "verify").status == 0
