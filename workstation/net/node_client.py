"""The reading station's view of a triage node: its queue and alerts over the JSON API.

The node (``halong node``) answers ``GET /api/studies`` and ``GET /api/alerts`` to a
bearer token made with ``halong node token NAME``. This module fetches both and turns
them into plain dataclasses, and every way it can fail (no node there, a refused token,
something else answering) into one :class:`NodeError` line written for the reader, so
the window never shows a traceback. Qt-free: the panel runs it on a worker thread, and
a script or test can call it as it is.

The token is a secret: it is kept in a file of its own in the data folder's ``keys/``
(owner-only), never in the settings file, and never logged.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from workstation.home import HalongHome

DEFAULT_TIMEOUT_S = 5.0
STATES = ("queued", "running", "done", "failed")


if TYPE_CHECKING:
    import httpx


class NodeError(Exception):
    """The node's queue cannot be read; the message is one line saying why and what to do."""


@dataclass(frozen=True)
class NodeSeries:
    """One series of the node's job table: what runs on it and where it stands."""

    series_uid: str
    study_uid: str
    patient_id: str
    analysis: str
    state: str
    reason: str = ""
    #: What a running job's worker does now, when the node says (e.g. "computing maps").
    stage: str = ""
    #: The result folder on the node's disk, when the node says.
    result_folder: str = ""
    last_image_at: datetime | None = None
    queued_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    last_image_to_result_s: float | None = None


@dataclass(frozen=True)
class NodeAlert:
    """One alert the node raised, with its key numbers and acknowledgement."""

    id: int
    finding: str
    patient_id: str
    patient_name: str
    study_uid: str
    series_uid: str
    kind: str = ""
    numbers: dict[str, Any] = field(default_factory=dict)
    #: The key numbers as the node words them (the web page's and the EMR's lines).
    lines: tuple[str, ...] = ()
    created: datetime | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str = ""

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_at is not None


@dataclass(frozen=True)
class NodeQueue:
    """What the node said at ``fetched_at`` (Unix seconds)."""

    url: str
    series: tuple[NodeSeries, ...]
    alerts: tuple[NodeAlert, ...]
    fetched_at: float


def check_url(url: str) -> str:
    """The node's base URL without a trailing slash; NodeError for anything not http(s)."""
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NodeError(
            f"{url or 'no address'} is not a node address: give http(s)://HOST:PORT, "
            "the address of the node's web page"
        )
    return url


def fetch_queue(url: str, token: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> NodeQueue:
    """The node's series and alerts, read now; NodeError (one line) when they cannot be."""
    url = check_url(url)
    if not token.strip():
        raise NodeError("no API token: make one on the node with: halong node token NAME")
    headers = {"Authorization": f"Bearer {token.strip()}", "Accept": "application/json"}
    import httpx  # here, not at the window's start

    with httpx.Client(base_url=url, headers=headers, timeout=timeout_s) as client:
        studies = _get(client, url, "/api/studies", "studies")
        alerts = _get(client, url, "/api/alerts", "alerts")
    try:
        return NodeQueue(
            url,
            tuple(_series(record) for record in studies),
            tuple(_alert(record) for record in alerts),
            time.time(),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise NodeError(f"{url} is not a Halong triage node (unexpected answer: {error})") from None


def _get(client: httpx.Client, url: str, path: str, key: str) -> list[Any]:
    import httpx

    try:
        response = client.get(path)
    except httpx.TimeoutException:
        raise NodeError(f"the triage node at {url} did not answer in time") from None
    except httpx.HTTPError as error:
        reason = str(error) or type(error).__name__
        raise NodeError(f"the triage node at {url} is unreachable ({reason})") from None
    if response.status_code == 401:
        raise NodeError(
            f"the triage node at {url} refused the token: make a new one on the node with "
            "'halong node token NAME' and enter it in Connect to Triage Node…"
        )
    if response.status_code == 404:
        raise NodeError(f"{url} is not a Halong triage node (no {path} there)")
    if not response.is_success:
        raise NodeError(
            f"the triage node at {url} answered HTTP {response.status_code} "
            f"{response.reason_phrase} to {path}"
        )
    try:
        listed = response.json()[key]
    except (ValueError, KeyError, TypeError):
        raise NodeError(
            f"{url} is not a Halong triage node (its {path} is not the API's)"
        ) from None
    if not isinstance(listed, list):
        raise NodeError(f"{url} is not a Halong triage node (its {path} is not a list)")
    return listed


def _time(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _series(record: dict[str, Any]) -> NodeSeries:
    timings = record.get("timings") or {}
    state = str(record["status"])
    if state not in STATES:
        raise ValueError(f"unknown state {state!r}")
    seconds = timings.get("last_image_to_result_s")
    return NodeSeries(
        series_uid=str(record["series_uid"]),
        study_uid=str(record["study_uid"]),
        patient_id=_text(record.get("patient_id")),
        analysis=_text(record.get("analysis")),
        state=state,
        reason=_text(record.get("reason")),
        stage=_text(record.get("stage")),
        result_folder=_text(record.get("result_folder")),
        last_image_at=_time(timings.get("last_image_at")),
        queued_at=_time(timings.get("queued_at")),
        started_at=_time(timings.get("started_at")),
        finished_at=_time(timings.get("finished_at")),
        last_image_to_result_s=None if seconds is None else float(seconds),
    )


def _alert(record: dict[str, Any]) -> NodeAlert:
    patient = record.get("patient") or {}
    numbers = record.get("numbers") or {}
    return NodeAlert(
        id=int(record["id"]),
        finding=str(record["finding"]),
        patient_id=_text(patient.get("id")),
        patient_name=_text(patient.get("name")),
        study_uid=_text(record.get("study_uid")),
        series_uid=_text(record.get("series_uid")),
        kind=_text(record.get("kind")),
        numbers=dict(numbers),
        lines=tuple(str(line) for line in record.get("lines") or ()),
        created=_time(record.get("created")),
        acknowledged_at=_time(record.get("acknowledged_at")),
        acknowledged_by=_text(record.get("acknowledged_by")),
    )


# --- the token, a secret of this installation ---------------------------------------------


def read_token(home: HalongHome) -> str:
    """The stored token, or "" when none is stored (or it cannot be read)."""
    try:
        return home.node_api_token.read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def save_token(home: HalongHome, token: str) -> Path:
    """Keep ``token`` (0600, replaced whole); an empty one removes the file."""
    path = home.node_api_token
    token = token.strip()
    if not token:
        path.unlink(missing_ok=True)
        return path
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    os.replace(draft, path)
    return path
