"""Lung nodule engine: find, segment, measure and categorise nodules on chest CT.

One purpose per module, in pipeline order:

* ``lung_mask``: left/right lungs, airways out, pleura rolled over (juxtapleural kept);
* ``candidates``: multi-scale LoG blobs in mm with a Hessian roundness test;
* ``masses``: solid regions 2 cm thick or more, reported whatever the network says;
* ``patches`` and ``classifier``: the false-positive-reduction CNN (a MONAI bundle);
* ``nodule_segmentation``: half-level threshold, region growing, vessel detachment;
* ``measurements`` and ``location``: volume, axes, HU, solid part, type, side, pleura;
* ``rules``: Lung-RADS v2022 and Fleischner 2017 over the JSON tables in resources;
* ``followup``: registration to a prior, matching, growth and doubling time;
* ``pipeline``: all of it as one cancellable function; ``result``: lung.json;
* ``evaluation``: scoring against phantom truth (training, tests, benchmark).

torch and MONAI are imported only when a network is loaded.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Public names and the module that defines each; loaded on first use (PEP 562), so
#: importing one small module (``ai.lung.result`` for a report) does not load the engine.
_EXPORTS = {
    "LungInputError": "ai.lung.pipeline",
    "LungRequest": "ai.lung.pipeline",
    "analyse_chest_ct": "ai.lung.pipeline",
    "detect_nodules": "ai.lung.pipeline",
    "LungResult": "ai.lung.result",
    "Nodule": "ai.lung.result",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'ai.lung' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
