"""Fixtures of the node tests: the PACS (an Orthanc), a second Orthanc as the scanner,
and the node's DICOM port, which the scanner Orthanc knows as its modality "halong"."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.net_fixtures import _running_orthanc, halong_scp_port, orthanc
from support.orthanc_server import OrthancServer

__all__ = ["halong_scp_port", "orthanc", "scanner"]


@pytest.fixture
def scanner(tmp_path: Path, halong_scp_port: int) -> Iterator[OrthancServer]:
    """An Orthanc playing the CT scanner: it sends what it holds to the node."""
    yield from _running_orthanc(tmp_path / "scanner", halong_scp_port)
