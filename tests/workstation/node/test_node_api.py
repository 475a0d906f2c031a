"""The JSON API on the page's port: nothing without a bearer token, the alerts with their
key numbers, acknowledging through the API, and the series of the core's job table."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from support.node_alerts import PATIENT_ID, PATIENT_NAME, job_record, node_home, perfusion_result

from workstation.net.destinations import HostPort
from workstation.node import alerts
from workstation.node.accounts import new_token
from workstation.node.alert_settings import AlertSettings, save_settings
from workstation.node.config import NodeConfig
from workstation.node.jobs import JobTable
from workstation.node.web import start_web


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return perfusion_result(tmp_path_factory)


@pytest.fixture
def node(result, tmp_path: Path):
    home, folder = node_home(result, tmp_path / "home")
    save_settings(home.node_database, AlertSettings(on_call=("dr-a",)))
    service = start_web(NodeConfig(http=HostPort("127.0.0.1", 0)), home.node_database)
    yield service, home, folder
    service.stop()


def test_without_a_valid_token_the_api_says_nothing(node, result) -> None:
    service, home, folder = node
    alert = alerts.on_result(home.node_database, home, job_record(result, folder, 0, 0))
    assert alert is not None
    new_token(home.node_database, "pager")
    with httpx.Client(base_url=service.url) as client:
        answers = [
            client.get("/api/alerts"),
            client.get("/api/studies"),
            client.post(f"/api/alerts/{alert.id}/ack"),
            client.get("/api/alerts", headers={"Authorization": "Bearer not-a-token"}),
            client.get("/api/alerts", headers={"Authorization": "Basic cGFnZXI6eA=="}),
        ]
    assert [answer.status_code for answer in answers] == [401] * 5
    for answer in answers:
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
        assert PATIENT_NAME not in answer.text and PATIENT_ID not in answer.text


def test_alerts_and_their_acknowledgement_through_the_api(node, result) -> None:
    service, home, folder = node
    last_image = time.time() - 300
    alert = alerts.on_result(home.node_database, home, job_record(result, folder, last_image, 0))
    assert alert is not None
    token = new_token(home.node_database, "pager")
    headers = {"Authorization": f"Bearer {token}"}
    document = result.document
    with httpx.Client(base_url=service.url, headers=headers) as client:
        (listed,) = client.get("/api/alerts").json()["alerts"]
        assert listed["id"] == alert.id
        assert listed["patient"] == {"id": PATIENT_ID, "name": PATIENT_NAME}
        assert listed["finding"].startswith("Target mismatch profile")
        for key in ("core_ml", "hypoperfusion_ml", "tmax_gt10_ml", "mismatch_ml", "mismatch_ratio"):
            assert listed["numbers"][key] == pytest.approx(document[key], abs=0.01)
        assert listed["numbers"]["defuse3"] == "needs input"
        assert listed["created"] and listed["acknowledged_at"] is None
        assert listed["acknowledged_by"] is None

        missing = client.post("/api/alerts/999/ack")
        assert missing.status_code == 404 and "no alert 999" in missing.json()["error"]
        garbled = client.post(f"/api/alerts/{alert.id}/ack", content=b"{no", headers=headers)
        assert garbled.status_code == 400
        done = client.post(f"/api/alerts/{alert.id}/ack", json={"by": "dr-a"})
        assert done.status_code == 200
        assert done.json()["acknowledged_by"] == "dr-a (API token pager)"
        assert done.json()["acknowledged_via"] == "api"
        (listed,) = client.get("/api/alerts").json()["alerts"]
        assert listed["acknowledged_by"] == "dr-a (API token pager)" and listed["acknowledged_at"]


def test_studies_come_from_the_core_job_table(node) -> None:
    service, home, _ = node
    token = new_token(home.node_database, "dashboard")
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=service.url, headers=headers) as client:
        assert client.get("/api/studies").json() == {"studies": []}  # no job yet
        with JobTable.open(home.node_database) as jobs:
            job = jobs.add(
                series_uid="1.2.3.4",
                study_uid="1.2.3",
                patient_id="PAT-9",
                workflow="perfusion",
                rule="ct-perfusion",
                last_instance_at=1_700_000_000.0,
            )
            assert job is not None
            jobs.start(job.id, home.root / "results" / "x")
        (study,) = client.get("/api/studies").json()["studies"]
    assert (study["series_uid"], study["study_uid"]) == ("1.2.3.4", "1.2.3")
    assert (study["analysis"], study["status"]) == ("perfusion", "running")
    assert study["timings"]["last_image_at"] == "2023-11-14T22:13:20+00:00"
    assert study["timings"]["started_at"] is not None and study["timings"]["finished_at"] is None
