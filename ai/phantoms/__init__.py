"""Synthetic studies with exact ground truth, for tests and benchmarks of the AI.

* ``make_chest_ct``: chest CT with lungs, vessels, airways, ribs and lung
  nodules of known type, size and position (``ChestPhantom``);
* ``make_ctp_head`` / ``make_mr_dsc_head``: CT perfusion / MR DSC stroke
  studies with known CBF, CBV, MTT and Tmax maps and infarct core and penumbra
  volumes (``PerfusionPhantom``).

Phantoms return ``workstation.model.Volume`` objects on an axial LPS grid
centred on the origin (patient left = +x = high x index); writing them as DICOM
is the job of ``workstation.dicom``.
"""

from ai.phantoms.chest_ct import ChestPhantom, make_chest_ct
from ai.phantoms.chest_torso import LUNG_LABELS
from ai.phantoms.nodules import NoduleSpec, NoduleTruth
from ai.phantoms.perfusion_head import PerfusionPhantom, make_ctp_head, make_mr_dsc_head

__all__ = [
    "LUNG_LABELS",
    "ChestPhantom",
    "NoduleSpec",
    "NoduleTruth",
    "PerfusionPhantom",
    "make_chest_ct",
    "make_ctp_head",
    "make_mr_dsc_head",
]
