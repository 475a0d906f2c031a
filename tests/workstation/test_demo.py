"""``halong demo --no-gui``: real DICOM studies with ground truth, indexed and loadable."""

from __future__ import annotations

import json

import numpy as np
import pytest

from workstation.demo import CTP_FRAMES, CTP_INTERVAL_S, CTP_SHAPE, truth_path
from workstation.dicom.loader import load_paths

pytestmark = pytest.mark.slow


def test_demo_writes_indexes_and_assembles_both_studies(halong, tmp_path):
    out = tmp_path / "demo"
    result = halong("demo", "--no-gui", "--out", out)
    assert result.status == 0, result.err

    studies = halong("studies", "--json").json()
    by_patient = {study["patient_id"]: study for study in studies}
    assert set(by_patient) == {"HL-DEMO-0001", "HL-DEMO-0002"}
    assert by_patient["HL-DEMO-0002"]["instance_count"] == CTP_FRAMES * CTP_SHAPE[0]

    perfusion = load_paths([out / "ct-perfusion"])
    assert perfusion.skipped == [] and len(perfusion.volumes) == 1
    ctp = perfusion.volumes[0]
    assert ctp.voxels.shape == (CTP_FRAMES, *CTP_SHAPE)
    np.testing.assert_allclose(ctp.frame_times, np.arange(CTP_FRAMES) * CTP_INTERVAL_S, atol=1e-3)
    truth = json.loads(truth_path(out / "ct-perfusion").read_text())
    assert truth["core_ml"] > 0 and truth["hypoperfusion_ml"] > truth["core_ml"]

    chest = load_paths([out / "chest-ct"]).volumes[0]
    nodules = json.loads(truth_path(out / "chest-ct").read_text())["nodules"]
    assert {n["type"] for n in nodules} == {"solid", "ground-glass", "part-solid"}
    for nodule in nodules:  # each nodule centre is brighter than lung in the written images
        i, j, k = np.rint(chest.world_to_index(nodule["center_lps_mm"])).astype(int)
        assert chest.voxels[k, j, i] > -750, nodule

    again = halong("demo", "--no-gui", "--out", out)
    assert again.status == 0 and "0 new" in again.out
