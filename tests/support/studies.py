"""Small CT and MR studies on disk, shared by every test package (see tests/conftest.py).

Two patients: a chest CT (64x64x40) and a brain MR (48x48x20), each a body ellipse with
a bright sphere, so a slice is never blank in any orientation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

SPHERE_HU = 300
AIR_HU = -1000
BODY_HU = 40


@dataclass(frozen=True)
class WrittenSeries:
    """A generated series on disk and what the browser should show for it."""

    folder: Path
    series_uid: str
    study_uid: str
    patient_name: str
    patient_id: str
    description: str
    accession: str
    modality: str
    shape: tuple[int, int, int]


def phantom(shape: tuple[int, int, int], modality: str) -> np.ndarray:
    """A body ellipse with a bright sphere: a slice is never blank, in any orientation."""
    z, y, x = np.indices(shape, dtype=np.float32)
    nz, ny, nx = shape
    body = ((x - nx / 2) / (0.45 * nx)) ** 2 + ((y - ny / 2) / (0.4 * ny)) ** 2 <= 1
    sphere = (x - nx / 2) ** 2 + (y - ny / 2) ** 2 + ((z - nz / 2) * 2) ** 2 <= (nx / 5) ** 2
    if modality == "CT":
        voxels = np.where(body, BODY_HU, AIR_HU)
        voxels = np.where(sphere, SPHERE_HU, voxels)
    else:
        voxels = np.where(body, 400, 0) + np.where(sphere, 600, 0)
    return voxels.astype(np.int16)


def write_series(
    folder: Path,
    *,
    patient_name: str,
    patient_id: str,
    description: str,
    accession: str,
    modality: str = "CT",
    shape: tuple[int, int, int] = (40, 64, 64),
    study_uid: str | None = None,
    number: int = 1,
) -> WrittenSeries:
    from workstation.dicom.image_writer import SeriesInfo, write_volume
    from workstation.model.volume import Volume

    info = SeriesInfo(
        patient_name=patient_name,
        patient_id=patient_id,
        study_description=description,
        accession_number=accession,
        series_description=f"{description} AXIAL",
        series_number=number,
    )
    if study_uid:
        info.study_uid = study_uid
    volume = Volume(phantom(shape, modality), spacing=(0.7, 0.7, 1.5), modality=modality)
    write_volume(volume, folder, info)
    return WrittenSeries(
        folder,
        info.series_uid,
        info.study_uid,
        patient_name,
        patient_id,
        description,
        accession,
        modality,
        shape,
    )


def write_two_patients(root: Path) -> dict[str, WrittenSeries]:
    """Two patients: a chest CT (64x64x40) and a brain MR (48x48x20)."""
    return {
        "chest": write_series(
            root / "chest",
            patient_name="Nguyen^Lan",
            patient_id="PAT-100",
            description="CT CHEST LDCT",
            accession="ACC-100",
        ),
        "brain": write_series(
            root / "brain",
            patient_name="Tran^Minh",
            patient_id="PAT-200",
            description="MR BRAIN STROKE",
            accession="ACC-200",
            modality="MR",
            shape=(20, 48, 48),
        ),
    }
