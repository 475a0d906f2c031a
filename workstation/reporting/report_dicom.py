"""The physician-verified DICOM objects of a final report (SR, SEG), for the PACS.

Each capability writes its own (lung: the accepted nodules' SEG and TID 1500 SR);
perfusion volumes have no segmentation object, and travel in the PDF, FHIR and HL7.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from workstation.model.report import Report
from workstation.reporting.results import ResultSet


class ReportDicomError(Exception):
    """The report SR/SEG cannot be written (e.g. the source images are not indexed)."""


def write_report_sr_and_seg(
    report: Report,
    results: Sequence[ResultSet],
    out_dir: Path,
    names: Mapping[str, str],
    *,
    database_path: Path | None = None,
    previous_sr: Iterable[Path] = (),
) -> dict[str, Path]:
    """What each result's capability writes for the accepted findings; the paths written."""
    written: dict[str, Path] = {}
    previous = list(previous_sr)
    for result in results:
        objects = result.adapter.write_report_dicom(
            report, result, out_dir, names, database_path, previous
        )
        clash = set(objects) & set(written)
        if clash:
            raise ReportDicomError(f"two results both write the report's {', '.join(clash)}")
        written.update(objects)
    return written
