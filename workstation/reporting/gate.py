"""The report gate: the one place every report passes before anything is signed or written.

A report is refused, with a message that says why, when:

* its result folders are not all of one patient and one study (checked against the
  indexed source series and the DICOM the engines wrote), naming both patients;
* a result file breaks its schema (types, finite non-negative measurements, a known
  algorithm and version), or its folder's bytes no longer match the sealed manifest the
  engine (or a reader's review) wrote, or a draft's finding no longer matches its result;
* the physician typed as the reader is not the holder of the signing certificate, or an
  accepted finding was decided by someone other than the signer.

Exam-level categories are recomputed from the accepted findings before signing
(:func:`workstation.reporting.drafting.with_refreshed_findings`), and empty findings or
impression are refused by :meth:`workstation.model.report.Report.finalize` itself.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from workstation.home import HalongHome
from workstation.model.manifest import Manifest, ManifestError, read_manifest
from workstation.model.report import AIFinding, Patient, Physician, Report, SeriesRef, Study
from workstation.reporting.identity import Identity, identity_in_database, identity_in_files
from workstation.reporting.result_schema import ResultSchemaError, require_valid
from workstation.reporting.results import ResultSet
from workstation.reporting.signing import PdfSigner


class GateError(Exception):
    """The report must not be made or signed as asked; the message says why."""


@dataclass(frozen=True)
class CheckedResults:
    """Results that passed the gate, and the one patient and study they belong to."""

    results: tuple[ResultSet, ...]
    patient: Patient
    study: Study
    manifests: tuple[Manifest, ...]


def check_results(results: Sequence[ResultSet], home: HalongHome) -> CheckedResults:
    """Refuse results that are malformed, changed since written, or of several patients."""
    if not results:
        raise GateError("a report needs at least one result folder")
    key = home.result_seal_key()
    manifests = []
    identities: list[tuple[ResultSet, Identity]] = []
    for result in results:
        try:
            require_valid(result.document, result.adapter.schema, str(result.result_path))
        except ResultSchemaError as error:
            raise GateError(f"refused: {error}") from None
        try:
            manifest = read_manifest(result.folder, key)
        except ManifestError as error:
            raise GateError(f"refused: {error}") from None
        if result.adapter.result_file not in manifest.files:
            raise GateError(f"refused: {result.result_path} is not in its folder's manifest")
        manifests.append(manifest)
        identities.append((result, _identity_of(result, manifest, home.database_path)))
    first_result, first = identities[0]
    for result, identity in identities[1:]:
        if identity.key != first.key:
            raise GateError(
                "refused: the results belong to different patients or studies — "
                f"{first_result.folder} is of {first.describe()}, {result.folder} is of "
                f"{identity.describe()}; a report covers one patient's study"
            )
    series = tuple(
        dict.fromkeys(ref for _, identity in identities for ref in identity.study.series)
    ) or tuple(
        SeriesRef(series_uid=r.series_uid, modality=r.modality) for r in results if r.series_uid
    )
    modality = first_result.modality
    study = dataclasses.replace(
        first.study, series=series, modality=first.study.modality or modality
    )
    return CheckedResults(tuple(results), first.patient, study, tuple(manifests))


def _identity_of(result: ResultSet, manifest: Manifest, database_path: Path) -> Identity:
    """The result's patient and study, agreed by the database and the engine's own DICOM."""
    indexed = identity_in_database(database_path, result.series_uid)
    written = identity_in_files(manifest.paths(".dcm"))
    if indexed is not None and written is not None and indexed.key != written.key:
        raise GateError(
            f"refused: {result.folder} names {written.describe()} in {written.source}, but its "
            f"series {result.series_uid} is indexed as {indexed.describe()}"
        )
    identity = indexed or written
    if identity is None:
        raise GateError(
            f"refused: cannot tell which patient {result.folder} is of: its series is not in "
            "the local database ('halong import' it) and the folder holds no DICOM object"
        )
    return identity


def check_draft_findings(draft: Report, checked: CheckedResults, exam_kinds: Sequence[str]) -> None:
    """Every AI finding of the draft must still be what its (verified) result says.

    Drafts live on disk between sessions; a finding whose numbers or algorithm differ
    from the result file (edited, or the result replaced) is refused. Exam-level
    findings are recomputed anyway and are compared by id only.
    """
    if (draft.patient.patient_id, draft.study.study_uid) != (
        checked.patient.patient_id,
        checked.study.study_uid,
    ):
        raise GateError(
            "refused: the report is of patient "
            f"{draft.patient.patient_id} (study {draft.study.study_uid}) but its results are "
            f"of {checked.patient.patient_id} (study {checked.study.study_uid})"
        )
    fresh = {f.finding_id: f for result in checked.results for f in result.findings}
    for finding in draft.ai_findings:
        source = fresh.get(finding.finding_id)
        if source is None:
            raise GateError(f"refused: finding {finding.finding_id} is in no result folder")
        if finding.kind in exam_kinds:
            continue
        if _evidence(finding) != _evidence(source):
            raise GateError(
                f"refused: finding {finding.finding_id} no longer matches its result file: "
                "start the report again from the results"
            )


def _evidence(finding: AIFinding) -> tuple:
    return (finding.kind, finding.algorithm, finding.measurements, dict(finding.data))


def _same_name(typed: str, certified: str) -> bool:
    def normal(text: str) -> str:
        return " ".join(unicodedata.normalize("NFC", text).casefold().split())

    return normal(typed) == normal(certified)


def signing_physician(signer: PdfSigner, typed_name: str = "", typed_id: str = "") -> Physician:
    """The reading physician, as the signing certificate names them (name and licence).

    A typed name or licence number that differs from the certificate's is refused: the
    report names the person who signed it, nobody else.
    """
    name, licence = signer.common_name, signer.licence_number
    if typed_name.strip() and not _same_name(typed_name, name):
        raise GateError(
            f"refused: the reading physician typed ({typed_name.strip()!r}) is not the holder "
            f"of the signing certificate ({name!r}); the report names who signs it"
        )
    if typed_id.strip() and typed_id.strip() != licence:
        shown = repr(licence) if licence else "none"
        raise GateError(
            f"refused: the licence number typed ({typed_id.strip()!r}) is not the one in the "
            f"signing certificate ({shown})"
        )
    return Physician(name, licence)


def check_decided_by(report: Report, physician: Physician) -> None:
    """Every accepted AI finding must have been accepted by the physician who signs."""
    others = [
        f"{f.finding_id} (by {f.decided_by})"
        for f in report.accepted_findings
        if not _same_name(f.decided_by, physician.name)
    ]
    if others:
        raise GateError(
            f"refused: {', '.join(others)} accepted by someone other than the signer "
            f"{physician.name}: review and accept them yourself before signing"
        )
