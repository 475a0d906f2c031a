"""Acceptance on held-out synthetic chests (CI size): the issue's thresholds, against truth.

Three phantoms with seeds and a grid the network never saw in training (training uses
seeds 10 000-20 999); the full evaluation over 12 scans is ``python -m benchmarks.lung``.
"""

from __future__ import annotations

import pytest
import torch

from ai.lung.classifier import NoduleClassifier
from ai.lung.evaluation import Acceptance, PhantomCase, acceptance, run_phantom

CASES = [PhantomCase(91_000 + i, (140, 320, 320), (0.85, 0.85, 1.25)) for i in range(3)]


@pytest.fixture(scope="module")
def result() -> Acceptance:
    classifier = NoduleClassifier.load(device=torch.device("cpu"))
    return acceptance([run_phantom(case, classifier) for case in CASES])


def test_sensitivity_for_nodules_of_4mm_or_more_at_one_false_positive_per_scan(result):
    assert result.nodules >= 15
    assert result.sensitivity >= 0.95, result.misses
    assert result.fp_per_scan <= 1.0


def test_volume_error_for_nodules_of_6mm_or_more_on_thin_slices(result):
    assert result.volume_nodules >= 8
    assert result.volume_error_mean <= 0.10, result.volume_error_max


def test_type_is_right_for_nine_in_ten(result):
    assert result.type_accuracy >= 0.90
