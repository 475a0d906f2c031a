"""Critical-result alerts with a closed loop: raised from results, shown, acknowledged.

The node core calls :func:`on_result` after each finished job. The result folder is
read the one way the project reads results and passes the report gate's checks (its
schema, its sealed manifest, one patient named by its DICOM) before any rule sees it;
the alert rules (:mod:`~workstation.node.alert_rules`) decide whether it is critical.
A critical result becomes one alert (the same folder again is the same alert), handed
to the first person of the on-call list, sent to the EMR as a FHIR Communication and
by e-mail; the web page and the API show it (received) and take the acknowledgement.
Each step is stored with the alert and written to the audit trail.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from workstation.home import HalongHome
from workstation.node.alert_delivery import AlertDelivery, audit_step
from workstation.node.alert_numbers import key_numbers
from workstation.node.alert_rules import load_rules, matches
from workstation.node.alert_settings import load_settings
from workstation.node.alert_store import NODE, Alert, AlertDraft, AlertStore
from workstation.reporting.gate import CheckedResults, check_results
from workstation.reporting.results import ResultSet, load_results
from workstation.reporting.templates import load_labels

_log = logging.getLogger(__name__)
#: The words of the node's page, messages and EMR texts.
LANGUAGE = "en"
SUMMARY_IMAGE = "summary.png"


class AlertError(Exception):
    """An alert cannot be raised or changed as asked; the message says why."""


def on_result(node_database_path: Path, home: HalongHome, job_record: Any) -> Alert | None:
    """Raise the alert a finished job's result calls for (the node core's hook).

    ``job_record`` has (as attributes or keys) ``series_uid``, ``result_folder``,
    ``last_instance_at`` (or the job table's ``last_arrival_at``) and ``finished_at``,
    times as datetimes or Unix seconds; the kind and study come from the result itself.
    Returns the alert, or None when the result is not critical or cannot be trusted
    (logged, never raised: the node goes on with the next study).
    """
    try:
        return raise_alert(node_database_path, home, job_record, time.time())
    except Exception:
        _log.exception("no alert for the result of job %r", _field(job_record, "series_uid"))
        return None


def raise_alert(database: Path, home: HalongHome, job: Any, now: float) -> Alert | None:
    """:func:`on_result` at ``now``, raising what goes wrong."""
    settings = load_settings(database)
    rules = load_rules(settings.rules_file)
    labels = load_labels(LANGUAGE)
    folder = Path(_field(job, "result_folder"))
    result = load_results(folder, labels)
    checked = check_results([result], home)
    met = matches(rules, result)
    if not met:
        return None
    numbers, lines = key_numbers(result, labels)
    series_uid = str(_field(job, "series_uid") or result.series_uid)
    draft = AlertDraft(
        alert_key=f"{series_uid}|{folder.absolute()}",
        kind=result.kind,
        rule_ids=tuple(match.rule_id for match in met),
        finding="; ".join(match.text for match in met),
        patient=checked.patient,
        study=checked.study,
        series_uid=series_uid,
        result_folder=folder.absolute(),
        summary_image=_summary_image(result, checked),
        numbers=numbers,
        lines=tuple(lines),
        algorithm=result.algorithm.name,
        algorithm_version=result.algorithm.version,
        identified_at=_timestamp(_field(job, "finished_at")) or now,
        last_instance_at=_timestamp(_field(job, "last_instance_at")),
        recipient=settings.on_call[0] if settings.on_call else "",
    )
    store = AlertStore(database)
    alert, new = store.create(draft, now)
    if new:
        audit_step(home, alert, "created", NODE, f"{alert.finding}; for {alert.recipient}")
        AlertDelivery(home, store, settings).alert_created(alert, now)
    return store.get(alert.id)


def _summary_image(result: ResultSet, checked: CheckedResults) -> Path | None:
    """The engine's summary picture, when its manifest vouches for it."""
    listed = checked.manifests[0].files
    images = [image for image in result.images if image.name in listed]
    preferred = [image for image in images if image.name == SUMMARY_IMAGE]
    return (preferred or images or [None])[0]


def shown(database: Path, home: HalongHome, alerts: list[Alert], by: str, via: str) -> None:
    """``by`` saw ``alerts`` (on the page, or through the API): the first time is receipt."""
    store = AlertStore(database)
    now = time.time()
    for alert in alerts:
        if alert.received_at is None and store.mark_received(alert.id, now, by, via):
            audit_step(home, alert, "received", by, f"shown to {by} via the {via}")


def acknowledge(
    database: Path, home: HalongHome, alert_id: int, by: str, via: str, now: float
) -> Alert:
    """Record that ``by`` acknowledged the alert (via ``via``) and tell the EMR.

    Acknowledging twice changes nothing: the first acknowledgement stands.
    """
    store = AlertStore(database)
    if store.get(alert_id) is None:
        raise AlertError(f"there is no alert {alert_id}")
    if store.acknowledge(alert_id, now, by, via):
        alert = store.get(alert_id)
        assert alert is not None
        audit_step(home, alert, "acknowledged", by, f"acknowledged by {by} via the {via}")
        AlertDelivery(home, store, load_settings(database)).acknowledged(alert, now)
    alert = store.get(alert_id)
    assert alert is not None
    return alert


#: The node core's job table names one of the hook's fields its own way.
_ALIASES = {"last_instance_at": "last_arrival_at"}


def _field(job: Any, name: str) -> Any:
    """``name`` of a job record (attribute or key), under the job table's name if need be."""
    for key in (name, _ALIASES.get(name)):
        if key is None:
            continue
        value = job.get(key) if isinstance(job, Mapping) else getattr(job, key, None)
        if value is not None:
            return value
    return None


def _timestamp(value: Any) -> float | None:
    """Unix seconds from a datetime (naive ones are local time) or a number."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, str):
        return datetime.fromisoformat(value).timestamp()
    return float(value)
