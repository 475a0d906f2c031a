"""Synthetic studies with exact ground truth, for tests and benchmarks of the AI.

* ``make_chest_ct``: chest CT with lungs, vessels, airways, ribs and lung
  nodules of known type, size and position (``ChestPhantom``);
* ``make_ctp_head`` / ``make_mr_dsc_head``: CT perfusion / MR DSC stroke
  studies with known CBF, CBV, MTT and Tmax maps and infarct core and penumbra
  volumes (``PerfusionPhantom``);
* ``make_perfusion_grid``: the Kudo-style validation grid of tiles with known
  CBF/CBV/MTT and delay, CT or MR (``PerfusionGrid``);
* ``make_adc_head``: the ADC map of the same stroke head (``AdcPhantom``).

Phantoms return ``workstation.model.Volume`` objects on an axial LPS grid
centred on the origin (patient left = +x = high x index); writing them as DICOM
is the job of ``workstation.dicom``.
"""

from ai.phantoms.adc_head import AdcPhantom, make_adc_head
from ai.phantoms.chest_ct import ChestPhantom, make_chest_ct
from ai.phantoms.chest_torso import LUNG_LABELS
from ai.phantoms.nodules import NoduleSpec, NoduleTruth
from ai.phantoms.perfusion_grid import PerfusionGrid, make_perfusion_grid
from ai.phantoms.perfusion_head import PerfusionPhantom, make_ctp_head, make_mr_dsc_head

__all__ = [
    "LUNG_LABELS",
    "AdcPhantom",
    "ChestPhantom",
    "NoduleSpec",
    "NoduleTruth",
    "PerfusionGrid",
    "PerfusionPhantom",
    "make_adc_head",
    "make_chest_ct",
    "make_ctp_head",
    "make_mr_dsc_head",
    "make_perfusion_grid",
]
