"""The lung engine's files: lung.json, the nodule SEG and the TID 1500 SR.

Written by ``halong lung`` and by the Lung nodules panel's "Save for Report" (the
reviewed result) alike. The SEG and SR reference the source images, whose files the
:class:`~workstation.dicom.series_input.LoadedSeries` remembers.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code

from workstation.dicom.segmentation import Segment, write_segmentation
from workstation.dicom.series_input import LoadedSeries
from workstation.dicom.structured_report import (
    Evaluation,
    Finding,
    Quantity,
    Verifier,
    write_measurement_report,
)
from workstation.model.manifest import write_manifest
from workstation.model.report import Algorithm
from workstation.model.volume import Volume

if TYPE_CHECKING:
    from ai.lung.result import LungResult, Nodule
    from ai.lung.review import NoduleReview

LUNG_JSON = "lung.json"
NODULES_SEG = "nodules-seg.dcm"
LUNG_SR = "lung-sr.dcm"

_HALONG = "99HALONG"  # private coding scheme for concepts standard codes lack
_SITES = {
    "right": Code("3341006", "SCT", "Right lung"),
    "left": Code("44029006", "SCT", "Left lung"),
}
_COMPOSITION = Code("NODCOMP", _HALONG, "Nodule composition")
_COMPOSITIONS = {
    "solid": Code("SOLID", _HALONG, "Solid"),
    "part-solid": Code("PARTSOLID", _HALONG, "Part solid"),
    "ground-glass": codes.DCM.GroundGlassOpacity,
}
_LUNG_RADS = Code("LUNGRADS", _HALONG, "Lung-RADS v2022 category")
_JUXTAPLEURAL = Code("JUXTAPLEURAL", _HALONG, "Juxtapleural")
_PROBABILITY = Code("NODPROB", _HALONG, "Nodule probability")
_SOLID_CORE = Code("SOLIDCORE", _HALONG, "Solid component mean diameter")
_SHORT_AXIS = Code("103340004", "SCT", "Short Axis")
_HU = Code("[hnsf'U]", "UCUM", "Hounsfield unit")
_NO_UNITS = Code("1", "UCUM", "no units")


def write_lung_json(result: LungResult, path: str | Path) -> Path:
    path = Path(path)
    path.write_text(
        json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return path


def algorithm_of(result: LungResult) -> Algorithm:
    return Algorithm(result.algorithm.name, result.algorithm.version, result.algorithm.device)


def write_nodule_seg(
    result: LungResult, volume: Volume, sources: Sequence[Dataset], path: str | Path
) -> Dataset:
    """One SEG segment per nodule, numbered and tracked as in lung.json."""
    labels = np.zeros(volume.shape_zyx, dtype=np.uint16 if len(result.nodules) > 255 else np.uint8)
    for nodule in result.nodules:
        labels[nodule.mask.box][nodule.mask.mask] = nodule.id
    algorithm = algorithm_of(result)
    segments = [
        Segment(
            number=n.id,
            label=f"Nodule {n.id} (AI)",
            tracking_id=f"Nodule {n.id}",
            tracking_uid=n.tracking_uid,
            algorithm=algorithm,
        )
        for n in result.nodules
    ]
    return write_segmentation(
        volume.with_voxels(labels),
        segments,
        sources,
        path,
        series_description="Lung nodules (AI, unverified)",
        content_label="LUNG_NODULES",
        software_version=result.algorithm.version,
    )


def nodule_finding(nodule: Nodule) -> Finding:
    """A nodule as a TID 1500 volumetric ROI group."""
    m = nodule.measurements
    mm = codes.UCUM.Millimeter
    quantities = [
        Quantity(codes.SCT.Volume, round(m.volume_mm3, 1), codes.UCUM.CubicMillimeter),
        Quantity(codes.SCT.LongAxis, round(m.long_axis_mm, 1), mm),
        Quantity(_SHORT_AXIS, round(m.short_axis_mm, 1), mm),
        Quantity(codes.SCT.Diameter, m.mean_diameter_mm, mm, codes.SCT.Mean),
        Quantity(codes.DCM.AttenuationCoefficient, round(m.mean_hu, 1), _HU, codes.SCT.Mean),
        Quantity(codes.DCM.AttenuationCoefficient, round(m.max_hu, 1), _HU, codes.SCT.Maximum),
        Quantity(_SOLID_CORE, round(m.solid_core_mm, 1), mm),
    ]
    if nodule.probability is not None:  # None: added by a reader, not scored
        quantities.append(Quantity(_PROBABILITY, round(nodule.probability, 4), _NO_UNITS))
    evaluations = [
        Evaluation(_COMPOSITION, _COMPOSITIONS[m.type]),
        Evaluation(_JUXTAPLEURAL, codes.SCT.Yes if nodule.location.juxtapleural else codes.SCT.No),
    ]
    if nodule.lung_rads is not None:
        evaluations.append(Evaluation(_LUNG_RADS, _lung_rads_code(nodule.lung_rads.category)))
    return Finding(
        segment_number=nodule.id,
        tracking_id=f"Nodule {nodule.id}",
        tracking_uid=nodule.tracking_uid,
        finding_site=_SITES.get(nodule.location.side),
        quantities=quantities,
        evaluations=evaluations,
    )


def _lung_rads_code(category: str) -> Code:
    return Code(f"LR{category}", _HALONG, f"Lung-RADS {category}")


def write_lung_sr(
    result: LungResult,
    segmentation: Dataset | None,
    sources: Sequence[Dataset],
    path: str | Path,
    verifier: Verifier | None = None,
) -> Dataset:
    """The measurement report of every nodule; unverified unless a ``verifier`` signs it."""
    exam = result.lung_rads.category
    return write_measurement_report(
        sources,
        segmentation,
        [nodule_finding(n) for n in result.nodules],
        path,
        algorithm_of(result),
        verifier=verifier,
        assessment=[Evaluation(_LUNG_RADS, _lung_rads_code(exam))],
        series_description="Lung nodules report (AI)"
        if verifier is None
        else "Lung nodules report",
    )


def write_lung_outputs(
    result: LungResult,
    loaded: LoadedSeries,
    out: str | Path,
    seal_key: bytes,
    *,
    language: str = "vi",
) -> dict[str, Path]:
    """nodules-seg.dcm and summary.png (when there are nodules), lung-sr.dcm, lung.json,
    then the sealed manifest.json in ``out`` (see :mod:`workstation.model.manifest`).

    summary.png is the key image a lung alert carries (see
    :mod:`workstation.lung.summary_image`), its words in ``language`` (vi or en).
    A NIfTI volume has no DICOM images to cite nor a patient to name, so only lung.json
    is written for it.
    The DICOM (and summary.png) writing time is added to ``result.timings_s``
    (``dicom_outputs``) with the ``total`` of all stages, before lung.json is written.
    A reviewed result's manifest names the reader.
    """
    started = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    if not loaded.request.is_nifti:
        sources = loaded.source_datasets()
        seg = None
        if result.nodules:
            seg = write_nodule_seg(result, loaded.volume, sources, out / NODULES_SEG)
            written["seg"] = out / NODULES_SEG
        write_lung_sr(result, seg, sources, out / LUNG_SR)
        written["sr"] = out / LUNG_SR
        if result.nodules:
            from workstation.lung.summary_image import SUMMARY_IMAGE, write_lung_summary

            write_lung_summary(result, loaded.volume, sources[0], out / SUMMARY_IMAGE, language)
            written["summary"] = out / SUMMARY_IMAGE
    result.timings_s["dicom_outputs"] = time.perf_counter() - started
    result.timings_s["total"] = sum(v for k, v in result.timings_s.items() if k != "total")
    written["json"] = write_lung_json(result, out / LUNG_JSON)
    writer = f"{result.algorithm.name} {result.algorithm.version}"
    if result.review is not None:
        writer = f"review by {result.review.get('reader', '')} of {writer}"
    written["manifest"] = write_manifest(out, written.values(), seal_key, writer)
    return written


def save_review(
    review: NoduleReview, loaded: LoadedSeries, folder: Path, reader: str, seal_key: bytes
) -> dict[str, Path]:
    """The reader's accepted nodules, written as ``halong lung`` writes a result."""
    return write_lung_outputs(review.reviewed_result(reader), loaded, folder, seal_key)
