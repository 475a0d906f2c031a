"""Perfusion phantoms written to disk as a scanner and an analysis tool would see them.

Each phantom becomes a DICOM series in the single-series repeated-position
layout (file names shuffled), a 4D NIfTI, and its ground truth: truth maps and
masks as NIfTI on the same grid, and ``truth.json`` with volumes, vessel
positions and constants. An ADC phantom is written as a 3D DICOM series of the
same study (same patient, study and frame of reference) and a 3D NIfTI.

Layout::

    <folder>/dicom/              the 4D series
    <folder>/study.nii.gz        the same frames as 4D NIfTI (time step in the header)
    <folder>/truth/<name>.nii.gz truth maps and masks
    <folder>/truth.json
    <folder>/adc_dicom/, <folder>/adc.nii.gz   (write_adc_phantom)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ai.phantoms import AdcPhantom, PerfusionGrid, PerfusionPhantom
from workstation.dicom.image_writer import SeriesInfo, write_volume
from workstation.model.conversions import save_nifti
from workstation.model.json_values import json_ready

_HEAD_TRUTH_MASKS = ("core_mask", "penumbra_mask", "tmax_gt6_mask", "tmax_gt10_mask")
_HEAD_TRUTH_MASKS += ("parenchyma_mask",)


@dataclass
class PhantomFiles:
    folder: Path
    dicom: Path
    nifti: Path
    truth: Path


def write_perfusion_phantom(
    phantom: PerfusionPhantom | PerfusionGrid,
    folder: str | Path,
    info: SeriesInfo | None = None,
    seed: int = 0,
) -> PhantomFiles:
    """DICOM series, 4D NIfTI and truth of a head phantom or a validation grid."""
    folder = Path(folder)
    (folder / "truth").mkdir(parents=True, exist_ok=True)
    volume = phantom.volume
    info = info or SeriesInfo(
        series_description=str(volume.attributes.get("SeriesDescription", "")),
        body_part="HEAD",
    )
    write_volume(volume, folder / "dicom", info, shuffle_names=True, seed=seed)
    nifti = save_nifti(volume, folder / "study.nii.gz")
    grid = volume.frame(0)
    maps = {name: getattr(phantom, name) for name in ("cbf", "cbv", "mtt", "tmax")}
    truth: dict[str, object] = {
        "phantom": type(phantom).__name__,
        "frame_times_s": volume.frame_times,
        "constants": phantom.constants,
        "baseline_frames": phantom.baseline_frames,
    }
    if isinstance(phantom, PerfusionPhantom):
        for name in _HEAD_TRUTH_MASKS:
            maps[name.removesuffix("_mask")] = getattr(phantom, name).astype(np.uint8)
        truth |= {
            "core_ml": phantom.core_ml,
            "penumbra_ml": phantom.penumbra_ml,
            "hypoperfusion_ml": phantom.hypoperfusion_ml,
            "tmax_gt10_ml": phantom.tmax_gt10_ml,
            "aif_lps_mm": phantom.aif_lps_mm,
            "vof_lps_mm": phantom.vof_lps_mm,
            "curve_unit": phantom.curve_unit,
        }
    else:
        cbv, delay, mtt = np.moveaxis(phantom.tile_index.astype(np.int32), -1, 0)
        maps["tile_index"] = np.where(cbv >= 0, cbv * 10000 + delay * 100 + mtt, -1)
        truth |= {
            "cbvs": phantom.cbvs,
            "delays_s": phantom.delays_s,
            "mtts_s": phantom.mtts_s,
            "tile_size": phantom.tile_size,
            "residue": phantom.residue,
            "tile_index_code": "cbv_index * 10000 + delay_index * 100 + mtt_index; -1 outside",
        }
    for name, values in maps.items():
        save_nifti(grid.with_voxels(np.asarray(values)), folder / "truth" / f"{name}.nii.gz")
    truth["aif_curve"] = phantom.aif_curve
    truth["vof_curve"] = phantom.vof_curve
    truth_path = folder / "truth.json"
    truth_path.write_text(json.dumps(json_ready(truth), indent=2), encoding="utf-8")
    return PhantomFiles(folder, folder / "dicom", nifti, truth_path)


def write_adc_phantom(
    phantom: AdcPhantom, folder: str | Path, study: SeriesInfo, seed: int = 0
) -> tuple[Path, Path]:
    """The ADC map as a 3D DICOM series of ``study`` (a new series in it) and a 3D NIfTI."""
    folder = Path(folder)
    info = SeriesInfo(
        **{
            key: getattr(study, key)
            for key in (
                "patient_id",
                "patient_name",
                "patient_birth_date",
                "patient_sex",
                "study_uid",
                "study_date",
                "study_time",
                "study_description",
                "accession_number",
                "frame_of_reference_uid",
            )
        },
        series_number=study.series_number + 1,
        series_description="ADC (10^-6 mm2/s)",
        body_part="HEAD",
    )
    write_volume(phantom.volume, folder / "adc_dicom", info, shuffle_names=True, seed=seed)
    return folder / "adc_dicom", save_nifti(phantom.volume, folder / "adc.nii.gz")
