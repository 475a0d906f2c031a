"""The audit trail's hash chain: every record sealed and naming the one before it, across
monthly files, kept whole by two processes writing at once and after a crash."""

from __future__ import annotations

import multiprocessing
from multiprocessing.synchronize import Barrier
from pathlib import Path

from support.audit_trails import FEBRUARY, JANUARY, event_code, read_chain, write_small_trail

from workstation.net import audit
from workstation.net.audit_verify import verify

RECORDS_PER_PROCESS = 40


def test_every_record_is_sealed_and_names_the_one_before_it_across_monthly_files(tmp_path):
    folder = tmp_path / "audit"
    write_small_trail(folder)

    records = read_chain(folder)  # asserts every seal and link

    assert [(r.file, r.line) for r in records] == [
        ("audit-2025-01.log", 1),
        ("audit-2025-01.log", 2),
        ("audit-2025-01.log", 3),
        ("audit-2025-02.log", 1),
        ("audit-2025-02.log", 2),
        ("audit-2025-02.log", 3),
    ]
    assert records[3].previous == records[2].seal  # February chains to January's last
    head = (folder / "chain-head.json").read_text()
    assert '"records": 6' in head and records[-1].seal.hex() in head
    assert verify(folder).ok


def test_a_late_record_goes_into_the_newest_file_so_the_order_stays(tmp_path):
    trail = audit.AuditTrail(tmp_path / "audit")
    user = (audit.Participant("bs.lan", True),)
    trail.record(audit.AuditEvent(audit.QUERY, "E", user, when=FEBRUARY))
    trail.record(audit.AuditEvent(audit.EXPORT, "R", user, when=JANUARY))

    assert [p.name for p in sorted(trail.folder.glob("audit-*.log"))] == ["audit-2025-02.log"]
    assert [event_code(r.message) for r in read_chain(trail.folder)] == ["110112", "110106"]


def _record_many(folder: Path, tag: str, start: Barrier) -> None:
    trail = audit.AuditTrail(folder, source_id=f"halong@{tag}")
    start.wait()
    for index in range(RECORDS_PER_PROCESS):
        audit.record_study_opened(trail, patient_id=f"{tag}-{index}", study_uid="1.2.3")


def test_two_processes_appending_at_once_keep_one_chain(tmp_path):
    folder = tmp_path / "audit"
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(2)
    writers = [
        context.Process(target=_record_many, args=(folder, tag, start)) for tag in ("A", "B")
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    assert [writer.exitcode for writer in writers] == [0, 0]

    records = read_chain(folder)
    assert len(records) == 2 * RECORDS_PER_PROCESS
    patients = [
        r.message.find("ParticipantObjectIdentification").get("ParticipantObjectID")
        for r in records
    ]
    for tag in ("A", "B"):  # each process's records all there, in its own order
        assert [p for p in patients if p.startswith(tag)] == [
            f"{tag}-{i}" for i in range(RECORDS_PER_PROCESS)
        ]
    verdict = verify(folder)
    assert verdict.ok and verdict.records == 2 * RECORDS_PER_PROCESS


def test_a_record_cut_short_by_a_crash_is_named_and_recording_goes_on(tmp_path):
    trail = audit.AuditTrail(tmp_path / "audit")
    audit.record_login(trail, user="bs.lan")
    whole = audit.record_login(trail, user="bs.lan", logout=True)
    (path,) = trail.folder.glob("audit-*.log")
    with open(path, "ab") as file:  # what a crash halfway through a write leaves
        file.write(whole.encode()[: len(whole) // 2])

    audit.record_study_opened(trail, patient_id="PAT-A", study_uid="1.2.3")

    lines = path.read_bytes().split(b"\n")
    assert len(lines) == 5 and lines[-1] == b""  # the fragment kept on a line of its own
    assert lines[3].startswith(b"<AuditMessage>") and b"PAT-A" in lines[3]
    verdict = verify(trail.folder)
    assert (verdict.broken.place.line, verdict.broken.kind) == (3, "changed")


def test_records_cut_off_the_end_stay_missing_after_the_next_record(tmp_path):
    """The head remembers how many there were, so a new record cannot hide the gap."""
    trail = audit.AuditTrail(tmp_path / "audit")
    for _ in range(3):
        audit.record_login(trail, user="bs.lan")
    (path,) = trail.folder.glob("audit-*.log")
    path.write_bytes(b"".join(path.read_bytes().splitlines(keepends=True)[:2]))

    audit.record_login(trail, user="bs.lan", logout=True)

    broken = verify(trail.folder).broken
    assert (broken.place.line, broken.kind) == (3, "deleted")
    assert "record 3 is missing" in broken.detail


def test_an_empty_trail_is_whole(tmp_path):
    verdict = verify(tmp_path / "nothing-yet")
    assert verdict.ok and verdict.records == 0
