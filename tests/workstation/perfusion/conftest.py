"""The small CT perfusion head phantom, analysed once for the summary-page tests."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from support.perfusion_studies import SMALL_HEAD

from ai.perfusion import PerfusionRequest, PerfusionResult, run_perfusion
from ai.phantoms import make_ctp_head
from ai.phantoms.perfusion_head import PerfusionPhantom


@dataclass(frozen=True)
class AnalysedHead:
    phantom: PerfusionPhantom
    result: PerfusionResult


@pytest.fixture(scope="session")
def analysed_head() -> AnalysedHead:
    """SMALL_HEAD and the engine's result on it (do not change the result in a test)."""
    phantom = make_ctp_head(**SMALL_HEAD)
    return AnalysedHead(phantom, run_perfusion(PerfusionRequest(phantom.volume)))
