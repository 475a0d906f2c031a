"""The triage node's closed loop with real parts, for its acceptance tests.

A node runs as a hospital starts it: its DICOM port for the scanner, its web page on a
loopback port (``--http``) and the EMR's FHIR base (``--fhir``), one physician on call
and an API token. The scanner is an Orthanc that sends a study with
``/modalities/halong/store``; the PACS is a second Orthanc; the EMR is the FHIR receiver
of :mod:`support.emr_receivers`; the physician is headless Chromium on the page.

What the loop did is read where a hospital would see it: the PACS's REST API, the
Bundles the FHIR receiver got (validated with ``fhir.resources``), the API's JSON and
the page's HTML; never through the node's own classes.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
from fhir.resources.R4B.bundle import Bundle

from support.emr_receivers import FhirServer
from support.net_fixtures import wait_for
from support.node_alerts import PASSWORD
from support.node_runs import node_values, running_node, store_from_orthanc, wait_for_jobs
from support.orthanc_server import OrthancServer, free_port
from workstation.home import HalongHome
from workstation.node.accounts import add_user, new_token
from workstation.node.alert_settings import AlertSettings, save_settings

#: The physician on call, who logs in and acknowledges.
PHYSICIAN = "dr-a"
#: The program reading the API (a paging app).
API_CLIENT = "pager"
#: Where the hospital is (Vietnam): the page shows clock times there.
HOSPITAL_TIME = timezone(timedelta(hours=7))
#: The web page's alert ticker and the node's sender each deliver within 5 s.
DELIVERY_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Arrival:
    """A study the scanner sent, the node's job for it, and when the sending ran."""

    job: dict[str, Any]
    sent_from: float
    sent_until: float


@dataclass(frozen=True)
class Communication:
    """A Communication the EMR received, with the resources its Bundle carried."""

    resource: dict[str, Any]
    patient: dict[str, Any]
    study: dict[str, Any]

    @property
    def text(self) -> str:
        payload = self.resource["payload"]
        return "\n".join(p["contentString"] for p in payload if "contentString" in p)

    @property
    def attachments(self) -> list[dict[str, Any]]:
        payload = self.resource["payload"]
        return [p["contentAttachment"] for p in payload if "contentAttachment" in p]


@dataclass(frozen=True)
class ShownAlert:
    """What the page showed of one alert before and after Acknowledge, and when."""

    patient: str
    patient_id: str
    finding: str
    numbers: str
    since_last_image: str
    image_width: int | None
    shown_from: float
    shown_until: float
    acknowledged_by: str
    acknowledged_at: str
    clicked_from: float
    clicked_until: float
    acknowledge_buttons_left: int


@dataclass
class ClosedLoop:
    """One running node with its scanner, PACS, EMR and web page: one study through it."""

    home: Path
    scanner: OrthancServer
    pacs: OrthancServer
    emr: FhirServer
    web_url: str
    token: str

    def send(self, folder: Path, study_uid: str) -> Arrival:
        """The scanner gets the study's files, sends it to the node; its job, once sent."""
        for path in sorted(folder.iterdir()):
            self.scanner.upload(path)
        began = time.time()
        store_from_orthanc(self.scanner, study_uid)
        ended = time.time()
        (job,) = wait_for_jobs(self.home, 1)
        assert (job["status"], job["reason"]) == ("done", None), job
        return Arrival(job, began, ended)

    def communications(self, count: int) -> list[Communication]:
        """The first ``count`` Communications the EMR got, each Bundle valid FHIR."""
        wait_for(
            lambda: len(self.emr.bundles) >= count,
            DELIVERY_TIMEOUT_S,
            f"{count} Bundle(s) at the FHIR receiver",
        )
        found = []
        for bundle in self.emr.bundles[:count]:
            Bundle.model_validate(bundle)  # R4B: every resource and reference type
            by_url = {entry["fullUrl"]: entry["resource"] for entry in bundle["entry"]}
            (resource,) = [r for r in by_url.values() if r["resourceType"] == "Communication"]
            patient = by_url[resource["subject"]["reference"]]
            (about,) = resource["about"]
            found.append(Communication(resource, patient, by_url[about["reference"]]))
        return found

    def api_alerts(self) -> list[dict[str, Any]]:
        """``GET /api/alerts`` with the API token (and, without it, nothing)."""
        refused = httpx.get(f"{self.web_url}/api/alerts")
        assert refused.status_code == 401
        answer = httpx.get(
            f"{self.web_url}/api/alerts", headers={"Authorization": f"Bearer {self.token}"}
        )
        assert answer.status_code == 200, answer.text
        return answer.json()["alerts"]

    def acknowledge_on_page(self, page: Any, alert_id: int) -> ShownAlert:
        """The physician logs in, reads the alert's card and presses Acknowledge."""
        page.goto(f"{self.web_url}/alerts")
        assert page.url == f"{self.web_url}/login"
        page.fill("#name", PHYSICIAN)
        page.fill("#password", PASSWORD)
        shown_from = time.time()
        page.click("button[type=submit]")
        page.wait_for_load_state()
        shown_until = time.time()
        assert page.url == f"{self.web_url}/alerts"
        card = page.locator(f"#alert-{alert_id}")
        images = card.locator("img.summary")
        width = None
        if images.count():
            images.wait_for()
            width = page.evaluate(
                "(img) => img.complete ? img.naturalWidth : null", images.element_handle()
            )
        seen = {
            name: card.locator(f".{name}").inner_text()
            for name in ("patient", "patient-id", "finding", "numbers", "since-last-image")
        }
        clicked_from = time.time()
        card.locator("button.acknowledge").click()
        page.wait_for_load_state()
        clicked_until = time.time()
        acknowledged = page.locator(f"#alert-{alert_id} .acknowledged")
        return ShownAlert(
            patient=seen["patient"],
            patient_id=seen["patient-id"],
            finding=seen["finding"],
            numbers=seen["numbers"],
            since_last_image=seen["since-last-image"],
            image_width=width,
            shown_from=shown_from,
            shown_until=shown_until,
            acknowledged_by=acknowledged.locator(".by").inner_text(),
            acknowledged_at=acknowledged.locator(".at").inner_text(),
            clicked_from=clicked_from,
            clicked_until=clicked_until,
            acknowledge_buttons_left=page.locator("button.acknowledge").count(),
        )


@contextlib.contextmanager
def closed_loop(
    root: Path, scanner: OrthancServer, pacs: OrthancServer, node_port: int
) -> Iterator[ClosedLoop]:
    """A node in ``root/home`` between ``scanner`` and ``pacs``, with the EMR and its page."""
    emr = FhirServer()
    emr.start()
    home = root / "home"
    database = HalongHome(home).node_database
    add_user(database, PHYSICIAN, "physician", PASSWORD, f"{PHYSICIAN}@hospital.test")
    save_settings(database, AlertSettings(on_call=(PHYSICIAN,)))
    token = new_token(database, API_CLIENT)
    http = f"127.0.0.1:{free_port()}"
    values = node_values(node_port, pacs, http=http, fhir=emr.url)
    try:
        with running_node(home, values):
            yield ClosedLoop(home, scanner, pacs, emr, f"http://{http}", token)
    finally:
        emr.stop()


def shown_number(text: str, label: str, unit: str) -> float:
    """The value shown as ``label: VALUE unit`` in ``text`` (the page's and the EMR's words)."""
    match = re.search(rf"{re.escape(label)}: ([0-9]+(?:\.[0-9]+)?) {re.escape(unit)}\b", text)
    assert match, f"no '{label}: … {unit}' in {text!r}"
    return float(match[1])


def seconds_ago(text: str) -> int:
    """``12 min 30 s ago`` or ``45 s ago`` (the page's "time since") in seconds."""
    match = re.fullmatch(r"(?:(\d+) min )?(\d+) s ago", text.strip())
    assert match, f"not a time since: {text!r}"
    return int(match[1] or 0) * 60 + int(match[2])


def hospital_clock(text: str) -> float:
    """Unix seconds of a ``YYYY-MM-DD HH:MM:SS`` clock time at the hospital."""
    moment = datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S")
    return moment.replace(tzinfo=HOSPITAL_TIME).timestamp()


def iso_seconds(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()
