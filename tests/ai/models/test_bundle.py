"""MONAI bundle loading: a bundle made here loads without network, broken ones fail clearly."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import numpy as np
import pytest
import torch

from ai.models.bundle import BundleError, load_bundle
from ai.models.device import DeviceError, describe_device, select_device

NETWORK = {
    "_target_": "monai.networks.nets.Classifier",
    "in_shape": [1, 8, 8, 8],
    "classes": 1,
    "channels": [2, 4],
    "strides": [2, 2],
    "num_res_units": 0,
}


def _network():
    from monai.networks.nets import Classifier

    arguments = {k: v for k, v in NETWORK.items() if k != "_target_"}
    torch.manual_seed(3)
    return Classifier(**arguments)


def make_bundle(root: Path, inference: dict | None = None, weights=None) -> Path:
    """A bundle folder in the MONAI layout, with weights from a known network."""
    (root / "configs").mkdir(parents=True)
    (root / "models").mkdir()
    metadata = {"name": "tiny_test_bundle", "version": "0.0.1", "network_data_format": {}}
    (root / "configs" / "metadata.json").write_text(json.dumps(metadata))
    inference = inference if inference is not None else {"network_def": NETWORK}
    (root / "configs" / "inference.json").write_text(json.dumps(inference))
    torch.save(
        weights if weights is not None else _network().state_dict(), root / "models" / "model.pt"
    )
    return root


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a network connection fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("the bundle loader tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_a_bundle_loads_offline_and_computes_what_its_weights_compute(tmp_path, no_network):
    root = make_bundle(tmp_path / "bundle")
    bundle = load_bundle(root, torch.device("cpu"))
    assert bundle.name == "tiny_test_bundle" and bundle.version == "0.0.1"
    x = torch.rand(3, 1, 8, 8, 8)
    reference = _network().eval()
    with torch.no_grad():
        assert torch.allclose(bundle.network(x), reference(x))
    assert not bundle.network.training


def test_references_and_expressions_go_through_monais_parser(tmp_path, no_network):
    inference = {
        "channels": [2, 4],
        "network_def": {**NETWORK, "channels": "@channels", "strides": "$[2, 2]"},
    }
    bundle = load_bundle(make_bundle(tmp_path / "bundle", inference), torch.device("cpu"))
    assert sum(p.numel() for p in bundle.network.parameters()) == sum(
        p.numel() for p in _network().parameters()
    )


def test_a_wrapped_checkpoint_loads(tmp_path):
    root = make_bundle(tmp_path / "bundle", weights={"model": _network().state_dict()})
    assert load_bundle(root, torch.device("cpu")).network is not None


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda root: None, "does not exist"),
        (lambda root: (root / "models" / "model.pt").unlink(), "has no weights"),
        (lambda root: (root / "configs" / "metadata.json").unlink(), "has no metadata.json"),
        (lambda root: (root / "configs" / "inference.json").write_text("{not json"), "cannot read"),
        (lambda root: (root / "configs" / "inference.json").write_text("[]"), "JSON object"),
        (
            lambda root: (root / "configs" / "inference.json").write_text('{"device": "cpu"}'),
            "declares no 'network_def'",
        ),
        (
            lambda root: (root / "configs" / "inference.json").write_text(
                json.dumps(
                    {"network_def": {**NETWORK, "_target_": "monai.networks.nets.NoSuchNet"}}
                )
            ),
            "cannot build 'network_def'",
        ),
        (
            lambda root: (root / "configs" / "inference.json").write_text(
                json.dumps({"network_def": {**NETWORK, "channels": [3, 5]}})
            ),
            "do not fit the network",
        ),
        (
            lambda root: (root / "models" / "model.pt").write_bytes(b"garbage"),
            "cannot read the weights",
        ),
    ],
    ids=[
        "missing-folder",
        "no-weights",
        "no-metadata",
        "bad-json",
        "not-an-object",
        "no-network",
        "unknown-target",
        "wrong-shape",
        "corrupt-weights",
    ],
)
def test_broken_bundles_fail_with_a_message_naming_the_problem(tmp_path, damage, message):
    root = tmp_path / "bundle"
    if message != "does not exist":
        make_bundle(root)
    damage(root)
    with pytest.raises(BundleError, match=message) as raised:
        load_bundle(root, torch.device("cpu"))
    assert "\n" not in str(raised.value)


def test_weights_that_would_run_code_are_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    root = make_bundle(tmp_path / "bundle", weights={"model": Evil()})
    with pytest.raises(BundleError, match="cannot read the weights"):
        load_bundle(root, torch.device("cpu"))


def test_device_selection(monkeypatch):
    monkeypatch.delenv("HALONG_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert select_device().type == expected
    assert select_device("cpu").type == "cpu"
    monkeypatch.setenv("HALONG_DEVICE", "cpu")
    assert select_device().type == "cpu"
    assert describe_device(torch.device("cpu")) == "cpu"
    with pytest.raises(DeviceError, match="unknown device"):
        select_device("tpu:7")
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="no CUDA"):
            select_device("cuda")


def test_the_shipped_bundle_is_small_declared_data_with_its_accuracy():
    from ai.lung.classifier import NoduleClassifier, shipped_bundle_path

    root = shipped_bundle_path()
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    assert size < 5 * 1024 * 1024
    metadata = json.loads((root / "configs" / "metadata.json").read_text())
    record = metadata["halong_training"]
    assert record["val_scans"] >= 10 and record["froc"]
    readme = (root / "docs" / "README.md").read_text()
    assert "sensitivity" in readme and "held-out" in readme
    classifier = NoduleClassifier.load(root, torch.device("cpu"))
    assert 0 < classifier.threshold < 1
    patches = torch.zeros(2, 1, classifier.spec.size, classifier.spec.size, classifier.spec.size)
    scores = classifier.predict(patches)
    assert scores.shape == (2,) and np.all((scores >= 0) & (scores <= 1))
