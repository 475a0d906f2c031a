"""Benchmark: a CT perfusion study sent to the triage node, until the alert and the PACS.

A real PACS (Orthanc on loopback, ``tests/support/orthanc_server.py``) and the node as
its own process (``python -m workstation.cli node``, as ``tests/support/node_runs.py``
starts it) with its web API on; dcmtk's ``storescu`` sends the synthetic stroke head
(``make_ctp_head``, 512 x 512 x 32 slices x 40 frames, 0.45 x 0.45 x 5 mm, 1.6 s frames:
1,280 single-frame CT files, the study of ``benchmarks/perfusion.py``) as a scanner does.

Timed from the moment ``storescu`` returns (its last C-STORE response):

* the alert appearing in ``GET /api/alerts`` (bearer token), and
* every result object of the job stored in the PACS (Orthanc's REST ``/statistics``),

with the breakdown read from the node's job table (``node/node.sqlite``: last instance,
queued, started, finished, sent), the alert table's ``created_at`` and the stage lines
the worker writes to ``logs/node.log``. The alert's core and Tmax > 6 s volumes are
checked against the phantom's truth, so a fast wrong answer cannot pass.

Throughput: ``--studies`` studies (different patients, study and series UIDs, the same
full size) sent at once, one ``storescu`` each as from that many scanners, to a fresh
node with ``--workers`` workers: wall time until the last result is in the PACS, and
studies per hour.

    python -m benchmarks.node [--quick] [--studies 10] [--workers 2] [--stable-seconds 5]
                              [--skip-single] [--tcp-nodelay] [--data DIR] [--keep] [--json]

``--studies 0`` skips the throughput run, ``--skip-single`` the one-study run; ``--data``
keeps the written studies for the next run; ``--keep`` keeps the PACS, the node's data
folder and its logs.

Goal on the 2-core reference machine: <= 15 s from the last C-STORE response to the alert
and to the results in the PACS. Peers as published: Viz.ai under 3 min (median), RAPID
5-7 min.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.append(str(REPO_ROOT / "tests"))  # tests/support: the Orthanc and node helpers

from support.node_runs import NodeProcess, storescu, table_rows  # noqa: E402
from support.orthanc_server import OrthancServer, find_orthanc, free_port  # noqa: E402
from support.perfusion_studies import SMALL_HEAD  # noqa: E402

GOAL_S = 15.0
#: Published peer figures, seconds from the scan to the result (vendor figures).
PEERS = {"Viz.ai (median)": (180.0, 180.0), "RAPID": (300.0, 420.0)}
FULL_HEAD = {
    "shape": (32, 512, 512),
    "spacing": (0.45, 0.45, 5.0),
    "n_frames": 40,
    "frame_interval_s": 1.6,
    "noise_hu": 5.0,
    "seed": 0,
}
POLL_S = 0.1
TIMEOUT_S = 1800.0
TOKEN_NAME = "benchmark"
ON_CALL = "dr-bench"


# -- the studies -------------------------------------------------------------------------


@dataclass(frozen=True)
class Study:
    folder: Path
    patient_id: str
    study_uid: str
    files: int


@dataclass(frozen=True)
class Truth:
    core_ml: float
    hypoperfusion_ml: float


def write_studies(root: Path, count: int, quick: bool) -> tuple[list[Study], Truth, float]:
    """``count`` copies of the phantom, each its own patient, study and series, in
    ``root/study-NNN`` (reused when a previous run of the same size left them there);
    the studies, the phantom's truth, and the seconds spent making them."""
    from ai.phantoms import make_ctp_head
    from workstation.dicom.image_writer import SeriesInfo, write_volume

    parameters = SMALL_HEAD if quick else FULL_HEAD
    start = time.perf_counter()
    marker = root / "studies.json"
    known = json.loads(marker.read_text()) if marker.is_file() else {}
    if known.get("parameters") != json.loads(json.dumps(parameters)):
        known = {"parameters": parameters, "studies": [], "truth": None}
    phantom = None
    studies = [
        Study(Path(s["folder"]), s["patient_id"], s["study_uid"], s["files"])
        for s in known["studies"]
    ]
    whole = [s.folder.is_dir() and len(list(s.folder.iterdir())) == s.files for s in studies]
    studies = studies[: whole.index(False) if False in whole else len(whole)]
    while len(studies) < count:
        if phantom is None:
            phantom = make_ctp_head(**parameters)
            known["truth"] = [phantom.core_ml, phantom.hypoperfusion_ml]
        number = len(studies)
        info = SeriesInfo(
            patient_id=f"BENCH-{number:03d}",
            patient_name=f"Benchmark^Patient {number:03d}",
            study_description="CT PERFUSION NAO",
            accession_number=f"ACC-BENCH-{number:03d}",
            series_description="CTP 4D",
            body_part="HEAD",
        )
        folder = root / f"study-{number:03d}"
        shutil.rmtree(folder, ignore_errors=True)
        paths = write_volume(phantom.volume, folder, info, shuffle_names=True)
        studies.append(Study(folder, info.patient_id, info.study_uid, len(paths)))
        known["studies"] = [
            {
                "folder": str(s.folder),
                "patient_id": s.patient_id,
                "study_uid": s.study_uid,
                "files": s.files,
            }
            for s in studies
        ]
        marker.write_text(json.dumps(known))
    truth = Truth(*known["truth"])
    return studies[:count], truth, time.perf_counter() - start


# -- the PACS and the node ---------------------------------------------------------------


def _halong(home: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "workstation.cli", "--home", str(home), *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"halong {' '.join(args)} failed: {done.stderr}")
    return done.stdout


class Site:
    """A fresh PACS and a fresh node (own data folder) around one measurement."""

    def __init__(self, root: Path, workers: int, stable_seconds: float, tcp_nodelay: bool) -> None:
        binary = find_orthanc()
        if binary is None:
            raise SystemExit("Orthanc is not installed (apt-get install orthanc orthanc-dicomweb)")
        self.root = root
        self.port, self.http_port = free_port(), free_port()
        (root / "pacs").mkdir(parents=True)
        self.pacs = OrthancServer(binary, root / "pacs", self.port)
        self.home = root / "home"
        self.workers = workers
        self.stable_seconds = stable_seconds
        self.tcp_nodelay = tcp_nodelay
        self.token = ""
        self.node: NodeProcess | None = None

    def __enter__(self) -> Site:
        self.pacs.start()
        password = self.root / "password"
        password.write_text("benchmark password 1\n")
        _halong(
            self.home,
            "node",
            "user",
            "add",
            ON_CALL,
            "--role",
            "physician",
            "--password-file",
            str(password),
            "--email",
            "dr-bench@hospital.test",
        )
        _halong(self.home, "node", "alerts", "--on-call", ON_CALL)
        self.token = _halong(self.home, "node", "token", TOKEN_NAME).splitlines()[0].strip()
        values = {
            "aet": "HALONG",
            "port": self.port,
            "listen": "127.0.0.1",
            "http": f"127.0.0.1:{self.http_port}",
            "pacs": [self.pacs.node],
            "allow": ["STORESCU@127.0.0.1"],
            "stable_seconds": self.stable_seconds,
            "workers": self.workers,
        }
        self.node = NodeProcess(self.home, values, self.root / "node-process.log")
        self._start_node(self.node)
        deadline = time.monotonic() + 60
        while True:  # the web API answers once its thread serves
            with contextlib.suppress(httpx.HTTPError):
                if self._api("/api/alerts").status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("the node's API did not answer in 60 s")
            time.sleep(0.1)
        return self

    def _start_node(self, node: NodeProcess) -> None:
        """Start the node and wait for a C-ECHO to succeed. Not NodeProcess.start's bare TCP
        probe: the node keeps a connection that sends no A-ASSOCIATE-RQ as an association
        for its 30 s ACSE timeout, and it admits 10 at once (pynetdicom's default), so the
        probe would make the tenth of ten scanners sending at once be refused."""
        with open(node.log, "ab") as log:
            node.process = subprocess.Popen(
                node.command, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT
            )
        echo = [shutil.which("echoscu") or "/usr/bin/echoscu", "-aet", "STORESCU", "-aec"]
        echo += ["HALONG", "127.0.0.1", str(self.port)]
        deadline = time.monotonic() + 120
        while subprocess.run(echo, capture_output=True).returncode != 0:
            if node.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the node did not start; see {node.log}")
            time.sleep(0.2)

    def __exit__(self, *exc: object) -> None:
        if self.node is not None and self.node.process is not None:
            with contextlib.suppress(Exception):
                self.node.stop()
        self.pacs.terminate()
        with contextlib.suppress(Exception):
            self.pacs.wait_stopped()

    def _api(self, path: str) -> httpx.Response:
        return httpx.get(
            f"http://127.0.0.1:{self.http_port}{path}",
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=10,
        )

    def alerts(self) -> list[dict[str, Any]]:
        return self._api("/api/alerts").json()["alerts"]

    def pacs_instances(self) -> int:
        return self.pacs.instance_count()

    def jobs(self) -> list[dict[str, Any]]:
        return table_rows(self.home / "node" / "node.sqlite", "SELECT * FROM jobs ORDER BY id")

    def alert_rows(self) -> list[dict[str, Any]]:
        return table_rows(
            self.home / "node" / "node.sqlite", "SELECT * FROM node_alerts ORDER BY id"
        )

    def send(self, study: Study) -> subprocess.Popen[bytes]:
        """``storescu +sd +r`` of the study's folder, in the background (its output in
        ``storescu-PATIENT.log``)."""
        command = [storescu(), "+sd", "+r", "-aet", "STORESCU", "-aec", "HALONG"]
        environment = os.environ | ({"TCP_NODELAY": "1"} if self.tcp_nodelay else {})
        with open(self.root / f"storescu-{study.patient_id}.log", "wb") as log:
            process = subprocess.Popen(
                [*command, "127.0.0.1", str(self.port), str(study.folder)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=environment,
            )
        process.log_path = log.name  # type: ignore[attr-defined]
        return process


def _finish_send(process: subprocess.Popen[bytes]) -> None:
    if process.wait() != 0:
        output = Path(process.log_path).read_text(errors="replace")  # type: ignore[attr-defined]
        raise RuntimeError(f"storescu failed ({process.returncode}): {output[-2000:]}")


# -- the node's log and outbox: when each stage of a job began ---------------------------


def stage_lines(home: Path, job_id: int) -> list[tuple[float, str]]:
    """(Unix time, message) of the worker process's lines about ``job_id`` in the node log
    (``%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s``)."""
    found = []
    prefix = f"job {job_id}: "
    for line in (home / "logs" / "node.log").read_text(errors="replace").splitlines():
        fields = line.split(" ", 4)
        if len(fields) < 5 or not line[:4].isdigit() or fields[3] != f"job-{job_id}":
            continue
        message = fields[4].partition(": ")[2]
        if message.startswith(prefix):
            when = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()
            found.append((when, message[len(prefix) :]))
    return found


def outbox_times(home: Path, item_ids: list[int]) -> dict[str, float]:
    """When the job's items were queued, first tried and last delivered (outbox.sqlite)."""
    marks = ",".join(str(int(i)) for i in item_ids) or "NULL"
    database = home / "outbox" / "outbox.sqlite"
    (items,) = table_rows(
        database,
        f"SELECT min(created_at) AS first_queued, max(created_at) AS last_queued, "
        f"max(delivered_at) AS last_delivered FROM items WHERE id IN ({marks})",
    )
    (attempts,) = table_rows(
        database,
        f"SELECT min(started_at) AS first_attempt FROM attempts WHERE item_id IN ({marks})",
    )
    return items | attempts


def worker_stages(
    lines: list[tuple[float, str]], started: float, queued: float, finished: float
) -> list[dict[str, Any]]:
    """Each stage of the job with how long it lasted, until the next mark."""
    marks = [(started, "worker process spawned, engines imported")]
    marks += [(when, what) for when, what in lines]
    marks += [(queued, "result objects queued in the outbox"), (finished, "job finished")]
    marks.sort(key=lambda mark: mark[0])
    return [
        {
            "stage": what,
            "at_s": round(when - started, 2),
            "seconds": round(marks[i + 1][0] - when, 2) if i + 1 < len(marks) else 0.0,
        }
        for i, (when, what) in enumerate(marks)
    ]


# -- one study: latency -------------------------------------------------------------------


def measure_single(site: Site, study: Study, truth: Truth) -> dict[str, Any]:
    sending = time.time()
    _finish_send(site.send(study))
    last_store = time.time()
    alert_seen = pacs_seen = None
    alert: dict[str, Any] | None = None
    job: dict[str, Any] | None = None
    deadline = time.monotonic() + TIMEOUT_S
    while alert_seen is None or pacs_seen is None:
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out: alert {alert_seen}, PACS {pacs_seen}, job {job}")
        now = time.time()
        if alert_seen is None:
            found = [a for a in site.alerts() if a["study_uid"] == study.study_uid]
            if found:
                alert, alert_seen = found[0], now
        (job,) = site.jobs() or [None]
        if job is not None and job["status"] == "failed":
            raise RuntimeError(f"the job failed: {job['reason']}")
        if pacs_seen is None and job is not None and job["status"] == "done":
            expected = len(json.loads(job["outbox_items"] or "[]"))
            if expected and site.pacs_instances() >= expected:
                pacs_seen = now
        if job is not None and job["sent_at"] and not alert_seen and now - job["sent_at"] > 30:
            raise RuntimeError("the result reached the PACS but no alert came in 30 s")
        time.sleep(POLL_S)
    (job,) = site.jobs()
    (alert_row,) = [a for a in site.alert_rows() if a["study_uid"] == study.study_uid]
    result = Path(job["result_folder"])
    document = json.loads((result / "perfusion.json").read_text())
    numbers = alert["numbers"]
    last, queued, started = job["last_instance_at"], job["queued_at"], job["started_at"]
    finished, sent = job["finished_at"], job["sent_at"]
    items = json.loads(job["outbox_items"])
    outbox = outbox_times(site.home, items)
    core, hypo = float(numbers["core_ml"]), float(numbers["hypoperfusion_ml"])
    return {
        "files": study.files,
        "store_s": last_store - sending,
        "files_per_s": study.files / (last_store - sending),
        "to_alert_s": alert_seen - last_store,
        "to_pacs_s": pacs_seen - last_store,
        "recorded": {
            "last_instance_before_store_returned_s": last_store - last,
            "stable_wait_s": queued - last,
            "queue_s": started - queued,
            "analysis_s": finished - started,
            "alert_after_finish_s": alert_row["created_at"] - finished,
            "sending_s": sent - finished,
            "worker_queued_to_finished_s": finished - outbox["last_queued"],
            "finished_to_first_attempt_s": outbox["first_attempt"] - finished,
            "first_attempt_to_last_delivered_s": outbox["last_delivered"] - outbox["first_attempt"],
            "last_instance_to_alert_created_s": alert_row["created_at"] - last,
            "last_instance_to_sent_s": sent - last,
            "store_returned_to_alert_created_s": alert_row["created_at"] - last_store,
            "store_returned_to_sent_s": sent - last_store,
        },
        "worker_stages": worker_stages(
            stage_lines(site.home, job["id"]), started, outbox["last_queued"], finished
        ),
        "engine_timings_s": document.get("timings_s", {}),
        "result_objects": len(items),
        "alert": {"finding": alert["finding"], "rules": alert["rules"], "numbers": numbers},
        "accuracy": {
            "core_ml": core,
            "core_truth_ml": truth.core_ml,
            "core_error_pct": 100 * (core - truth.core_ml) / truth.core_ml,
            "hypoperfusion_ml": hypo,
            "hypoperfusion_truth_ml": truth.hypoperfusion_ml,
            "hypoperfusion_error_pct": 100
            * (hypo - truth.hypoperfusion_ml)
            / truth.hypoperfusion_ml,
        },
    }


# -- many studies at once: throughput -----------------------------------------------------


def measure_throughput(site: Site, studies: list[Study]) -> dict[str, Any]:
    start = time.time()
    processes = [site.send(study) for study in studies]  # one scanner each, all at once
    returned: dict[int, float] = {}
    while len(returned) < len(processes):
        for index, process in enumerate(processes):
            if index not in returned and process.poll() is not None:
                _finish_send(process)
                returned[index] = time.time()
        time.sleep(0.05)
    last_store = max(returned.values())
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        jobs = site.jobs()
        failed = [j for j in jobs if j["status"] == "failed"]
        if failed:
            raise RuntimeError(f"{len(failed)} job(s) failed: {failed[0]['reason']}")
        sent = [j for j in jobs if j["sent_at"] is not None]
        if len(sent) == len(studies):
            expected = sum(len(json.loads(j["outbox_items"])) for j in sent)
            if site.pacs_instances() >= expected:
                break
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out: {len(sent)} of {len(studies)} sent")
        time.sleep(0.5)
    done = time.time()
    jobs = site.jobs()
    alerts = site.alert_rows()
    by_study = {s.study_uid: returned[i] for i, s in enumerate(studies)}
    latencies = [j["sent_at"] - by_study[j["study_uid"]] for j in jobs]
    analysis = [j["finished_at"] - j["started_at"] for j in jobs]
    wall = done - start
    return {
        "studies": len(studies),
        "files": sum(s.files for s in studies),
        "store_s": last_store - start,
        "files_per_s": sum(s.files for s in studies) / (last_store - start),
        "wall_s": wall,
        "studies_per_hour": 3600 * len(studies) / wall,
        "last_store_to_all_in_pacs_s": done - last_store,
        "first_queued_to_last_sent_s": max(j["sent_at"] for j in jobs)
        - min(j["queued_at"] for j in jobs),
        "processing_studies_per_hour": 3600
        * len(studies)
        / (max(j["sent_at"] for j in jobs) - min(j["queued_at"] for j in jobs)),
        "analysis_s": {"median": statistics.median(analysis), "max": max(analysis)},
        "study_store_returned_to_sent_s": {
            "median": statistics.median(latencies),
            "max": max(latencies),
        },
        "alerts": len(alerts),
    }


# -- printing ---------------------------------------------------------------------------


def _machine() -> dict[str, Any]:
    cpu = platform.processor() or "cpu"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"cpus": os.cpu_count(), "cpu": cpu, "python": platform.python_version()}


def _peer_ratios(seconds: float) -> str:
    parts = [f"goal {GOAL_S:g} s: {GOAL_S / seconds:.2f}x"]
    for name, (low, high) in PEERS.items():
        span = (
            f"{low / seconds:.0f}x" if low == high else f"{low / seconds:.0f}-{high / seconds:.0f}x"
        )
        parts.append(f"{name} {span}")
    return "; ".join(parts)


def print_single(figures: dict[str, Any], stable_seconds: float) -> None:
    rec = figures["recorded"]
    print(f"\none study, {figures['files']} files, --stable-seconds {stable_seconds:g}")
    nodelay = " (storescu with TCP_NODELAY=1)" if figures.get("tcp_nodelay") else ""
    print(f"  storage: {figures['store_s']:.1f} s, {figures['files_per_s']:.0f} files/s{nodelay}")
    for label, key in (("alert in /api/alerts", "to_alert_s"), ("results in PACS", "to_pacs_s")):
        seconds = figures[key]
        verdict = "met" if seconds <= GOAL_S else "MISSED"
        print(
            f"  last C-STORE -> {label:<21}{seconds:7.1f} s  ({verdict}; {_peer_ratios(seconds)})"
        )
    print("  breakdown (job table, node clock):")
    rows = (
        (
            "last instance stored before storescu returned",
            rec["last_instance_before_store_returned_s"],
        ),
        ("stable-age wait (last instance -> queued)", rec["stable_wait_s"]),
        ("queue (queued -> worker started)", rec["queue_s"]),
        ("analysis (worker started -> job finished)", rec["analysis_s"]),
        ("alert raised after the job finished", rec["alert_after_finish_s"]),
        ("  result queued -> job finished (worker exit)", rec["worker_queued_to_finished_s"]),
        ("sending (job finished -> all delivered)", rec["sending_s"]),
        ("  job finished -> first delivery attempt", rec["finished_to_first_attempt_s"]),
        ("  first attempt -> last object delivered", rec["first_attempt_to_last_delivered_s"]),
        ("last instance -> alert created", rec["last_instance_to_alert_created_s"]),
        ("last instance -> all delivered", rec["last_instance_to_sent_s"]),
    )
    for label, seconds in rows:
        print(f"    {label:<50}{seconds:7.2f} s")
    print("  the job, stage by stage (worker lines in logs/node.log, outbox and job table):")
    for stage in figures["worker_stages"]:
        print(f"    {stage['at_s']:6.2f}  {stage['stage']:<44}{stage['seconds']:6.2f} s")
    timings = figures["engine_timings_s"]
    if timings:
        print("  the engine's own stage timings (perfusion.json):")
        print("    " + ", ".join(f"{k} {v:.2f}" for k, v in timings.items()))
        print(f"    sum {sum(timings.values()):.2f} s")
    acc = figures["accuracy"]
    print(f"  alert: {figures['alert']['finding']} ({', '.join(figures['alert']['rules'])})")
    print(
        f"  core {acc['core_ml']:.1f} ml (truth {acc['core_truth_ml']:.1f}, "
        f"{acc['core_error_pct']:+.1f} %); Tmax > 6 s {acc['hypoperfusion_ml']:.1f} ml "
        f"(truth {acc['hypoperfusion_truth_ml']:.1f}, {acc['hypoperfusion_error_pct']:+.1f} %); "
        f"{figures['result_objects']} objects in the PACS"
    )


def print_throughput(figures: dict[str, Any], workers: int) -> None:
    studies, files = figures["studies"], figures["files"]
    print(f"\n{studies} studies sent at once ({files} files), --workers {workers}")
    print(f"  storage: {figures['store_s']:.1f} s, {figures['files_per_s']:.0f} files/s")
    print(
        f"  first C-STORE -> last result in PACS: {figures['wall_s']:.1f} s "
        f"-> {figures['studies_per_hour']:.0f} studies/hour"
    )
    print(f"  last C-STORE -> last result in PACS: {figures['last_store_to_all_in_pacs_s']:.1f} s")
    print(
        f"  first job queued -> last sent: {figures['first_queued_to_last_sent_s']:.1f} s "
        f"-> {figures['processing_studies_per_hour']:.0f} studies/hour of analysis"
    )
    lat = figures["study_store_returned_to_sent_s"]
    ana = figures["analysis_s"]
    print(
        f"  per study: its last C-STORE -> its results sent: median {lat['median']:.1f} s, "
        f"max {lat['max']:.1f} s; analysis median {ana['median']:.1f} s, max {ana['max']:.1f} s"
    )
    print(f"  alerts raised: {figures['alerts']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the small phantom (smoke run)")
    parser.add_argument("--studies", type=int, default=10, help="throughput run (0: none)")
    parser.add_argument("--workers", type=int, default=2, help="the throughput node's workers")
    parser.add_argument("--stable-seconds", type=float, default=5.0)
    parser.add_argument(
        "--tcp-nodelay",
        action="store_true",
        help="run storescu with TCP_NODELAY=1 (dcmtk 3.6.7 leaves Nagle's algorithm on)",
    )
    parser.add_argument("--skip-single", action="store_true", help="only the throughput run")
    parser.add_argument("--data", type=Path, help="keep the studies here (reused next time)")
    parser.add_argument("--keep", action="store_true", help="keep the node's folders and logs")
    parser.add_argument("--json", action="store_true", help="the figures as JSON")
    args = parser.parse_args()

    report: dict[str, Any] = {
        "machine": _machine(),
        "quick": args.quick,
        "phantom": SMALL_HEAD if args.quick else FULL_HEAD,
        "stable_seconds": args.stable_seconds,
        "storescu_tcp_nodelay": args.tcp_nodelay,
        "load_before": os.getloadavg(),
    }
    say = (lambda *a, **k: None) if args.json else print
    m = report["machine"]
    say(f"{m['cpus']} CPUs ({m['cpu']}); Python {m['python']}")
    say(f"load average before: {' '.join(f'{x:.2f}' for x in report['load_before'])}")
    with (
        contextlib.nullcontext(tempfile.mkdtemp(prefix="halong-node-bench-"))
        if args.keep
        else tempfile.TemporaryDirectory(prefix="halong-node-bench-", ignore_cleanup_errors=True)
    ) as tmp:
        if args.keep:
            say(f"keeping the PACS, the node's data folder and its logs in {tmp}")
        data = args.data or Path(tmp) / "studies"
        data.mkdir(parents=True, exist_ok=True)
        count = max(args.studies, 0 if args.skip_single else 1)
        studies, truth, made_s = write_studies(data, count, args.quick)
        say(
            f"{len(studies)} studies of {studies[0].files} files ready in {made_s:.0f} s "
            f"(truth: core {truth.core_ml:.1f} ml, Tmax > 6 s {truth.hypoperfusion_ml:.1f} ml)"
        )
        if not args.skip_single:
            with Site(
                Path(tmp) / "single", args.workers, args.stable_seconds, args.tcp_nodelay
            ) as site:
                report["single"] = measure_single(site, studies[0], truth)
                report["single"]["tcp_nodelay"] = args.tcp_nodelay
            if not args.json:
                print_single(report["single"], args.stable_seconds)
        if args.studies > 0:
            with Site(
                Path(tmp) / "throughput", args.workers, args.stable_seconds, args.tcp_nodelay
            ) as site:
                report["throughput"] = measure_throughput(site, studies)
                report["throughput"]["workers"] = args.workers
            if not args.json:
                print_throughput(report["throughput"], args.workers)
    report["load_after"] = os.getloadavg()
    say(f"\nload average after: {' '.join(f'{x:.2f}' for x in report['load_after'])}")
    if args.json:
        print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
