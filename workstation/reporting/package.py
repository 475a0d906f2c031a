"""The steps of a report, from AI results to a signed package; the order lives in
:mod:`workstation.reporting.workflow`, which ``halong report`` and the report panel call:

1. :func:`draft_from_results` reads the result folders, passes them through the gate
   (one patient and study, schema, manifest) and starts a draft from the template;
2. the physician accepts findings (:func:`apply_acceptance` for the CLI's ``--accept``;
   the panel decides one by one) and edits the text;
3. :func:`sign_report` finalises the draft (only accepted AI findings remain),
   renders the PDF and signs it;
4. :func:`write_package` writes the signed PDF, its DICOM Encapsulated PDF, the
   verified SR and SEG, the FHIR bundle, the HL7 message and the result folders it was
   made from into a new folder, each file created exclusively and left read-only: a
   signed report is never overwritten.

The audit trail records the signature (110110 Patient Record, Author's Signature)
and the export of the files (110106 Export).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from workstation.dicom.encapsulated_pdf import encapsulated_pdf, write_dataset
from workstation.home import HalongHome
from workstation.model.report import Physician, Report, ReportRuleError, ReportStatus, now_utc
from workstation.net import audit
from workstation.reporting.drafting import new_draft
from workstation.reporting.fhir_bundle import FhirSettings, fhir_bundle_bytes
from workstation.reporting.gate import check_results
from workstation.reporting.hl7_oru import Hl7Settings, oru_r01_bytes
from workstation.reporting.pdf import KeyImage, render_report_pdf
from workstation.reporting.report_dicom import write_report_sr_and_seg
from workstation.reporting.results import ResultSet, load_results
from workstation.reporting.signing import PdfSigner, sign_pdf
from workstation.reporting.templates import load_labels, load_template

#: Names of the files :func:`write_package` writes.
FILES = {
    "pdf": "report.pdf",
    "pdf_dicom": "report-pdf.dcm",
    "sr": "report-sr.dcm",
    "seg": "report-seg.dcm",
    "fhir": "fhir-bundle.json",
    "hl7": "oru.hl7",
    "report": "report.json",
    "result_folders": "result-folders.json",
}


#: A signed report's files: its owner reads them, nobody writes them (a correction is a new
#: version), and no other local user reads a patient's report.
READ_ONLY = 0o400


class PackageError(Exception):
    """The report package cannot be written (e.g. it would overwrite a signed report)."""


@dataclass(frozen=True)
class SignedReport:
    report: Report
    pdf: bytes


@dataclass(frozen=True)
class ReportPackage:
    report: Report
    paths: dict[str, Path] = field(default_factory=dict)


def draft_from_results(
    result_dirs: Sequence[Path],
    home: HalongHome,
    *,
    language: str = "vi",
    institution: str = "",
) -> tuple[Report, list[ResultSet]]:
    """A draft of every finding in ``result_dirs`` (all pending) and the results read.

    The results pass the gate first: of one patient and study, valid, unchanged.
    """
    labels = load_labels(language)
    results = [load_results(folder, labels) for folder in result_dirs]
    checked = check_results(results, home)
    draft = new_draft(
        results, checked.patient, checked.study, language=language, institution=institution
    )
    return draft, results


def apply_acceptance(report: Report, accept: str, physician: str) -> Report:
    """The CLI's explicit decision: ``all``, ``none`` or a comma-separated list of ids.

    Listed findings are accepted and every other one rejected, so no finding is left
    undecided; an id that is not in the report is an error, never silently skipped.
    """
    ids = {f.finding_id for f in report.ai_findings}
    choice = accept.strip().lower()
    if choice == "all":
        chosen = ids
    elif choice == "none":
        chosen = set()
    else:
        chosen = {item.strip() for item in accept.split(",") if item.strip()}
        unknown = chosen - ids
        if unknown:
            known = ", ".join(sorted(ids)) or "none"
            raise ReportRuleError(
                f"no finding {', '.join(sorted(unknown))} in the results (findings: {known})"
            )
    for finding_id in sorted(ids):
        if finding_id in chosen:
            report = report.accept(finding_id, physician)
        else:
            report = report.reject(finding_id, physician)
    return report


def key_images_for(results: Iterable[ResultSet]) -> list[KeyImage]:
    """The pictures engines drew, each shown only if all its result's findings are accepted."""
    images = []
    for result in results:
        finding_ids = tuple(f.finding_id for f in result.findings)
        for path in result.images:
            caption = f"{path.name} - AI-assisted: {result.algorithm.label}"
            images.append(KeyImage(path, caption, finding_ids))
    return images


def sign_report(
    draft: Report,
    signer: PdfSigner,
    *,
    physician: Physician,
    key_images: Sequence[KeyImage] = (),
    timestamp_url: str | None = None,
    location: str = "",
    trail: audit.AuditTrail | None = None,
    at: datetime | None = None,
) -> SignedReport:
    """Finalise ``draft``, render it and sign the PDF (PAdES B-B, or B-T with a TSA)."""
    final = draft.finalize(physician, at or now_utc())
    pdf = render_report_pdf(final, key_images)
    signed = sign_pdf(pdf, signer, location=location, timestamp_url=timestamp_url)
    if trail is not None:
        audit.record_report_signed(
            trail,
            patient_id=final.patient.patient_id,
            study_uid=final.study.study_uid,
            report_id=final.report_id,
            signer=signer.common_name,
            amended=final.status is ReportStatus.AMENDED,
        )
    return SignedReport(final, signed)


def previous_version(folder: Path, trust_roots: Sequence[Path] = ()) -> Report:
    """The final report kept in a package folder, to amend it.

    Its signed PDF must still verify: an amendment must point at what was really signed.
    """
    from workstation.reporting.verification import verify_pdf

    report = Report.from_dict(json.loads((folder / FILES["report"]).read_text("utf-8")))
    check = verify_pdf((folder / FILES["pdf"]).read_bytes(), trust_roots)
    if report.is_draft or not check.ok:
        raise PackageError(f"{folder} holds no intact signed report to amend")
    return report


def require_new_package_folder(out_dir: Path) -> None:
    """Refuse a folder that already holds a report's files: signed reports stay as signed."""
    existing = [name for name in FILES.values() if (out_dir / name).exists()]
    if existing:
        raise PackageError(
            f"{out_dir} already holds {', '.join(existing)}: signed reports are never "
            "overwritten; write the new version to another folder"
        )


def _write_new(path: Path, data: bytes) -> Path:
    """Create ``path`` (never overwrite), fsync it and make it read-only."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    path.chmod(READ_ONLY)
    return path


def write_package(
    signed: SignedReport,
    results: Sequence[ResultSet],
    out_dir: Path,
    *,
    fhir: FhirSettings | None = None,
    hl7: Hl7Settings | None = None,
    trail: audit.AuditTrail | None = None,
    database_path: Path | None = None,
    previous_sr: Sequence[Path] = (),
) -> ReportPackage:
    """Write every output of a signed report into ``out_dir`` (which must not hold one).

    ``database_path`` locates the source images the SR and SEG reference;
    ``previous_sr`` names the report SR an amendment supersedes.
    """
    report, pdf = signed.report, signed.pdf
    require_new_package_folder(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"pdf": _write_new(out_dir / FILES["pdf"], pdf)}
    title = load_template(report.template_id, report.language).title
    algorithms = [f.algorithm for f in report.accepted_findings]
    dataset = encapsulated_pdf(
        pdf,
        patient=report.patient,
        study=report.study,
        title=title,
        created=report.finalized_at or now_utc(),
        algorithms=algorithms,
        institution=report.institution,
    )
    paths["pdf_dicom"] = out_dir / FILES["pdf_dicom"]
    write_dataset(dataset, paths["pdf_dicom"]).chmod(READ_ONLY)
    dicom = write_report_sr_and_seg(
        report, results, out_dir, FILES, database_path=database_path, previous_sr=previous_sr
    )
    for key, path in dicom.items():
        path.chmod(READ_ONLY)
        paths[key] = path
    paths["fhir"] = _write_new(out_dir / FILES["fhir"], fhir_bundle_bytes(report, pdf, fhir))
    paths["hl7"] = _write_new(out_dir / FILES["hl7"], oru_r01_bytes(report, pdf, hl7))
    document = json.dumps(report.to_dict(), ensure_ascii=False, indent=1).encode("utf-8")
    paths["report"] = _write_new(out_dir / FILES["report"], document)
    folders = {"result_dirs": [str(result.folder.absolute()) for result in results]}
    paths["result_folders"] = _write_new(
        out_dir / FILES["result_folders"], json.dumps(folders, indent=1).encode("utf-8")
    )
    if trail is not None:
        audit.record_export(
            trail,
            destination=str(out_dir.absolute()),
            patient_id=report.patient.patient_id,
            study_uid=report.study.study_uid,
            documents=[path.name for path in paths.values()],
        )
    return ReportPackage(report, paths)
