"""The node's JSON API, for programs (a paging app, a dashboard), on the page's port.

Every call needs a bearer token made with ``halong node token NAME``; without one the
answer is 401 and holds nothing. ``GET /api/studies`` lists each series the node's job
table knows (status, analysis, timings), ``GET /api/alerts`` the alerts with their key
numbers and acknowledgement, ``POST /api/alerts/{id}/ack`` acknowledges one (recorded
as done by the token's name through the API, or by the ``by`` a JSON body names).
Reads are audited as queries.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from workstation.net import audit
from workstation.node import alerts
from workstation.node.alert_store import Alert, AlertStore
from workstation.node.jobs import Job, JobTable
from workstation.node.web.auth import program
from workstation.node.web.context import WebContext, context_of

API = "api"

routes = web.RouteTableDef()


def iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")


def _seconds(start: float | None, end: float | None) -> float | None:
    return None if start is None or end is None else round(end - start, 1)


def study_json(job: Job) -> dict[str, Any]:
    """One series of the job table: what ran on it, where it stands, how long it took."""
    record = job.to_json()
    last_image = record.get("last_instance_at", record.get("last_arrival_at"))
    started, finished = record.get("started_at"), record.get("finished_at")
    return {
        "series_uid": record["series_uid"],
        "study_uid": record["study_uid"],
        "patient_id": record.get("patient_id"),
        "analysis": record.get("workflow"),
        "status": record["status"],
        "reason": record.get("reason"),
        "stage": record.get("stage"),
        "runs": record.get("runs"),
        "worker": record.get("worker"),
        "result_folder": record.get("result_folder"),
        "timings": {
            "last_image_at": iso(last_image),
            "queued_at": iso(record.get("queued_at")),
            "started_at": iso(started),
            "finished_at": iso(finished),
            "sent_at": iso(record.get("sent_at")),
            "last_image_to_result_s": _seconds(last_image, finished),
            "analysis_s": _seconds(started, finished),
        },
    }


def alert_json(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.id,
        "uid": alert.uid,
        "kind": alert.kind,
        "patient": {"id": alert.patient.patient_id, "name": alert.patient_name},
        "study_uid": alert.study.study_uid,
        "series_uid": alert.series_uid,
        "finding": alert.finding,
        "rules": list(alert.rule_ids),
        "numbers": alert.numbers,
        "lines": list(alert.lines),
        "algorithm": {"name": alert.algorithm, "version": alert.algorithm_version},
        "identified_at": iso(alert.identified_at),
        "last_image_at": iso(alert.last_instance_at),
        "created": iso(alert.created_at),
        "recipient": alert.recipient,
        "escalation_level": alert.escalation_level,
        "received_at": iso(alert.received_at),
        "received_by": alert.received_by,
        "acknowledged_at": iso(alert.acknowledged_at),
        "acknowledged_by": alert.acknowledged_by,
        "acknowledged_via": alert.acknowledged_via,
        "steps": [
            {
                "at": iso(step.at),
                "step": step.step,
                "actor": step.actor,
                "channel": step.channel,
                "detail": step.detail,
            }
            for step in alert.steps
        ],
    }


def _jobs(context: WebContext) -> list[Job]:
    with JobTable.open(context.database) as table:
        return table.jobs()


def _audit_query(context: WebContext, token: str, query: str) -> None:
    trail = audit.AuditTrail.from_environment(context.home.audit)
    audit.record_query(trail, source=f"node-api:{token}", query=query, user=token)


@routes.get("/api/studies")
async def studies(request: web.Request) -> web.Response:
    token = await program(request)
    context = context_of(request)
    jobs = await asyncio.to_thread(_jobs, context)
    await asyncio.to_thread(_audit_query, context, token, "GET /api/studies")
    return web.json_response({"studies": [study_json(job) for job in jobs]})


@routes.get("/api/alerts")
async def alert_list(request: web.Request) -> web.Response:
    token = await program(request)
    context = context_of(request)
    listed = await asyncio.to_thread(AlertStore(context.database).recent)
    await asyncio.to_thread(_audit_query, context, token, "GET /api/alerts")
    return web.json_response({"alerts": [alert_json(alert) for alert in listed]})


@routes.post("/api/alerts/{alert_id:\\d+}/ack")
async def acknowledge(request: web.Request) -> web.Response:
    token = await program(request)
    context = context_of(request)
    try:
        body = await request.json() if request.can_read_body else {}
    except ValueError:
        raise _error(web.HTTPBadRequest, 'the body must be JSON, e.g. {"by": "NAME"}') from None
    named = str(body.get("by") or "").strip() if isinstance(body, dict) else ""
    by = f"{named} (API token {token})" if named else token
    try:
        alert = await asyncio.to_thread(
            alerts.acknowledge,
            context.database,
            context.home,
            int(request.match_info["alert_id"]),
            by,
            API,
            context.clock(),
        )
    except alerts.AlertError as error:
        raise _error(web.HTTPNotFound, str(error)) from None
    return web.json_response(alert_json(alert))


def _error(kind: type[web.HTTPError], message: str) -> web.HTTPError:
    return kind(text=json.dumps({"error": message}), content_type="application/json")
