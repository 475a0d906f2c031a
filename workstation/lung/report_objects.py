"""The physician-verified DICOM SR and SEG of the accepted nodules, for the PACS.

Built from what the lung engine wrote (its SEG and its unverified TID 1500 SR) and
what the physician accepted: the report SEG holds only the accepted nodules'
segments (renumbered from 1, tracking identifiers and UIDs kept so the same finding
is recognised later), and the report SR carries only their measurements, marked
VERIFIED with the physician as verifying observer. The SR names the AI SR (and, for
an amendment, the previous report SR) in its Predecessor Documents Sequence, since
it supersedes them; both objects name the AI algorithm in the Contributing
Equipment Sequence. The SEG and SR writers are the project's own
(:mod:`workstation.dicom.segmentation`, :mod:`workstation.dicom.structured_report`).

The source CT images are needed (both objects reference them): they are found in the
local database by the series UID of ``lung.json``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence

from workstation.dicom.contributing_equipment import add_contributing_equipment
from workstation.dicom.segmentation import Segment, write_segmentation
from workstation.dicom.series_input import SeriesInputError, load_series, request_for_series
from workstation.dicom.structured_report import (
    Evaluation,
    Finding,
    Quantity,
    Verifier,
    write_measurement_report,
)
from workstation.lung.outputs import LUNG_SR, NODULES_SEG
from workstation.model.report import AIFinding, Report, now_utc
from workstation.reporting.report_dicom import ReportDicomError
from workstation.reporting.results import ResultSet

#: Added by the TID 1500 writer itself ("Finding category"): not copied from the AI SR.
_FINDING_CATEGORY = "276214006"


def _source_series(database_path: Path | None, series_uid: str):
    """The indexed source CT of a lung result (the report SR and SEG cite its images)."""
    try:
        if database_path is None:
            raise SeriesInputError("no database")
        return load_series(request_for_series(series_uid), database_path)
    except SeriesInputError:
        raise ReportDicomError(
            f"the source images (series {series_uid}) are not in the local database: "
            "import them ('halong import') to write the report SR and SEG"
        ) from None


def _accepted_nodules(report: Report, result: ResultSet) -> dict[int, AIFinding]:
    return {
        int(f.data["id"]): f
        for f in report.accepted_findings
        if f.kind == "lung-nodule" and f.algorithm == result.algorithm
    }


def _reference(dataset: Dataset) -> Dataset:
    """One Predecessor Documents Sequence item (Hierarchical SOP Instance Reference)."""
    instance = Dataset()
    instance.ReferencedSOPClassUID = dataset.SOPClassUID
    instance.ReferencedSOPInstanceUID = dataset.SOPInstanceUID
    series = Dataset()
    series.SeriesInstanceUID = dataset.SeriesInstanceUID
    series.ReferencedSOPSequence = DicomSequence([instance])
    study = Dataset()
    study.StudyInstanceUID = dataset.StudyInstanceUID
    study.ReferencedSeriesSequence = DicomSequence([series])
    return study


def _finding(group, number: int) -> Finding:
    """An AI SR measurement group as the verified report states it, under segment ``number``."""
    quantities = [
        Quantity(m.name, float(m.value), m.unit, m.derivation) for m in group.get_measurements()
    ]
    evaluations = [
        Evaluation(e.name, e.value)
        for e in group.get_qualitative_evaluations()
        if e.name.value != _FINDING_CATEGORY
    ]
    sites = group.finding_sites
    return Finding(
        segment_number=number,
        tracking_id=group.tracking_identifier,
        tracking_uid=group.tracking_uid,
        finding_type=group.finding_type,
        finding_site=sites[0].value if sites else None,
        quantities=quantities,
        evaluations=evaluations,
    )


def _person_name(name: str) -> str:
    """A free-text name as a DICOM PN: all of it the family-name component."""
    return name if "^" in name or not name else f"{name}^"


def _resave(dataset: Dataset, path: Path) -> None:
    dataset.save_as(path, enforce_file_format=True)


def write_verified_sr_and_seg(
    report: Report,
    result: ResultSet,
    out_dir: Path,
    names: Mapping[str, str],
    database_path: Path | None,
    previous_sr: Iterable[Path],
) -> dict[str, Path]:
    """``names["seg"]`` and ``names["sr"]`` in ``out_dir`` when a nodule was accepted.

    Written for a lung result that comes with the engine's SR. With no accepted nodule
    there is nothing to measure (TID 1500 needs a measurement group), so nothing is
    written. Returns the paths written.
    """
    if not (result.folder / LUNG_SR).is_file():
        return {}
    ct = _source_series(database_path, result.series_uid)
    sources = ct.source_datasets()
    ai_sr = hd.sr.srread(result.folder / LUNG_SR)
    groups = {g.tracking_uid: g for g in ai_sr.content.get_volumetric_roi_measurement_groups()}
    accepted = _accepted_nodules(report, result)
    physician = _person_name(report.physician.name if report.physician else "")
    when = report.finalized_at or now_utc()
    written: dict[str, Path] = {}
    segmentation = None
    findings: list[Finding] = []
    if accepted:
        ai_seg = hd.seg.segread(result.folder / NODULES_SEG)
        old_numbers = sorted(accepted)
        uids = list(dict.fromkeys(ct.volume.provenance.sop_instance_uids))
        old_labels = ai_seg.get_pixels_by_source_instance(
            uids, segment_numbers=old_numbers, combine_segments=True, relabel=True
        )
        described = {d.segment_number: d for d in ai_seg.SegmentSequence}
        segments = [
            Segment(
                number=new,
                label=f"Nodule {old} (AI, accepted)",
                tracking_id=str(described[old].get("TrackingID", f"Nodule {old}")),
                tracking_uid=str(described[old].TrackingUID),
                algorithm=result.algorithm,
            )
            for new, old in enumerate(old_numbers, start=1)
        ]
        path = out_dir / names["seg"]
        segmentation = write_segmentation(
            ct.volume.with_voxels(np.asarray(old_labels, dtype=np.uint8)),
            segments,
            sources,
            path,
            series_description="Lung nodules (verified)",
            content_label="LUNG_NODULES",
            content_creator=physician or None,
            software_version=result.algorithm.version,
        )
        add_contributing_equipment(segmentation, [result.algorithm], when, "AI segmentation")
        _resave(segmentation, path)
        written["seg"] = path
        for segment in segments:
            group = groups.get(segment.tracking_uid)
            if group is not None:
                findings.append(_finding(group, segment.number))
    if not findings:  # TID 1500 needs at least one measurement group
        return written
    path = out_dir / names["sr"]
    sr = write_measurement_report(
        sources,
        segmentation,
        findings,
        path,
        result.algorithm,
        verifier=Verifier(physician, report.institution or "Halong"),
        series_description="Lung nodules report (verified)",
        institution=report.institution or None,
    )
    predecessors = [ai_sr, *(pydicom.dcmread(p, stop_before_pixels=True) for p in previous_sr)]
    sr.PredecessorDocumentsSequence = DicomSequence([_reference(d) for d in predecessors])
    add_contributing_equipment(sr, [result.algorithm], when, "AI measurements")
    _resave(sr, path)
    written["sr"] = path
    return written
