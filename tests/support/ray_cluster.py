"""A real Ray cluster on this machine for the node's Ray tests: a head and a second node
joined to it, one CPU each, on loopback, with their own temporary folder.

Started with Ray's own ``ray start`` command, as an operator starts a hub, and stopped
with ``ray stop``. Ray missing skips the tests (or fails them where real parts are
required: Ray comes with the test extras).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from support import real_parts
from support.net_fixtures import free_port

#: Both nodes take this little shared memory: the tasks pass specs and small answers.
OBJECT_STORE_BYTES = 100_000_000
START_TIMEOUT_S = 180


def _ray_command() -> str:
    command = Path(sys.executable).with_name("ray")
    if not command.is_file():
        real_parts.missing("Ray (the ray command)", "the Python package ray: pip install ray")
    return str(command)


def _start(*options: str, environment: dict[str, str]) -> None:
    done = subprocess.run(
        [_ray_command(), "start", *options],
        capture_output=True,
        text=True,
        env=environment,
        timeout=START_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@contextlib.contextmanager
def local_ray_cluster(nodes: int = 2) -> Iterator[str]:
    """Start a head and ``nodes - 1`` more nodes (one CPU each); yield the address."""
    ray = _ray_command()
    environment = os.environ | {"RAY_USAGE_STATS_ENABLED": "0"}
    # Ray's socket paths must stay short: a folder of its own right under /tmp.
    temp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    port = free_port()
    common = (
        "--node-ip-address=127.0.0.1",
        "--num-cpus=1",
        "--num-gpus=0",
        f"--object-store-memory={OBJECT_STORE_BYTES}",
        "--disable-usage-stats",
    )
    address = f"127.0.0.1:{port}"
    try:
        _start(
            "--head",
            f"--port={port}",
            "--include-dashboard=false",
            f"--temp-dir={temp}",
            *common,
            environment=environment,
        )
        for _ in range(nodes - 1):
            _start(f"--address={address}", *common, environment=environment)
        yield address
    finally:
        subprocess.run([ray, "stop", "--force"], capture_output=True, env=environment, check=False)
        shutil.rmtree(temp, ignore_errors=True)
