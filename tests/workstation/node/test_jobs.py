"""The job table keeps its promises across connections, as across node restarts: a series
runs once, a job left running is queued again with its result folder, requeue runs anew."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from workstation.node.jobs import JobError, JobTable, requeue

SERIES = "1.2.826.0.1.3680043.10.511.7.1"


def _add(table: JobTable, series_uid: str = SERIES):
    return table.add(
        series_uid=series_uid,
        study_uid="1.2.826.0.1.3680043.10.511.7",
        patient_id="PAT-7",
        workflow="perfusion",
        rule="ct-perfusion",
        last_instance_at=1000.0,
    )


def _status(database: Path) -> list[tuple]:
    """The rows as another process sees them (plain SQL, a new connection)."""
    with sqlite3.connect(database) as connection:
        return connection.execute(
            "SELECT series_uid, status, runs, result_folder, reason FROM jobs ORDER BY id"
        ).fetchall()


def test_the_same_series_twice_is_one_job(tmp_path: Path) -> None:
    database = tmp_path / "node.sqlite"
    with JobTable.open(database) as table:
        assert _add(table) is not None
    with JobTable.open(database) as table:  # the series completes again, after a restart
        assert _add(table) is None
        assert _add(table, SERIES + ".2") is not None
    assert [row[:2] for row in _status(database)] == [(SERIES, "queued"), (SERIES + ".2", "queued")]


def test_a_job_left_running_by_a_dead_node_is_queued_again_with_its_folder(tmp_path) -> None:
    database, folder = tmp_path / "node.sqlite", tmp_path / "results" / "perfusion-1"
    with JobTable.open(database) as table:
        job = _add(table)
        table.start(job.id, folder)
        table.set_worker(job.id, "process 1234")
    # the node dies here; the next one starts:
    with JobTable.open(database) as table:
        assert table.recover("the node stopped while it ran") == [job.id]
        again = table.next_queued()
        assert again.id == job.id and again.result_folder == str(folder)
        table.start(job.id, folder)
        table.finish(job.id, [1, 2, 3])
    # done, and still saying why it ran twice
    assert _status(database) == [(SERIES, "done", 2, str(folder), "the node stopped while it ran")]


def test_requeue_runs_a_finished_job_again_into_a_new_folder(tmp_path: Path) -> None:
    database = tmp_path / "node.sqlite"
    with JobTable.open(database) as table:
        job = _add(table)
        with pytest.raises(JobError, match="queued already"):
            table.requeue(SERIES)
        table.start(job.id, tmp_path / "first")
        table.fail(job.id, "the worker process was killed by SIGKILL", result_folder=None)
    assert _status(database)[0][1:] == (
        "failed",
        1,
        None,
        "the worker process was killed by SIGKILL",
    )
    requeue(database, SERIES)
    assert _status(database)[0][1:] == ("queued", 1, None, "queued again on request")
    with pytest.raises(JobError, match="no job for series"):
        requeue(database, "1.2.3")


def test_halong_node_requeue_forces_a_finished_series_to_run_again(halong, halong_home) -> None:
    database = halong_home / "node" / "node.sqlite"
    with JobTable.open(database) as table:
        job = _add(table)
        table.start(job.id, halong_home / "results" / "first")
        table.finish(job.id, [])

    assert halong("node", "requeue", SERIES).status == 0
    (listed,) = halong("node", "jobs", "--json").json()
    assert (listed["status"], listed["result_folder"]) == ("queued", None)
    assert "queued" in halong("node", "jobs").out

    again = halong("node", "requeue", SERIES)
    assert again.status == 2 and "is queued already" in again.err
    assert "Traceback" not in again.err
    unknown = halong("node", "requeue", "1.2.3")
    assert unknown.status == 2 and "no job for series 1.2.3" in unknown.err
