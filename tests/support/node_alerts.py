"""A real perfusion result for the node's alert tests, and a fresh data folder around it.

The small CT perfusion phantom (``support.perfusion_studies``) is analysed once per
session by ``halong perfusion``, as the node's workflow would: its truth (core 13.5 ml,
Tmax > 6 s 121.9 ml, so mismatch 108 ml and ratio 9) meets the DEFUSE 3 target-mismatch
imaging criteria (core < 70 ml, mismatch >= 15 ml, ratio >= 1.8) and not the large-core
rule (>= 70 ml). Each test gets its own data folder holding a copy of the result and the
key that sealed it, so the gate's manifest check passes as it would on the node.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from support import real_parts
from support.perfusion_studies import write_ctp_phantom

PATIENT_ID, PATIENT_NAME = "PAT-300", "Le Van Hung"
PASSWORD = "correct horse battery"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """Headless Chromium (Debian's) driven by Playwright: a ``Browser`` until the block ends."""
    if shutil.which("chromium") is None:
        real_parts.missing("chromium", "chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def phone_page(browser: Any) -> Iterator[Any]:
    """A page of its own (cookies and all) in ``browser``, the size of a phone's screen."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        yield context.new_page()
    finally:
        context.close()


@dataclass(frozen=True)
class PerfusionResult:
    folder: Path
    seal_key: Path
    study_uid: str
    series_uid: str
    truth: Any  # ai.phantoms.PerfusionPhantom

    @property
    def document(self) -> dict[str, Any]:
        return json.loads((self.folder / "perfusion.json").read_text(encoding="utf-8"))


_made: dict[Path, PerfusionResult] = {}


def perfusion_result(factory: pytest.TempPathFactory) -> PerfusionResult:
    """The phantom's result, made on first use in the session."""
    base = factory.getbasetemp()
    if base not in _made:
        from workstation.cli import main

        root = factory.mktemp("perfusion-result")
        written = write_ctp_phantom(root / "ctp")
        out = root / "result"
        status = main(
            ["--home", str(root / "home"), "perfusion", str(written.folder), "--out", str(out)]
        )
        assert status == 0
        series_uid = json.loads((out / "perfusion.json").read_text())["input"]["series_uid"]
        key = root / "home" / "keys" / "result-seal.key"
        _made[base] = PerfusionResult(out, key, written.study_uid, series_uid, written.phantom)
    return _made[base]


def node_home(result: PerfusionResult, root: Path):
    """A new data folder with a copy of ``result`` sealed by its key: (home, result folder)."""
    from workstation.home import HalongHome

    home = HalongHome(root)
    (root / "keys").mkdir(parents=True, mode=0o700)
    shutil.copy2(result.seal_key, root / "keys" / "result-seal.key")
    folder = shutil.copytree(result.folder, home.new_result_folder(result.study_uid, "perfusion"))
    return home, folder


def job_record(result: PerfusionResult, folder: Path, last_image_at: float, finished_at: float):
    """What the node core hands ``on_result``: its job table's row."""
    return {
        "series_uid": result.series_uid,
        "study_uid": result.study_uid,
        "kind": "perfusion",
        "result_folder": folder,
        "last_instance_at": last_image_at,
        "finished_at": finished_at,
    }


class FakeClock:
    """Unix seconds that move only when a test says so."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def deliver_outbox(home) -> None:
    """One pass of the outbox, as the node's sender makes every few seconds."""
    from workstation.net.delivery import deliver
    from workstation.net.outbox import Outbox

    with Outbox.open(home.outbox) as box:
        deliver(box)


#: The two physicians on call in the alert tests, in escalation order, with their e-mail.
ON_CALL = {"dr-a": "dr-a@hospital.test", "dr-b": "dr-b@hospital.test"}


def add_on_call_team(database: Path) -> tuple[str, ...]:
    """Accounts for :data:`ON_CALL`; their names, in order."""
    from workstation.node.accounts import add_user

    for name, address in ON_CALL.items():
        add_user(database, name, "physician", PASSWORD, address)
    return tuple(ON_CALL)
