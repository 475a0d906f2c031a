"""The training script's pieces: labelled patches from a synthetic chest, a loadable bundle."""

from __future__ import annotations

import json

import numpy as np
import torch

from ai.lung.classifier import NoduleClassifier
from ai.lung.train_classifier import (
    SPEC,
    TRAIN_SEED_BASE,
    build_network,
    make_scene,
    scene_patches,
    write_bundle,
)


def test_scene_patches_are_labelled_against_truth():
    scene = make_scene(TRAIN_SEED_BASE + 3)
    patches, labels = scene_patches(scene, np.random.default_rng(0), negatives=50, jitters=2)
    assert patches.dtype == np.uint8 and patches.shape[1:] == (SPEC.size,) * 3
    assert set(np.unique(labels)) <= {0, 1}
    assert np.count_nonzero(labels == 1) >= 2 * len(scene.phantom.nodules)
    assert 0 < np.count_nonzero(labels == 0) <= 50
    # a nodule patch is brighter in its middle than a random look-alike's surroundings
    middle = slice(SPEC.size // 2 - 2, SPEC.size // 2 + 2)
    assert patches[labels == 1][:, middle, middle, middle].mean() > 60


def test_write_bundle_gives_a_bundle_halong_loads(tmp_path):
    record = {
        "version": "0.0.0",
        "command_args": "--test",
        "train_scans": 1,
        "val_scans": 1,
        "train_patches": 10,
        "train_nodule_patches": 5,
        "epochs": 0,
        "steps_per_epoch": 0,
        "parameters": 1,
        "training_seconds": 0.0,
        "data_seconds": 0.0,
        "machine": "test",
        "froc": [{"fp_per_scan": 1.0, "sensitivity": 0.5, "threshold": 0.7}],
        "threshold": 0.7,
        "operating_sensitivity": 0.5,
        "operating_fp_per_scan": 1.0,
        "held_out_patches": {"patches": 2, "nodule_patches": 1, "accuracy": 0.5, "auc": 0.5},
    }
    write_bundle(tmp_path / "bundle", build_network(), 0.7, record)
    classifier = NoduleClassifier.load(tmp_path / "bundle", torch.device("cpu"))
    assert classifier.threshold == 0.7 and classifier.spec == SPEC
    metadata = json.loads((tmp_path / "bundle" / "configs" / "metadata.json").read_text())
    assert metadata["network_data_format"]["inputs"]["image"]["spatial_shape"] == [SPEC.size] * 3
    assert "0.7" in (tmp_path / "bundle" / "docs" / "README.md").read_text()
