"""The node's analyses as tasks on a real Ray cluster (a head and a second node on
loopback, started by ``ray start``), and the node without Ray on its process pool.

Ground truth: the perfusion phantom's volumes and the lung phantom's nodules, the PACS's
own copy of the results, Ray's process names for its workers.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from support.lung_studies import write_lung_studies
from support.net_fixtures import wait_for
from support.node_runs import (
    REPO_ROOT,
    jobs,
    node_values,
    pacs_series,
    running_node,
    send_folder,
    wait_for_jobs,
)
from support.perfusion_studies import write_ctp_phantom
from support.ray_cluster import local_ray_cluster

pytestmark = pytest.mark.slow  # a Ray cluster, real Orthanc, the engines

TOLERANCE = 0.10  # as the end-to-end test holds the perfusion engine to its truth
PERFUSION_OBJECTS = 11
RAY_TASK = "ray::_analyse_on_worker"


@pytest.fixture(scope="module")
def ray_address():
    with local_ray_cluster(nodes=2) as address:
        yield address


def _studies(root: Path):
    """A CT perfusion and a chest CT in one folder, sent in one go (so both series go
    quiet together and run at once)."""
    ctp = write_ctp_phantom(root / "send" / "ctp")
    lung = write_lung_studies(root / "chest")
    shutil.copytree(lung.current, root / "send" / "chest")
    return ctp, lung


def test_two_series_run_at_once_on_the_two_ray_nodes_and_reach_the_pacs(
    ray_address, orthanc, halong_scp_port, tmp_path: Path, caplog
) -> None:
    caplog.set_level(logging.INFO, logger="workstation.node.ray_executor")
    ctp, lung = _studies(tmp_path)
    home = tmp_path / "home"

    with running_node(home, node_values(halong_scp_port, orthanc, ray=ray_address, workers=2)):
        send_folder(tmp_path / "send", halong_scp_port)
        ended = wait_for_jobs(home, 2)

    assert sorted((row["workflow"], row["status"], row["runs"]) for row in ended) == [
        ("lung", "done", 1),
        ("perfusion", "done", 1),
    ]
    assert all(row["worker"].startswith("ray task ") for row in ended)
    ray_nodes = set(re.findall(r"analysed on Ray node (\w+)", caplog.text))
    assert len(ray_nodes) == 2, caplog.text  # one CPU each: the two ran side by side

    held = pacs_series(orthanc)
    assert (
        held.pop("Lung nodules (AI, unverified)")[0]["StudyInstanceUID"] == lung.current_study_uid
    )
    held.pop("Lung nodules report (AI)")
    assert sum(map(len, held.values())) == PERFUSION_OBJECTS
    (perfusion,) = [row for row in ended if row["workflow"] == "perfusion"]
    document = json.loads((Path(perfusion["result_folder"]) / "perfusion.json").read_text())
    truth = ctp.phantom
    assert abs(document["core_ml"] - truth.core_ml) <= TOLERANCE * truth.core_ml


def _ray_task_pid() -> int | None:
    done = subprocess.run(["pgrep", "-f", RAY_TASK], capture_output=True, text=True)
    pids = [int(pid) for pid in done.stdout.split()]
    return pids[0] if pids else None


def test_a_ray_worker_killed_mid_analysis_fails_its_job_alone(
    ray_address, orthanc, halong_scp_port, tmp_path: Path
) -> None:
    ctp = write_ctp_phantom(tmp_path / "ctp")
    lung = write_lung_studies(tmp_path / "chest")
    home = tmp_path / "home"

    with running_node(home, node_values(halong_scp_port, orthanc, ray=ray_address)):
        send_folder(ctp.folder, halong_scp_port)
        wait_for(_ray_task_pid, 240, "the Ray worker to run the perfusion")
        os.kill(_ray_task_pid(), signal.SIGKILL)
        wait_for(lambda: jobs(home) and jobs(home)[0]["status"] == "failed", 240, "the failure")
        send_folder(lung.current, halong_scp_port)
        perfusion, chest = wait_for_jobs(home, 2)

    assert perfusion["status"] == "failed"
    assert "the Ray worker running it died" in perfusion["reason"]
    assert (chest["workflow"], chest["status"]) == ("lung", "done")
    assert not any((home / "results" / ctp.study_uid).glob("*/manifest.json"))
    assert set(pacs_series(orthanc)) == {
        "Lung nodules (AI, unverified)",
        "Lung nodules report (AI)",
    }


#: Runs the node with ``import ray`` failing, as where Ray was never installed.
WITHOUT_RAY = (
    "import sys; sys.modules['ray'] = None; "
    "from workstation.cli import main; sys.exit(main(sys.argv[1:]))"
)


def _node_without_ray(home: Path, *options: str, log: Path) -> subprocess.Popen:
    command = [sys.executable, "-c", WITHOUT_RAY, "--home", str(home), "node", *options]
    with open(log, "ab") as output:
        return subprocess.Popen(command, cwd=REPO_ROOT, stdout=output, stderr=subprocess.STDOUT)


def test_without_ray_the_node_runs_on_its_process_pool_and_says_why_not_ray(
    orthanc, halong_scp_port, tmp_path: Path
) -> None:
    home, log = tmp_path / "home", tmp_path / "node.log"
    options = [
        *("--aet", "HALONG", "--port", str(halong_scp_port), "--listen", "127.0.0.1"),
        *("--http", "off", "--pacs", orthanc.node, "--allow", "STORESCU@127.0.0.1"),
        *("--stable-seconds", "1"),
    ]
    refused = _node_without_ray(home, *options, "--ray", "127.0.0.1:6379", log=log)
    assert refused.wait(timeout=120) == 2
    assert "Ray is not installed" in log.read_text() and "Traceback" not in log.read_text()

    ctp = write_ctp_phantom(tmp_path / "ctp")
    node = _node_without_ray(home, *options, log=log)
    try:
        wait_for(lambda: (home / "node" / "node.lock").exists(), 120, "the node to start")
        wait_for(lambda: _sends(ctp.folder, halong_scp_port), 120, "the node to listen")
        (job,) = wait_for_jobs(home, 1)
    finally:
        node.send_signal(signal.SIGTERM)
        assert node.wait(timeout=60) == 0, log.read_text()
    assert (job["status"], job["workflow"]) == ("done", "perfusion")
    assert job["worker"].startswith("process ")
    assert len(orthanc.sop_instance_uids()) == PERFUSION_OBJECTS


def _sends(folder: Path, port: int) -> bool:
    try:
        send_folder(folder, port)
    except AssertionError:  # not listening yet
        return False
    return True
