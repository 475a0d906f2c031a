"""What a crash costs the node: nothing. A node killed with SIGKILL mid-analysis takes its
worker with it and, once restarted, finishes the job once and sends its results once; a
job whose workflow raises, or whose worker is killed, fails alone with its reason and
the next job runs; a failed job runs again when requeued.

The scanner is dcmtk's storescu, the PACS an Orthanc; the node's state is read from its
database with plain SQL, the PACS's from its REST API, the outbox's from its tables.
"""

from __future__ import annotations

import io
import json
import os
import signal
from pathlib import Path

import httpx
import numpy as np
import pydicom
import pytest
from support.lung_studies import write_lung_studies
from support.net_fixtures import assert_each_delivered_once, wait_for
from support.node_runs import (
    NodeProcess,
    jobs,
    node_values,
    pacs_series,
    running_node,
    send_folder,
    wait_for_jobs,
)
from support.perfusion_studies import write_ctp_phantom

from workstation.dicom.image_writer import SeriesInfo, write_volume
from workstation.model.volume import Volume
from workstation.node.jobs import requeue
from workstation.node.routing import default_rules_path

pytestmark = pytest.mark.slow  # a real Orthanc, worker processes, the engines

PERFUSION_OBJECTS = 11  # summary, and a colour capture and a Parametric Map of 5 maps
#: The perfusion engine's stages between loading the series and writing the result.
ANALYSING = {
    "finding the bolus arrival",
    "checking head motion",
    "finding brain tissue",
    "choosing the arterial and venous curves",
    "computing perfusion maps",
    "measuring core and hypoperfusion",
}


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie left for a reaper counts as dead)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def _running_worker(home: Path, stages: set[str] | None = None) -> int:
    """The process ID of the worker of the first running job, once it runs (and, with
    ``stages``, has reached one of them)."""

    def worker() -> int | None:
        running = [row for row in jobs(home) if row["status"] == "running" and row["worker"]]
        if not running or (stages is not None and running[0]["stage"] not in stages):
            return None
        return int(running[0]["worker"].split()[-1])

    wait_for(worker, 240, "a job to run")
    return worker()


def test_a_node_killed_mid_analysis_finishes_the_job_once_after_a_restart(
    orthanc, halong_scp_port, tmp_path: Path
) -> None:
    ctp = write_ctp_phantom(tmp_path / "ctp")
    home = tmp_path / "home"
    node = NodeProcess(home, node_values(halong_scp_port, orthanc), tmp_path / "node.log")
    node.start(halong_scp_port)
    send_folder(ctp.folder, halong_scp_port)
    worker = _running_worker(home, ANALYSING)

    node.kill()
    wait_for(lambda: not _alive(worker), what="the worker to die with its node")
    assert [row["status"] for row in jobs(home)] == ["running"]  # as the dead node left it

    node.start(halong_scp_port)
    (job,) = wait_for_jobs(home, 1)
    assert node.stop() == 0, (tmp_path / "node.log").read_text()

    assert (job["status"], job["runs"]) == ("done", 2)
    (folder,) = (home / "results" / ctp.study_uid).iterdir()  # one result, written once
    assert str(folder) == job["result_folder"]
    manifest = json.loads((folder / "manifest.json").read_text())
    objects = [folder / name for name in manifest["files"] if name.endswith(".dcm")]
    keys = {pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID for path in objects}
    uids = orthanc.sop_instance_uids()
    assert len(keys) == PERFUSION_OBJECTS and sorted(uids) == sorted(keys)
    assert_each_delivered_once(home / "outbox", keys)


def test_a_failing_workflow_and_a_killed_worker_fail_alone_and_the_next_job_runs(
    orthanc, halong_scp_port, tmp_path: Path
) -> None:
    rules = json.loads(default_rules_path().read_text())
    wrong = {"series_description": "^NOT A PERFUSION$"}
    rules["rules"].insert(0, {"name": "wrong", "workflow": "perfusion", "match": wrong})
    (tmp_path / "rules.json").write_text(json.dumps(rules))
    flat = SeriesInfo(patient_id="PAT-9", series_description="NOT A PERFUSION")
    write_volume(Volume(np.zeros((24, 32, 32), np.int16), modality="CT"), tmp_path / "3d", flat)
    ctp = write_ctp_phantom(tmp_path / "ctp")
    lung = write_lung_studies(tmp_path / "chest")
    home = tmp_path / "home"
    values = node_values(halong_scp_port, orthanc, rules=str(tmp_path / "rules.json"))

    with running_node(home, values):
        send_folder(tmp_path / "3d", halong_scp_port)
        send_folder(ctp.folder, halong_scp_port)
        os.kill(_running_worker(home, ANALYSING), signal.SIGKILL)  # the perfusion job's
        send_folder(lung.current, halong_scp_port)
        first = wait_for_jobs(home, 3)
        requeue(home / "node" / "node.sqlite", first[1]["series_uid"])
        again = wait_for_jobs(home, 3)

    flat_job, perfusion_job, lung_job = first
    assert flat_job["status"] == "failed" and "no time-resolved (4D) series" in flat_job["reason"]
    assert not (home / "results" / flat.study_uid).exists() or not any(
        (home / "results" / flat.study_uid).iterdir()
    )  # nothing half-written kept
    assert perfusion_job["status"] == "failed"
    assert "killed by SIGKILL" in perfusion_job["reason"]
    assert lung_job["status"] == "done" and lung_job["workflow"] == "lung"
    assert [(row["status"], row["runs"]) for row in again] == [
        ("failed", 1),
        ("done", 2),
        ("done", 1),
    ]

    held = pacs_series(orthanc)
    (seg,) = held.pop("Lung nodules (AI, unverified)")
    (sr,) = held.pop("Lung nodules report (AI)")
    assert sum(map(len, held.values())) == PERFUSION_OBJECTS
    assert sr["VerificationFlag"] == "UNVERIFIED" and sr["PatientID"] == lung_job["patient_id"]
    document = json.loads((Path(lung_job["result_folder"]) / "lung.json").read_text())
    for truth in lung.truth:  # every nodule of the phantom was found where it is
        assert any(
            np.all(np.abs(np.subtract(truth.center_lps_mm, n["center_lps_mm"])) <= 2.0)
            for n in document["nodules"]
        ), truth
    assert _segments(orthanc, seg["SOPInstanceUID"]) == len(document["nodules"])


def _segments(pacs, sop_instance_uid: str) -> int:
    (match,) = httpx.post(f"{pacs.url}/tools/lookup", content=sop_instance_uid).json()
    data = httpx.get(f"{pacs.url}/instances/{match['ID']}/file").content
    return len(pydicom.dcmread(io.BytesIO(data)).SegmentSequence)
