"""on_result on a real perfusion result: one alert with the six ACR elements, sent to the
EMR as a valid FHIR R4 Communication and by e-mail, each step stored and audited."""

from __future__ import annotations

import base64
import dataclasses
import json
import time
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle
from support.audit_trails import read_chain
from support.emr_receivers import FhirServer
from support.mail_server import MailServer
from support.node_alerts import (
    PATIENT_ID,
    PATIENT_NAME,
    add_on_call_team,
    deliver_outbox,
    job_record,
    node_home,
    perfusion_result,
)

from workstation.net.destinations import Destination, HttpEndpoint
from workstation.net.fhir_bundles import check_resendable
from workstation.net.outbox import Outbox
from workstation.net.smtp import SmtpEndpoint
from workstation.node import alerts
from workstation.node.alert_settings import AlertSettings, load_settings, save_settings
from workstation.node.alert_store import AlertStore
from workstation.node.communication import ALERT_SYSTEM


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return perfusion_result(tmp_path_factory)


@pytest.fixture
def emr():
    server = FhirServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mail():
    with MailServer() as server:
        yield server


@pytest.fixture
def node(result, tmp_path: Path, emr: FhirServer, mail: MailServer):
    """A data folder with the result, two users on call, the EMR and the mail server."""
    home, folder = node_home(result, tmp_path / "home")
    database = home.node_database
    on_call = add_on_call_team(database)
    smtp = SmtpEndpoint.from_options(mail.address, {})
    settings = AlertSettings(
        fhir=Destination.fhir(HttpEndpoint(emr.url)),
        smtp=Destination.smtp(mail.address, smtp.options()),
        mail_from="halong-node@hospital.test",
        on_call=on_call,
        page_url="https://node.hospital.test",
    )
    save_settings(database, settings)
    return home, folder


def _communications(bundle: dict) -> list[dict]:
    return [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Communication"
    ]


def test_a_critical_result_becomes_one_alert_with_the_six_acr_elements(result, node) -> None:
    home, folder = node
    last_image, finished = time.time() - 400, time.time() - 100
    alert = alerts.on_result(
        home.node_database, home, job_record(result, folder, last_image, finished)
    )
    assert alert is not None
    truth = result.truth
    # 1 the finding, with the key numbers near the phantom's truth
    assert alert.finding.startswith("Target mismatch profile")
    assert alert.numbers["core_ml"] == pytest.approx(truth.core_ml, rel=0.15)
    assert alert.numbers["hypoperfusion_ml"] == pytest.approx(truth.hypoperfusion_ml, rel=0.1)
    assert alert.numbers["defuse3"] == "needs input"
    # 2 when identified, 3 by what
    assert alert.identified_at == pytest.approx(finished)
    assert alert.last_instance_at == pytest.approx(last_image)
    assert (alert.algorithm, alert.algorithm_version) == ("halong-perfusion", "1.0.0")
    # 4 the recipient: the first on call; 5/6 received and acknowledged, and how: not yet
    assert alert.recipient == "dr-a" and alert.received_at is None and not alert.acknowledged
    assert alert.patient.patient_id == PATIENT_ID and alert.patient_name == PATIENT_NAME
    assert alert.study.study_uid == result.study_uid
    assert alert.summary_image == folder / "summary.png"
    steps = [(s.step, s.channel) for s in alert.steps]
    assert steps == [("created", "node"), ("notified", "fhir"), ("notified", "e-mail")]
    again = alerts.on_result(
        home.node_database, home, job_record(result, folder, last_image, finished)
    )
    assert again is not None and again.id == alert.id  # the same result is the same alert
    assert len(AlertStore(home.node_database).recent()) == 1

    shown = AlertStore(home.node_database).get(alert.id)
    alerts.shown(home.node_database, home, [shown], "dr-a", "web page")
    done = alerts.acknowledge(home.node_database, home, alert.id, "dr-a", "web page", time.time())
    assert (done.received_by, done.received_via) == ("dr-a", "web page")
    assert (done.acknowledged_by, done.acknowledged_via) == ("dr-a", "web page")
    assert done.received_at <= done.acknowledged_at
    twice = alerts.acknowledge(home.node_database, home, alert.id, "dr-b", "api", time.time())
    assert twice.acknowledged_by == "dr-a"  # the first acknowledgement stands

    audited = [
        code.get("csd-code")
        for record in read_chain(home.audit)
        for code in record.message.iter("EventTypeCode")
        if code.get("codeSystemName") == "99HALONG"
    ]
    assert audited == [
        "critical-result-created",
        "critical-result-notified",
        "critical-result-notified",
        "critical-result-received",
        "critical-result-acknowledged",
        "critical-result-notified",
    ]
    patients = {
        item.get("ParticipantObjectID")
        for record in read_chain(home.audit)
        for item in record.message.iter("ParticipantObjectIdentification")
        if item.get("ParticipantObjectTypeCodeRole") == "1"
    }
    assert patients == {PATIENT_ID}


def test_the_emr_receives_a_valid_fhir_communication_and_its_acknowledgement(
    result, node, emr: FhirServer
) -> None:
    home, folder = node
    alert = alerts.on_result(
        home.node_database, home, job_record(result, folder, time.time(), time.time())
    )
    assert alert is not None
    assert emr.bundles == []  # queued: the node's sender delivers it
    deliver_outbox(home)
    assert len(emr.bundles) == 1
    bundle = emr.bundles[0]
    Bundle.model_validate(bundle)  # R4B, every resource and reference type
    check_resendable(bundle)  # a resend after a crash duplicates nothing
    (communication,) = _communications(bundle)
    assert communication["status"] == "completed" and communication["priority"] == "stat"
    assert communication["identifier"] == [{"system": ALERT_SYSTEM, "value": alert.uid}]
    assert communication["sent"]
    by_url = {entry["fullUrl"]: entry["resource"] for entry in bundle["entry"]}
    patient = by_url[communication["subject"]["reference"]]
    assert patient["identifier"][0]["value"] == PATIENT_ID
    study = by_url[communication["about"][0]["reference"]]
    assert study["resourceType"] == "ImagingStudy"
    assert study["identifier"][0]["value"] == f"urn:oid:{result.study_uid}"
    text, image = communication["payload"]
    core = f"{result.document['core_ml']:.1f}"
    assert "Target mismatch" in text["contentString"] and core in text["contentString"]
    attachment = image["contentAttachment"]
    assert attachment["contentType"] == "image/png"
    assert base64.b64decode(attachment["data"]) == (folder / "summary.png").read_bytes()

    alerts.acknowledge(home.node_database, home, alert.id, "dr-a", "web page", time.time())
    deliver_outbox(home)
    assert len(emr.bundles) == 2
    Bundle.model_validate(emr.bundles[1])
    (answer,) = _communications(emr.bundles[1])
    assert (
        answer["inResponseTo"][0]["reference"]
        == f"Communication?identifier={ALERT_SYSTEM}|{alert.uid}"
    )
    assert "acknowledged by dr-a" in answer["payload"][0]["contentString"]
    # the EMR created the patient and the study once, each Communication once
    assert emr.created[("Patient", f"urn:halong:patient-id|{PATIENT_ID}")] == 1
    assert sum(1 for kind, _ in emr.created if kind == "Communication") == 2


def test_the_on_call_person_gets_an_e_mail_that_names_no_patient(result, node, mail) -> None:
    home, folder = node
    alert = alerts.on_result(
        home.node_database, home, job_record(result, folder, time.time(), time.time())
    )
    assert alert is not None
    deliver_outbox(home)
    assert len(mail.messages) == 1
    recipients, message = mail.messages[0]
    assert recipients == ["dr-a@hospital.test"]
    assert message["From"] == "halong-node@hospital.test"
    assert "Target mismatch" in message["Subject"]
    body = message.get_content()
    assert "https://node.hospital.test/alerts" in body
    assert f"{result.document['core_ml']:.1f}" in body
    for identifying in (PATIENT_ID, PATIENT_NAME, "Le^Van", "Hung", "ACC-300", result.study_uid):
        assert identifying not in message.as_string()
    assert not list(message.iter_attachments())
    with Outbox.open(home.outbox) as box:
        assert {item.status for item in box.items()} == {"delivered"}


def test_a_result_that_is_not_critical_raises_nothing(result, node, tmp_path: Path) -> None:
    home, folder = node
    rules = tmp_path / "rules.json"
    rules.write_text(
        json.dumps(
            {
                "rules": [
                    {
                        "id": "huge-core",
                        "result": "perfusion",
                        "finding": "core over 100 ml",
                        "when": {"measurement": "core_ml", "at_least": 100},
                    }
                ]
            }
        )
    )
    settings = load_settings(home.node_database)
    save_settings(home.node_database, dataclasses.replace(settings, rules_file=rules))
    assert alerts.on_result(home.node_database, home, job_record(result, folder, 0, 0)) is None
    assert AlertStore(home.node_database).recent() == []


def test_a_result_changed_after_the_engine_wrote_it_raises_no_alert(result, node, caplog) -> None:
    home, folder = node
    document = json.loads((folder / "perfusion.json").read_text())
    document["core_ml"] = 90.0
    (folder / "perfusion.json").write_text(json.dumps(document))
    assert alerts.on_result(home.node_database, home, job_record(result, folder, 0, 0)) is None
    assert "changed after the analysis wrote it" in caplog.text
    assert AlertStore(home.node_database).recent() == []


def test_a_node_without_its_web_page_still_escalates_an_unanswered_alert(
    result, node, mail: MailServer, halong_scp_port: int
) -> None:
    from support.net_fixtures import wait_for
    from support.node_runs import running_node

    home, folder = node
    database = home.node_database
    settings = load_settings(database)
    save_settings(database, dataclasses.replace(settings, fhir=None, acknowledge_within_s=1.0))
    now = time.time()
    alert = alerts.on_result(database, home, job_record(result, folder, now - 300, now - 30))
    assert alert is not None
    first = alert.recipient
    values = {
        "port": halong_scp_port,
        "listen": "127.0.0.1",
        "http": "off",
        "pacs": ["PACS@127.0.0.1:1"],  # never called: nothing is analysed here
        "allow": ["CT1@127.0.0.1"],
    }
    with running_node(home.root, values):
        wait_for(
            lambda: AlertStore(database).get(alert.id).recipient != first, 60, "the escalation"
        )
    escalated = AlertStore(database).get(alert.id)
    assert escalated.recipient == load_settings(database).on_call[1] != first
    assert escalated.acknowledged_at is None
