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

from ai.lung.pipeline import LungInputError, LungRequest, analyse_chest_ct, detect_nodules
from ai.lung.result import LungResult, Nodule

__all__ = [
    "LungInputError",
    "LungRequest",
    "LungResult",
    "Nodule",
    "analyse_chest_ct",
    "detect_nodules",
]
