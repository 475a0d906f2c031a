"""Where the networks run: CUDA when there is a GPU, else the CPU.

``HALONG_DEVICE`` (``cpu``, ``cuda``, ``cuda:1``) overrides the choice, e.g. to keep a
shared GPU free or to compare timings. torch is imported here, lazily, by callers
that are about to run a network anyway.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

DEVICE_VARIABLE = "HALONG_DEVICE"


class DeviceError(Exception):
    """The requested device cannot be used; the message says why."""


def select_device(requested: str | None = None) -> torch.device:
    """``requested``, else ``$HALONG_DEVICE``, else the first CUDA GPU, else the CPU."""
    import torch

    name = requested or os.environ.get(DEVICE_VARIABLE) or ""
    if not name:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as error:
        raise DeviceError(f"unknown device {name!r}: {error}") from error
    if device.type == "cuda" and not torch.cuda.is_available():
        raise DeviceError(f"device {name!r} asked for, but this torch build sees no CUDA GPU")
    return device


def describe_device(device: torch.device) -> str:
    """``cpu`` or ``cuda:0 (NVIDIA H100 80GB HBM3)``: what results record they ran on."""
    import torch

    if device.type != "cuda":
        return device.type
    index = device.index if device.index is not None else torch.cuda.current_device()
    return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
