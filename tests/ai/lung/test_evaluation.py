"""Counting hits, false positives and FROC points on hand-made cases."""

from __future__ import annotations

import numpy as np

from ai.lung.evaluation import ScanResult, froc, hit_matrix, operating_point


def test_a_detection_hits_a_nodule_when_its_centre_lies_inside():
    truth = np.array([[0.0, 0.0, 0.0]])
    radius = np.array([5.0])
    detections = np.array([[4.0, 0, 0], [6.0, 0, 0], [0, 0, 6.0], [0, 0, 8.0]])
    hits = hit_matrix(detections, truth, radius, slice_mm=4.0)[:, 0]
    # along z half a slice (2 mm) more is allowed
    assert hits.tolist() == [True, False, True, False]
    small = hit_matrix(np.array([[2.5, 0, 0]]), truth, np.array([1.0]), slice_mm=1.0)
    assert small[0, 0]  # at least 3 mm


def test_froc_and_operating_point():
    scans = [
        ScanResult(
            np.array([0.9, 0.8, 0.3]),
            np.array([[1, 0], [0, 0], [0, 1]], bool),
            np.array([True, True]),
        ),
        ScanResult(np.array([0.7, 0.2]), np.array([[0], [0]], bool), np.array([True])),
    ]
    assert operating_point(scans, 0.85) == (1 / 3, 0.0)
    assert operating_point(scans, 0.25) == (2 / 3, 1.0)
    curve = froc(scans, rates=(0.5, 1.0, 2.0))
    assert curve.sensitivities == [1 / 3, 2 / 3, 2 / 3]
    assert curve.thresholds[0] >= 0.85
