"""``halong node``: settings from options and from a TOML file (options win), one line for
each setting it cannot use (a Ray cluster that does not answer too), a clean stop on SIGTERM."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pynetdicom import AE
from pynetdicom.sop_class import Verification
from support.node_runs import NodeProcess
from support.orthanc_server import free_port


def _one_line_error(result) -> str:
    assert result.status == 2, result
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("halong node: error: "), result.err
    return lines[0]


BASE = ("--pacs", "PACS@127.0.0.1:4242", "--allow", "CT1@127.0.0.1", "--http", "off")


@pytest.mark.parametrize(
    ("options", "said"),
    [
        (("--allow", "CT1@127.0.0.1"), "--pacs AET@HOST:PORT"),
        (("--pacs", "PACS@127.0.0.1:4242"), "--allow AET@HOST"),
        ((*BASE, "--allow", "CT2"), "'CT2' is not AET@HOST"),
        ((*BASE, "--pacs", "nowhere"), "is not AET@HOST:PORT"),
        ((*BASE, "--aet", "A-TITLE-FAR-TOO-LONG"), "not a valid AE title"),
        ((*BASE, "--port", "70000"), "port must be from 1 to 65535"),
        ((*BASE, "--workers", "0"), "workers must be from 1"),
        ((*BASE, "--stable-seconds", "-1"), "stable-seconds must be from 0"),
        ((*BASE, "--fhir", "ftp://emr"), "is not an http:// or https:// URL"),
        ((*BASE, "--ray", "127.0.0.1:1"), "no Ray cluster answers there"),
        ((*BASE, "--ray", "cluster"), "give the cluster as HOST:PORT"),
    ],
)
def test_a_setting_it_cannot_use_is_named_in_one_line(halong, options, said) -> None:
    assert said in _one_line_error(halong("node", *options))


def test_a_config_file_or_rules_file_it_cannot_use_is_named(halong, tmp_path: Path) -> None:
    config = tmp_path / "node.toml"
    config.write_text('aet = "HALONG"\ncolour = "blue"\n')
    assert "unknown setting(s) colour" in _one_line_error(halong("node", "--config", config))
    config.write_text("aet = [unclosed\n")
    assert "is not valid TOML" in _one_line_error(halong("node", "--config", config))
    missing = tmp_path / "missing.json"
    assert str(missing) in _one_line_error(halong("node", *BASE, "--rules", missing))
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"rules": [{"name": "x", "workflow": "brain-age"}]}))
    assert "workflow 'brain-age'" in _one_line_error(halong("node", *BASE, "--rules", rules))


def _echo(port: int, called: str = "HALONG") -> bool:
    ae = AE("CT1")
    ae.add_requested_context(Verification)
    assoc = ae.associate("127.0.0.1", port, ae_title=called)
    if not assoc.is_established:
        return False
    status = assoc.send_c_echo()
    assoc.release()
    return status.Status == 0x0000


def test_it_serves_as_the_toml_file_says_options_winning_and_stops_on_sigterm(
    tmp_path: Path,
) -> None:
    written, given = free_port(), free_port()
    config = tmp_path / "node.toml"
    config.write_text(
        f'aet = "TRIAGE"\nport = {written}\nlisten = "127.0.0.1"\nhttp = "off"\n'
        f'pacs = ["PACS@127.0.0.1:4242"]\nallow = ["CT1@127.0.0.1"]\nstable-seconds = 2.5\n'
    )
    home = tmp_path / "home"
    node = NodeProcess(home, {"config": config, "port": given}, tmp_path / "node.log")
    node.start(given)
    assert _echo(given, "TRIAGE")  # the file's AE title, on the port of the option
    assert not _echo(given, "HALONG")
    assert node.stop() == 0
    log = (tmp_path / "node.log").read_text()
    assert f"TRIAGE listening on 127.0.0.1:{given} for CT1@127.0.0.1; routing by" in log
    assert "Traceback" not in log


def test_a_second_node_on_the_same_data_folder_is_refused(halong, halong_home, tmp_path) -> None:
    first = free_port()
    values = {"port": first, "listen": "127.0.0.1", "http": "off"}
    values |= {"pacs": "PACS@127.0.0.1:4242", "allow": "CT1@127.0.0.1"}
    node = NodeProcess(halong_home, values, tmp_path / "node.log")
    node.start(first)
    try:
        second = halong("node", *BASE, "--port", free_port(), "--listen", "127.0.0.1")
        assert "another node runs on this data folder" in _one_line_error(second)
    finally:
        assert node.stop() == 0
