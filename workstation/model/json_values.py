"""Turn numpy values inside results and ground truth into plain JSON values."""

from __future__ import annotations

import numpy as np


def json_ready(value: object) -> object:
    """``value`` with numpy arrays and scalars (at any depth) made JSON-serialisable."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple | list):
        return [json_ready(v) for v in value]
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    return value
