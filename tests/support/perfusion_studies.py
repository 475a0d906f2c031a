"""A small CT perfusion head phantom on disk, for the Stroke panel tests.

8 slices of 128 x 128 voxels (1.6 x 1.6 x 5 mm), 30 frames every 1.6 s, 2 HU
noise: small enough for a few seconds' analysis on two cores, large enough for the
engine to find the core and Tmax > 6 s within a few per cent of the phantom's truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SMALL_HEAD = {
    "shape": (8, 128, 128),
    "spacing": (1.6, 1.6, 5.0),
    "n_frames": 30,
    "frame_interval_s": 1.6,
    "noise_hu": 2.0,
    "seed": 0,
}


@dataclass(frozen=True)
class WrittenPhantom:
    phantom: object  # ai.phantoms.PerfusionPhantom
    folder: Path
    study_uid: str


def write_ctp_phantom(folder: Path) -> WrittenPhantom:
    """The phantom as a 4D DICOM series (repeated positions), as a CT scanner writes it."""
    from ai.phantoms import make_ctp_head
    from workstation.dicom.image_writer import SeriesInfo, write_volume

    phantom = make_ctp_head(**SMALL_HEAD)
    info = SeriesInfo(
        patient_name="Le^Van Hung",
        patient_id="PAT-300",
        study_description="CT PERFUSION NAO",
        accession_number="ACC-300",
        series_description="CTP 4D",
        body_part="HEAD",
    )
    write_volume(phantom.volume, folder, info)
    return WrittenPhantom(phantom, folder, info.study_uid)
