"""Load a MONAI bundle folder (``configs/metadata.json``, ``configs/inference.json``,
``models/model.pt``) without any network access.

A bundle is data: the network is declared by ``network_def`` in ``inference.json`` and
built with MONAI's ``ConfigParser`` (which only imports local modules), and the weights
are read with ``torch.load(weights_only=True)``, which cannot run code. Nothing here
downloads: a missing or broken bundle is reported as a :class:`BundleError` that names
the file and what is wrong with it, for the user to fix.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

METADATA = Path("configs") / "metadata.json"
INFERENCE = Path("configs") / "inference.json"
WEIGHTS = Path("models") / "model.pt"
NETWORK_KEY = "network_def"


class BundleError(Exception):
    """A bundle folder that cannot be used; the message says which file and why."""


@dataclass
class Bundle:
    """A loaded bundle: its network (eval mode, on ``device``) and its declared data."""

    root: Path
    metadata: dict[str, Any]
    inference: dict[str, Any]
    network: torch.nn.Module
    device: torch.device

    @property
    def name(self) -> str:
        return str(self.metadata.get("name") or self.root.name)

    @property
    def version(self) -> str:
        return str(self.metadata.get("version", ""))


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from a bundle file, or a BundleError naming the file."""
    if not path.is_file():
        raise BundleError(f"the bundle has no {path.name}: expected {path}")
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BundleError(f"cannot read {path}: {_first_line(error)}") from error
    if not isinstance(value, dict):
        raise BundleError(f"{path} must hold a JSON object, not {type(value).__name__}")
    return value


def load_bundle(root: str | Path, device: torch.device | None = None) -> Bundle:
    """Read, build and load a bundle folder onto ``device`` (default: :func:`select_device`)."""
    import torch

    from ai.models.device import select_device

    root = Path(root).expanduser()
    if not root.is_dir():
        raise BundleError(f"the model bundle folder does not exist: {root}")
    metadata = read_json(root / METADATA)
    inference = read_json(root / INFERENCE)
    if NETWORK_KEY not in inference:
        raise BundleError(f"{root / INFERENCE} declares no {NETWORK_KEY!r}: no network to build")
    weights = root / WEIGHTS
    if not weights.is_file():
        raise BundleError(f"the bundle has no weights: expected {weights}")
    device = device or select_device()
    network = _build_network(inference, root / INFERENCE)
    try:
        state = torch.load(weights, map_location=device, weights_only=True)
    except Exception as error:  # pickle, zip and torch errors all mean a bad weights file
        raise BundleError(f"cannot read the weights {weights}: {_first_line(error)}") from error
    if isinstance(state, dict) and isinstance(state.get("model"), dict):
        state = state["model"]  # MONAI checkpoints often wrap the state dict
    if not isinstance(state, dict):
        raise BundleError(f"{weights} holds no state dict (found {type(state).__name__})")
    try:
        network.load_state_dict(state)
    except RuntimeError as error:
        lines = str(error).strip().splitlines()
        detail = lines[1].strip() if len(lines) > 1 else _first_line(error)
        raise BundleError(
            f"the weights {weights} do not fit the network declared in {INFERENCE}: {detail}"
        ) from error
    network.to(device).eval()
    return Bundle(root, metadata, inference, network, device)


def _build_network(inference: dict[str, Any], path: Path) -> torch.nn.Module:
    """Instantiate ``network_def``: directly when it is plain data, else with MONAI's parser.

    A plain definition (a ``_target_`` and literal arguments) is built by importing the
    target alone, which spares the CLI the seconds ``monai.bundle`` takes to import;
    references (``@``) and expressions (``$``) need the full ``ConfigParser``. Neither
    path downloads anything.
    """
    import torch

    definition = inference[NETWORK_KEY]
    try:
        if isinstance(definition, dict) and "_target_" in definition and _is_plain(definition):
            arguments = {k: v for k, v in definition.items() if not k.startswith("_")}
            network = _locate(str(definition["_target_"]))(**arguments)
        else:
            from monai.bundle import ConfigParser

            parser = ConfigParser()
            parser.read_config(inference)
            network = parser.get_parsed_content(NETWORK_KEY, instantiate=True)
    except Exception as error:  # an unknown _target_ or bad arguments surface as many types
        raise BundleError(
            f"cannot build {NETWORK_KEY!r} declared in {path}: {_first_line(error)}"
        ) from error
    if not isinstance(network, torch.nn.Module):
        raise BundleError(f"{NETWORK_KEY!r} in {path} is not a torch network")
    return network


def _is_plain(value: Any) -> bool:
    """No MONAI references, expressions or macros anywhere inside."""
    if isinstance(value, str):
        return not value.startswith(("@", "$", "%"))
    if isinstance(value, dict):
        return all(_is_plain(v) for v in value.values())
    if isinstance(value, list):
        return all(_is_plain(v) for v in value)
    return True


def _locate(target: str) -> Any:
    """``package.module.Name`` -> the object (ImportError/AttributeError if absent)."""
    import importlib

    module_name, _, name = target.rpartition(".")
    if not module_name:
        raise ImportError(f"{target!r} is not a dotted name (package.module.Class)")
    return getattr(importlib.import_module(module_name), name)


def _first_line(error: BaseException) -> str:
    """An exception as one line (torch and MONAI write paragraphs)."""
    text = str(error).strip()
    return text.splitlines()[0].strip() if text else type(error).__name__
