"""Jobs as Ray tasks on a Ray cluster (``halong node --ray ADDRESS``): a provincial hub's
GPU workers analyse for several hospitals' nodes.

Ray only runs the analysis (:func:`~workstation.node.worker.analyse_job`, which writes
the result folder and nothing else); the node keeps every decision in its own database
and queues the result for the PACS itself, so a worker never writes the node's SQLite
files. The workers therefore need Halong installed at the node's version and the
node's data folder at the same path (a shared file system: see docs/deployment.md);
both are checked when the node starts, so a misconfigured cluster is a clear error, not
a queue of failed jobs. A task asks for one CPU, and for one GPU when its workflow can
use one and the cluster has GPUs. Tasks are never retried by Ray: a worker that dies
fails its job with the reason, as in the local pool, and the node decides what next.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import socket
import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from workstation import halong_version
from workstation.home import PRIVATE_UMASK
from workstation.node.executor import ExecutorError, JobOutcome
from workstation.node.worker import JobSpec, analyse_job, describe_failure, queue_result
from workstation.node.workflows import GPU_WORKFLOWS

#: How long the cluster's address may take to accept a connection.
CONNECT_TIMEOUT_S = 5.0
#: How long the workers may take to answer the start-up check.
PROBE_TIMEOUT_S = 120.0
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Analysed:
    """What a Ray task sends back: whether it analysed, or why it failed."""

    analysed: bool = False
    error: str | None = None
    node: str = ""


def _analyse_on_worker(spec: JobSpec) -> _Analysed:
    """The Ray task: the analysis in a Ray worker, Halong's errors as their message."""
    import ray

    os.umask(PRIVATE_UMASK)
    warnings.filterwarnings("ignore", module=r"pydicom(\.|$)")
    node = ray.get_runtime_context().get_node_id()
    try:
        return _Analysed(analysed=analyse_job(spec), node=node)
    except Exception as error:
        reason = describe_failure(error)
        if reason.startswith("unexpected"):
            _log.exception("job %d failed", spec.job_id)
        return _Analysed(error=reason, node=node)


def _probe(marker: str) -> tuple[str, str]:
    """On a worker: the Halong version it runs, and what it reads in the node's marker
    file (the same words only if it sees the node's own data folder)."""
    try:
        seen = Path(marker).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        seen = ""
    return halong_version(), seen


class RayExecutor:
    """An :class:`~workstation.node.executor.Executor` of Ray tasks, ``slots`` at once."""

    def __init__(self, address: str, slots: int, home: Path) -> None:
        if slots < 1:
            raise ExecutorError(f"--workers must be at least 1, got {slots}")
        self.ray = _import_ray(address)
        self.address = address
        self.slots = slots
        _connect(self.ray, address)
        self._check_workers(home)
        self.gpus = float(self.ray.cluster_resources().get("GPU", 0.0))
        self._task = self.ray.remote(_analyse_on_worker)
        #: job ID -> (the task's object reference, its spec)
        self._running: dict[int, tuple[Any, JobSpec]] = {}

    def _check_workers(self, home: Path) -> None:
        marker = home / "node" / "ray-probe"
        marker.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        words = secrets.token_hex(16)
        marker.write_text(words, encoding="ascii")
        probe = self.ray.remote(_probe).options(num_cpus=0.01, max_retries=0)
        try:
            version, seen = self.ray.get(probe.remote(str(marker)), timeout=PROBE_TIMEOUT_S)
        except Exception as error:
            raise ExecutorError(
                f"--ray {self.address}: the cluster's workers cannot run Halong "
                f"({type(error).__name__}: {_first_line(error)}); install this Halong on them"
            ) from None
        if version != halong_version():
            raise ExecutorError(
                f"--ray {self.address}: the workers run Halong {version}, this node "
                f"{halong_version()}; install the same version on both"
            )
        if seen != words:
            raise ExecutorError(
                f"--ray {self.address}: the workers do not see the data folder {home}; "
                "mount it at the same path on every worker (docs/deployment.md)"
            )

    def free_slots(self) -> int:
        return self.slots - len(self._running)

    def submit(self, spec: JobSpec) -> str:
        gpus = 1 if spec.workflow in GPU_WORKFLOWS and self.gpus >= 1 else 0
        # Stages are not written to the node database from another machine.
        remote_spec = replace(spec, node_database=None)
        task = self._task.options(num_cpus=1, num_gpus=gpus, max_retries=0)
        reference = task.remote(remote_spec)
        self._running[spec.job_id] = (reference, spec)
        return f"ray task {reference.task_id().hex()[:16]}" + (" (GPU)" if gpus else "")

    def wait(self, timeout_s: float) -> list[JobOutcome]:
        if not self._running:
            time.sleep(timeout_s)
            return []
        references = [reference for reference, _ in self._running.values()]
        ready, _ = self.ray.wait(references, num_returns=len(references), timeout=timeout_s)
        if not ready:
            return []
        done = set(ready)
        ended = [job_id for job_id, (ref, _) in self._running.items() if ref in done]
        return [self._collect(job_id) for job_id in ended]

    def _collect(self, job_id: int) -> JobOutcome:
        reference, spec = self._running.pop(job_id)
        try:
            answer = self.ray.get(reference)
        except self.ray.exceptions.WorkerCrashedError:
            return JobOutcome(job_id, error="the Ray worker running it died before it finished")
        except self.ray.exceptions.NodeDiedError:
            return JobOutcome(job_id, error="the Ray node running it died before it finished")
        except self.ray.exceptions.OutOfMemoryError:
            return JobOutcome(job_id, error="Ray stopped it: its node ran out of memory")
        except self.ray.exceptions.TaskCancelledError:
            return JobOutcome(job_id, error="its Ray task was cancelled")
        except self.ray.exceptions.RayError as error:
            return JobOutcome(job_id, error=f"Ray could not run it: {_first_line(error)}")
        if answer.error is not None:
            return JobOutcome(job_id, error=answer.error)
        _log.info("job %d: analysed on Ray node %s", job_id, answer.node[:12])
        try:
            return JobOutcome(job_id, result=queue_result(spec, answer.analysed))
        except Exception as error:  # the result cannot be read back or queued
            return JobOutcome(job_id, error=describe_failure(error))

    def stop(self) -> list[int]:
        stopped = list(self._running)
        for reference, _ in self._running.values():
            with contextlib.suppress(Exception):
                self.ray.cancel(reference, force=True)
        self._running.clear()
        with contextlib.suppress(Exception):
            self.ray.shutdown()
        return stopped


def _import_ray(address: str) -> Any:
    try:
        import ray
    except ImportError:
        raise ExecutorError(
            f"--ray {address}: Ray is not installed with this Halong "
            "(pip install 'halong-workstation[ray]'); leave --ray out to run the analyses "
            "in local processes (--workers N)"
        ) from None
    return ray


def _connect(ray: Any, address: str) -> None:
    """Join the cluster, refusing at once an address where nothing listens (Ray itself
    would wait for minutes)."""
    _check_reachable(address)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no calls home from a hospital
    try:
        ray.init(
            address=address,
            namespace="halong-node",
            log_to_driver=False,
            logging_level=logging.WARNING,
            ignore_reinit_error=True,
        )
    except Exception as error:  # ConnectionError, or Ray's own on a bad address
        raise ExecutorError(
            f"--ray {address}: cannot join the Ray cluster ({_first_line(error)}); "
            "start it (ray start --head) or correct the address"
        ) from None


def _check_reachable(address: str) -> None:
    """ExecutorError unless something accepts a TCP connection at ``[ray://]HOST:PORT``
    ("auto", Ray's own lookup of a local cluster, is left to Ray)."""
    if address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise ExecutorError(f"--ray {address}: give the cluster as HOST:PORT (or ray://HOST:PORT)")
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as error:
        raise ExecutorError(
            f"--ray {address}: no Ray cluster answers there ({error.strerror or error}); "
            "start it (ray start --head) or correct the address"
        ) from None


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
