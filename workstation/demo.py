"""The built-in demo studies: a chest CT with nodules and a CT perfusion stroke study.

They are synthetic phantoms with exact ground truth (``ai.phantoms``), written as
real DICOM series (the perfusion study in the single-series repeated-position
layout, file names shuffled, as scanners and PACS exports do) plus a
``<series>.truth.json`` beside each series folder, so a reader can compare what Halong finds
with what is there.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from workstation.dicom.image_writer import SeriesInfo, write_volume
from workstation.model.json_values import json_ready
from workstation.model.progress import CancelToken, Progress, check, no_progress

#: Bump when the phantoms or their layout change, so old demo folders are rewritten.
DEMO_VERSION = 2
CHEST_SHAPE = (200, 512, 512)
CHEST_SPACING = (0.7, 0.7, 1.25)
CTP_SHAPE = (16, 256, 256)
CTP_SPACING = (0.8, 0.8, 5.0)
CTP_FRAMES = 40
CTP_INTERVAL_S = 1.6


@dataclass
class DemoStudies:
    """Where the demo series and their ground truth were written."""

    root: Path
    chest_series: Path
    perfusion_series: Path

    @property
    def folders(self) -> list[Path]:
        return [self.chest_series, self.perfusion_series]


def truth_path(series_folder: Path) -> Path:
    """Ground truth sits beside (not inside) the series folder, which holds only DICOM."""
    return series_folder.with_name(series_folder.name + ".truth.json")


def _write_truth(folder: Path, truth: dict) -> None:
    text = json.dumps(json_ready(truth), indent=2, ensure_ascii=False)
    truth_path(folder).write_text(text, encoding="utf-8")


def _write_chest(folder: Path, seed: int) -> None:
    from ai.phantoms import make_chest_ct

    phantom = make_chest_ct(seed=seed, shape=CHEST_SHAPE, spacing=CHEST_SPACING)
    info = SeriesInfo(
        patient_id="HL-DEMO-0001",
        patient_name="Nguyễn^Văn An",
        patient_birth_date="19580312",
        patient_sex="M",
        study_description="CT ngực liều thấp / Low-dose chest CT",
        accession_number="DEMO-CHEST-1",
        series_description="Chest 1.25 mm (synthetic phantom)",
        body_part="CHEST",
        series_number=2,
    )
    write_volume(phantom.volume, folder, info, shuffle_names=True, seed=seed)
    _write_truth(
        folder,
        {
            "phantom": "ai.phantoms.make_chest_ct",
            "seed": seed,
            "nodules": [dataclasses.asdict(nodule) for nodule in phantom.nodules],
        },
    )


def _write_perfusion(folder: Path, seed: int) -> None:
    from ai.phantoms import make_ctp_head

    phantom = make_ctp_head(
        seed=seed,
        shape=CTP_SHAPE,
        spacing=CTP_SPACING,
        n_frames=CTP_FRAMES,
        frame_interval_s=CTP_INTERVAL_S,
    )
    info = SeriesInfo(
        patient_id="HL-DEMO-0002",
        patient_name="Trần^Thị Bình",
        patient_birth_date="19490721",
        patient_sex="F",
        study_description="CT tưới máu não / CT perfusion brain",
        accession_number="DEMO-STROKE-1",
        series_description="CT perfusion 40 x 1.6 s (synthetic phantom)",
        body_part="HEAD",
        series_number=4,
    )
    write_volume(phantom.volume, folder, info, shuffle_names=True, seed=seed)
    _write_truth(
        folder,
        {
            "phantom": "ai.phantoms.make_ctp_head",
            "seed": seed,
            "frame_times_s": phantom.frame_times,
            "core_ml": phantom.core_ml,
            "penumbra_ml": phantom.penumbra_ml,
            "hypoperfusion_ml": phantom.hypoperfusion_ml,
            "tmax_gt10_ml": phantom.tmax_gt10_ml,
            "aif_lps_mm": phantom.aif_lps_mm,
            "vof_lps_mm": phantom.vof_lps_mm,
            "constants": phantom.constants,
        },
    )


def write_demo_studies(
    root: str | Path,
    *,
    seed: int = 0,
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
) -> DemoStudies:
    """Write both demo studies under ``root`` (skipped when this version is already there)."""
    root = Path(root)
    studies = DemoStudies(root, root / "chest-ct", root / "ct-perfusion")
    marker = root / "demo-version.json"
    wanted = {"version": DEMO_VERSION, "seed": seed}
    if marker.is_file() and json.loads(marker.read_text()) == wanted:
        return studies
    for folder in studies.folders:
        if folder.exists():
            for stale in folder.iterdir():
                stale.unlink()
    progress(0, 2, "writing the demo chest CT")
    _write_chest(studies.chest_series, seed)
    check(cancel)
    progress(1, 2, "writing the demo CT perfusion study")
    _write_perfusion(studies.perfusion_series, seed)
    progress(2, 2, "demo studies written")
    marker.write_text(json.dumps(wanted))
    return studies
