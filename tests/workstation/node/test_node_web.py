"""The stroke team's page in headless Chromium: log in, see the alert made by on_result on
a real perfusion result, acknowledge it; no patient data without login; wrong passwords,
expired sessions and forged posts refused; escalation to the next person on call."""

from __future__ import annotations

import struct
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from support.mail_server import MailServer
from support.node_alerts import (
    PASSWORD,
    PATIENT_ID,
    PATIENT_NAME,
    FakeClock,
    add_on_call_team,
    job_record,
    node_home,
    perfusion_result,
)

from workstation.net.destinations import Destination, HostPort
from workstation.node import alerts
from workstation.node.accounts import add_user
from workstation.node.alert_settings import AlertSettings, save_settings
from workstation.node.alert_store import AlertStore
from workstation.node.config import NodeConfig
from workstation.node.web import start_web
from workstation.node.web.sessions import SessionPolicy

HOSPITAL_TIME = timezone(timedelta(hours=7))
POLICY = SessionPolicy(idle_s=600, max_s=3600)
LAST_IMAGE_AGO_S = 400


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return perfusion_result(tmp_path_factory)


@pytest.fixture
def mail():
    with MailServer() as server:
        yield server


@pytest.fixture
def node(result, tmp_path: Path, mail: MailServer):
    """A running web page over a node with one alert (for dr-a, then dr-b) and a fake clock."""
    home, folder = node_home(result, tmp_path / "home")
    database = home.node_database
    on_call = add_on_call_team(database)
    add_user(database, "nurse", "observer", PASSWORD)
    settings = AlertSettings(
        smtp=Destination.smtp(mail.address),
        mail_from="halong-node@hospital.test",
        on_call=on_call,
        acknowledge_within_s=600,
    )
    save_settings(database, settings)
    began = time.time()
    job = job_record(result, folder, began - LAST_IMAGE_AGO_S, began - 60)
    alert = alerts.on_result(database, home, job)
    assert alert is not None
    clock = FakeClock(alert.notified_at)  # time stands still from when dr-a got it
    config = NodeConfig(http=HostPort("127.0.0.1", 0))
    service = start_web(config, database, clock=clock, policy=POLICY, tick_s=3600)
    yield service, clock, alert
    service.stop()


def _log_in(page, url: str, name: str, password: str = PASSWORD) -> None:
    page.goto(f"{url}/alerts")
    page.fill("#name", name)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def _hospital_clock(timestamp: float) -> str:
    return (
        datetime.fromtimestamp(timestamp, UTC)
        .astimezone(HOSPITAL_TIME)
        .strftime("%Y-%m-%d %H:%M:%S")
    )


def test_log_in_see_the_alert_and_acknowledge_it(node, page, result) -> None:
    service, clock, alert = node
    page.goto(f"{service.url}/alerts")
    assert page.url == f"{service.url}/login"  # no patient data without login
    assert PATIENT_NAME not in page.content()
    _log_in(page, service.url, "dr-a", "not the password")
    assert page.url == f"{service.url}/login"
    assert "Wrong name or password" in page.inner_text("p.error")
    assert PATIENT_NAME not in page.content() and PATIENT_ID not in page.content()

    _log_in(page, service.url, "dr-a")
    assert page.url == f"{service.url}/alerts"
    card = page.locator(f"#alert-{alert.id}")
    assert card.locator(".patient").inner_text() == PATIENT_NAME
    assert PATIENT_ID in card.locator(".patient-id").inner_text()
    assert "Target mismatch profile" in card.locator(".finding").inner_text()
    numbers = card.locator(".numbers").inner_text()
    document, truth = result.document, result.truth
    assert abs(document["core_ml"] - truth.core_ml) <= 0.15 * truth.core_ml
    for label, key in (
        ("Infarct core", "core_ml"),
        ("Tmax > 6 s", "hypoperfusion_ml"),
        ("Mismatch volume", "mismatch_ml"),
    ):
        assert f"{label}" in numbers and f"{document[key]:.1f} mL" in numbers
    assert f"Mismatch ratio: {document['mismatch_ratio']:.2f}" in numbers
    assert "DEFUSE 3: needs input" in numbers
    since = int(clock.now - alert.last_instance_at)  # LAST_IMAGE_AGO_S and on_result's time
    assert since >= LAST_IMAGE_AGO_S
    expected = f"{since // 60} min {since % 60:02d} s ago"
    assert card.locator(".since-last-image").inner_text() == expected
    png = (result.folder / "summary.png").read_bytes()
    width = struct.unpack(">I", png[16:20])[0]  # the PNG header's width
    image = card.locator("img.summary")
    image.wait_for()
    shown = page.evaluate("(img) => img.complete && img.naturalWidth", image.element_handle())
    assert shown == width

    clock.advance(95)
    card.locator("button.acknowledge").click()
    page.wait_for_load_state()
    acknowledged = page.locator(f"#alert-{alert.id} .acknowledged")
    assert acknowledged.locator(".by").inner_text() == "dr-a"
    assert acknowledged.locator(".at").inner_text() == _hospital_clock(clock.now)
    assert page.locator("button.acknowledge").count() == 0
    stored = AlertStore(service.context.database).get(alert.id)
    assert (stored.acknowledged_by, stored.acknowledged_via) == ("dr-a", "web page")
    assert stored.acknowledged_at == clock.now
    assert (stored.received_by, stored.received_via) == ("dr-a", "web page")


def test_without_a_session_nothing_of_the_patient_is_served(node) -> None:
    service, _, alert = node
    with httpx.Client(base_url=service.url, follow_redirects=False) as client:
        answers = [
            client.get("/alerts"),
            client.get(f"/alerts/{alert.id}/image"),
            client.post(f"/alerts/{alert.id}/ack", data={"csrf": "x"}),
            client.get("/api/alerts"),
            client.get("/api/studies"),
        ]
    with httpx.Client(base_url=service.url, cookies={"halong_session": "made-up"}) as client:
        answers.append(client.get("/alerts", follow_redirects=False))
    assert [a.status_code for a in answers] == [303, 403, 303, 401, 401, 303]
    assert {a.headers["location"] for a in answers if a.status_code == 303} == {"/login"}
    for answer in answers:
        assert PATIENT_NAME not in answer.text and PATIENT_ID not in answer.text
        assert answer.headers["Cache-Control"] == "no-store"
    assert not AlertStore(service.context.database).get(alert.id).acknowledged


def test_a_session_expires_when_idle_and_after_its_longest_life(node, page) -> None:
    service, clock, _ = node
    _log_in(page, service.url, "dr-a")
    assert page.url.endswith("/alerts")
    clock.advance(POLICY.idle_s - 10)
    page.reload()
    assert page.url.endswith("/alerts")  # used in time: the idle time starts again
    clock.advance(POLICY.idle_s + 1)
    page.reload()
    assert page.url.endswith("/login")
    _log_in(page, service.url, "dr-a")
    reload_url = page.locator("meta[http-equiv=refresh]").get_attribute("content").split("url=")[1]
    clock.advance(POLICY.idle_s - 10)
    page.goto(f"{service.url}{reload_url}")
    assert page.url.endswith(reload_url)  # still in: the page reloads itself
    clock.advance(20)
    page.goto(f"{service.url}{reload_url}")
    assert page.url.endswith("/login")  # ... but its reloading is nobody's activity
    _log_in(page, service.url, "dr-a")
    for _ in range(int(POLICY.max_s // (POLICY.idle_s - 10)) + 1):
        clock.advance(POLICY.idle_s - 10)
        page.reload()
    assert page.url.endswith("/login")  # never idle, but older than max_s


def test_forged_and_cross_site_posts_are_refused(node, page) -> None:
    service, _, alert = node
    _log_in(page, service.url, "dr-a")
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    csrf = page.locator(f"#alert-{alert.id} input[name=csrf]").get_attribute("value")
    target = f"/alerts/{alert.id}/ack"
    with httpx.Client(base_url=service.url, cookies=cookies, follow_redirects=False) as client:
        no_token = client.post(target, data={})
        wrong_token = client.post(target, data={"csrf": "guessed"})
        other_site = client.post(
            target, data={"csrf": csrf}, headers={"Origin": "http://evil.test"}
        )
    assert [a.status_code for a in (no_token, wrong_token, other_site)] == [403, 403, 403]
    assert not AlertStore(service.context.database).get(alert.id).acknowledged


def test_an_observer_sees_the_alert_but_cannot_acknowledge(node, page) -> None:
    service, _, alert = node
    _log_in(page, service.url, "nurse")
    card = page.locator(f"#alert-{alert.id}")
    assert card.locator(".patient").inner_text() == PATIENT_NAME
    assert card.locator("button.acknowledge").count() == 0
    assert "Waiting for dr-a" in card.locator(".waiting").inner_text()
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    csrf = page.locator("form.user input[name=csrf]").get_attribute("value")
    with httpx.Client(base_url=service.url, cookies=cookies) as client:
        refused = client.post(f"/alerts/{alert.id}/ack", data={"csrf": csrf})
    assert refused.status_code == 403
    stored = AlertStore(service.context.database).get(alert.id)
    assert not stored.acknowledged
    assert stored.received_at is None  # seen by an observer: not yet received by the team


def test_an_alert_not_acknowledged_in_time_goes_to_the_next_on_call(node, page, mail) -> None:
    service, clock, alert = node
    service.tick()  # the ticker delivers what on_result queued
    assert [to for to, _ in mail.messages] == [["dr-a@hospital.test"]]
    clock.advance(599)
    service.tick()
    assert AlertStore(service.context.database).get(alert.id).recipient == "dr-a"
    clock.advance(2)
    service.tick()
    escalated = AlertStore(service.context.database).get(alert.id)
    assert (escalated.recipient, escalated.escalation_level) == ("dr-b", 1)
    (step,) = [s for s in escalated.steps if s.step == "escalated"]
    assert step.at == clock.now
    assert "not acknowledged by dr-a within 601 s" in step.detail and "dr-b" in step.detail
    assert [to for to, _ in mail.messages] == [["dr-a@hospital.test"], ["dr-b@hospital.test"]]

    _log_in(page, service.url, "dr-b")
    card = page.locator(f"#alert-{alert.id}")
    assert card.locator(".recipient").inner_text() == "dr-b (escalated 1×)"
    card.locator("summary").click()
    assert "escalated" in card.locator(".steps").inner_text()

    clock.advance(601)
    service.tick()
    last = AlertStore(service.context.database).get(alert.id)
    assert last.exhausted and last.recipient == "dr-b" and last.steps[-1].step == "exhausted"
    assert "no one left on the on-call list" in last.steps[-1].detail
    clock.advance(601)
    service.tick()
    assert len(mail.messages) == 2  # nobody left to escalate to: no more e-mail
    assert AlertStore(service.context.database).get(alert.id).steps[-1].step == "exhausted"
