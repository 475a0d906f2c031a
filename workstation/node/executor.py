"""Where jobs run: the :class:`Executor` protocol, and the choice of one for a node.

The node hands an executor :class:`~workstation.node.worker.JobSpec`\\ s and collects
:class:`JobOutcome`\\ s; it never waits on one job. A job that raises, or whose worker
dies, comes back as a failure with its reason, and the others go on. The local process
pool (:mod:`workstation.node.process_pool`) is the default; Ray tasks on a cluster
(:mod:`workstation.node.ray_executor`) the other choice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from workstation.node.worker import JobResult, JobSpec


class ExecutorError(Exception):
    """No executor can be made as configured; the message says why."""


@dataclass(frozen=True)
class JobOutcome:
    """How one job ended: its result, or why it failed."""

    job_id: int
    result: JobResult | None = None
    error: str | None = None


class Executor(Protocol):
    def free_slots(self) -> int:
        """How many more jobs it takes now."""
        ...

    def submit(self, spec: JobSpec) -> str:
        """Start the job; return who runs it (for the job table, e.g. ``process 4242``)."""
        ...

    def wait(self, timeout_s: float) -> list[JobOutcome]:
        """The jobs that ended, waiting up to ``timeout_s`` for the first."""
        ...

    def stop(self) -> list[int]:
        """End every running job at once; return their IDs (to run again later)."""
        ...
