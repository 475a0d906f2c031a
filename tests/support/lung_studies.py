"""A small chest CT and its prior a year earlier, on disk, for the Lung nodules panel tests.

256 x 256 x 100 voxels (1.0 x 1.0 x 1.5 mm): the engine takes a few seconds on two
cores. Current: a 9 mm solid nodule (7 mm on the prior: growing), a 12 mm ground-glass
nodule (unchanged) and a 7 mm solid nodule (new). Seeds are outside the training range.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

SHAPE, SPACING = (100, 256, 256), (1.0, 1.0, 1.5)
SEED = 97_101
CURRENT_DATE, PRIOR_DATE = "20250301", "20240301"
INTERVAL_DAYS = 365.0
PATIENT = {"patient_id": "LUNG-UI-1", "patient_name": "Pham^Thi Mai"}


@dataclass(frozen=True)
class LungStudies:
    current: Path
    prior: Path
    current_series_uid: str
    prior_series_uid: str
    current_study_uid: str
    #: ai.phantoms NoduleTruth of the current scan, and the prior's diameters by index.
    truth: list
    prior_diameters_mm: dict[int, float]


def write_lung_studies(root: Path) -> LungStudies:
    from ai.phantoms import NoduleSpec, make_chest_ct
    from workstation.dicom.image_writer import SeriesInfo, write_volume

    specs = [NoduleSpec("solid", 9.0), NoduleSpec("ground-glass", 12.0), NoduleSpec("solid", 7.0)]
    current = make_chest_ct(SEED, SHAPE, SPACING, nodules=specs)
    where = [n.center_lps_mm for n in current.nodules]
    prior = make_chest_ct(
        SEED,
        SHAPE,
        SPACING,
        nodules=[
            NoduleSpec("solid", 7.0, center_lps_mm=where[0]),
            NoduleSpec("ground-glass", 12.0, center_lps_mm=where[1]),
        ],
    )
    prior.volume.origin = tuple(np.add(prior.volume.origin, (4.0, 0.0, 0.0)))
    now = SeriesInfo(
        **PATIENT,
        study_date=CURRENT_DATE,
        study_description="CT CHEST LDCT",
        series_description="LUNG 1.5 mm",
    )
    before = SeriesInfo(
        **PATIENT,
        study_date=PRIOR_DATE,
        study_description="CT CHEST LDCT",
        series_description="LUNG 1.5 mm (prior)",
    )
    write_volume(current.volume, root / "current", now)
    write_volume(prior.volume, root / "prior", before)
    return LungStudies(
        root / "current",
        root / "prior",
        now.series_uid,
        before.series_uid,
        now.study_uid,
        list(current.nodules),
        {0: 7.0, 1: 12.0},
    )


def sphere_mm3(diameter_mm: float) -> float:
    return float(np.pi / 6.0 * diameter_mm**3)


#: The chest CT the triage node alerts on: one solid nodule of 20 mm, Lung-RADS v2022 4B
#: (solid, 15 mm or more), too small for the 30 mm mass rule; body part CHEST, so the
#: node's routing rules send it to the lung engine.
SUSPICIOUS_NODULE_MM = 20.0
SUSPICIOUS_PATIENT = {"patient_id": "LUNG-NODE-1", "patient_name": "Tran^Van Binh"}


@dataclass(frozen=True)
class SuspiciousChestCt:
    folder: Path
    study_uid: str
    series_uid: str
    #: ai.phantoms NoduleTruth of the one nodule.
    nodule: object


def write_suspicious_chest_ct(folder: Path) -> SuspiciousChestCt:
    from ai.phantoms import NoduleSpec, make_chest_ct
    from workstation.dicom.image_writer import SeriesInfo, write_volume

    phantom = make_chest_ct(
        SEED + 1, SHAPE, SPACING, nodules=[NoduleSpec("solid", SUSPICIOUS_NODULE_MM)]
    )
    info = SeriesInfo(
        **SUSPICIOUS_PATIENT,
        study_date=CURRENT_DATE,
        study_description="CT CHEST",
        accession_number="ACC-LUNG-1",
        series_description="CHEST 1.5 mm",
        body_part="CHEST",
    )
    write_volume(phantom.volume, folder, info)
    (nodule,) = phantom.nodules
    return SuspiciousChestCt(folder, info.study_uid, info.series_uid, nodule)
