"""Fixtures of the node tests: the PACS (an Orthanc), a second Orthanc as the scanner,
the node's DICOM port, which the scanner Orthanc knows as its modality "halong", and
headless Chromium for the web page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.net_fixtures import _running_orthanc, halong_scp_port, orthanc
from support.node_alerts import chromium, phone_page
from support.orthanc_server import OrthancServer

__all__ = ["halong_scp_port", "orthanc", "scanner"]


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium for the stroke team's page."""
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser):
    """A phone-sized page of its own."""
    with phone_page(browser) as opened:
        yield opened


@pytest.fixture
def scanner(tmp_path: Path, halong_scp_port: int) -> Iterator[OrthancServer]:
    """An Orthanc playing the CT scanner: it sends what it holds to the node."""
    yield from _running_orthanc(tmp_path / "scanner", halong_scp_port)
