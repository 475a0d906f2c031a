"""The one report workflow: start a draft, decide, preview, sign, amend — for every skin.

``halong report`` and the report panel call these functions and nothing else, so a
report signed in the window and one signed on the command line are made the same way
and pass the same gate (:mod:`workstation.reporting.gate`). Where things live under
the data folder is :class:`~workstation.home.HalongHome`'s: ``drafts/<report id>/``
(autosaved, :class:`~workstation.reporting.drafts.DraftStore`) and ``reports/<report
id>/`` (each signed version's package, written once and read-only).
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from workstation.home import HalongHome
from workstation.model.progress import CancelToken, Progress, check, no_progress
from workstation.model.report import Decision, Icd10Code, Report
from workstation.reporting.drafts import DraftError, DraftSession, DraftStore

if TYPE_CHECKING:
    from workstation.model.context import ReadingContext
    from workstation.reporting.package import ReportPackage
    from workstation.reporting.results import ResultSet
    from workstation.reporting.signing import PdfSigner

#: Resolution of preview pages (dots per inch): an A4 page about 660 pixels wide.
PREVIEW_DPI = 80
PDFTOPPM_TIMEOUT_S = 60
#: The conclusion fields :func:`~workstation.reporting.drafting.prefill_conclusion` writes.
CONCLUSION_FIELDS = ("impression", "recommendations", "icd10")


class ReportWorkError(Exception):
    """Something asked of the report cannot be done; the message says why."""


# --- where drafts and reports are kept ------------------------------------------------


def draft_store(home: HalongHome) -> DraftStore:
    return DraftStore(home.drafts)


def package_folder(home: HalongHome, report: Report) -> Path:
    """Where the signed package of ``report`` (this version) is kept."""
    return home.reports / report.report_id


def find_draft(store: DraftStore, study_uid: str) -> DraftSession | None:
    """The open draft of the study, if one waits (e.g. after a crash)."""
    for report_id in store.report_ids():
        if store.study_uid(report_id) != study_uid:
            continue  # only the study's own draft is opened (opening one rewrites it)
        try:
            session = store.open(report_id)
        except (DraftError, ValueError, KeyError):
            continue  # a damaged draft must not hide the others
        if session.report.study.study_uid == study_uid:
            return session
    return None


def find_final(home: HalongHome, study_uid: str) -> tuple[Report, Path] | None:
    """The latest signed version of the study's report, and its package folder."""
    found: list[tuple[Report, Path]] = []
    root = home.reports
    for path in sorted(root.glob("*/report.json")) if root.is_dir() else []:
        try:
            report = Report.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, KeyError, TypeError):
            continue
        if report.study.study_uid == study_uid and not report.is_draft:
            found.append((report, path.parent))
    if not found:
        return None
    return max(found, key=lambda item: item[0].version)


def result_folders_of(package: Path) -> list[Path]:
    """The result folders a signed package was made from (to amend it)."""
    from workstation.reporting.package import FILES

    try:
        document = json.loads((package / FILES["result_folders"]).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [Path(folder) for folder in document.get("result_dirs", [])]


def saved_results(home: HalongHome, context: ReadingContext) -> list[Path]:
    """The result folders a new report of the study being read starts from.

    Those saved in this session (the reading context knows them), else the newest folder
    of each capability under the study's results folder (a session before this one).
    """
    if context.study_key is None:
        return []
    known = context.all_results()
    if known:
        return known
    from workstation.model.manifest import MANIFEST
    from workstation.reporting.adapters import adapters

    base = home.study_results(context.study_key)
    newest = []
    for adapter in adapters():
        folders = [
            p.parent
            for p in base.glob(f"*/{adapter.result_file}")
            if (p.parent / MANIFEST).is_file()
        ]
        if folders:
            newest.append(max(folders, key=lambda folder: folder.stat().st_mtime))
    return newest


# --- drafts ---------------------------------------------------------------------------


def new_report(
    result_dirs: Sequence[Path], home: HalongHome, *, language: str, institution: str = ""
) -> tuple[Report, list[ResultSet]]:
    """A draft of the results (findings pending, conclusion prefilled), through the gate."""
    from workstation.reporting.drafting import prefill_conclusion
    from workstation.reporting.package import draft_from_results

    draft, results = draft_from_results(
        list(result_dirs), home, language=language, institution=institution
    )
    return prefill_conclusion(draft), results


def start_draft(
    home: HalongHome,
    result_dirs: Sequence[Path],
    *,
    language: str,
    institution: str = "",
    study_uid: str = "",
) -> tuple[DraftSession, list[ResultSet]]:
    """:func:`new_report`, autosaved from the first moment (the panel's "New Draft").

    ``study_uid``, when given, is the study being read: results of another study are
    refused (a report must never be started on one patient's images with another's).
    """
    from workstation.reporting.gate import GateError

    draft, results = new_report(result_dirs, home, language=language, institution=institution)
    if study_uid and draft.study.study_uid != study_uid:
        name = " ".join(part for part in draft.patient.name.split("^") if part)
        raise GateError(
            f"refused: these results are of {name} (ID {draft.patient.patient_id}, study "
            f"{draft.study.study_uid}), not of the study being read ({study_uid})"
        )
    return draft_store(home).create(draft, result_dirs), results


def load_result_sets(result_dirs: Sequence[Path], language: str) -> list[ResultSet]:
    """The results a draft was made from, read again (after a restart, before signing)."""
    from workstation.reporting.results import load_results
    from workstation.reporting.templates import load_labels

    labels = load_labels(language)
    return [load_results(folder, labels) for folder in result_dirs if Path(folder).is_dir()]


def refreshed_conclusion(before: Report, after: Report) -> Report:
    """``after`` (``before`` with other decisions) with its exam-level findings recomputed
    and its conclusion written again from the accepted findings, field by field, where
    the physician has not changed it: a field still holding what the findings gave
    before follows; typed text stays."""
    from workstation.reporting.drafting import prefill_conclusion, with_refreshed_findings

    after = with_refreshed_findings(after)
    old, new = prefill_conclusion(before), prefill_conclusion(after)
    changes = {
        name: getattr(new, name)
        for name in CONCLUSION_FIELDS
        if getattr(after, name) == getattr(old, name) != getattr(new, name)
    }
    return after.edit(**changes) if changes else after


def decide(session: DraftSession, finding_id: str, decision: Decision, physician: str) -> Report:
    """One decision on an AI finding, journalled, with the exam findings and conclusion
    following it (see :func:`refreshed_conclusion`)."""
    before = session.report
    after = session.decide(finding_id, Decision(decision), physician)
    refreshed = refreshed_conclusion(before, after)
    if refreshed != after:
        session.replace(refreshed)
    return session.report


def apply_acceptance(report: Report, accept: str, physician: str) -> Report:
    """The CLI's explicit decision on every finding, with the conclusion written after."""
    from workstation.reporting.drafting import prefill_conclusion
    from workstation.reporting.package import apply_acceptance as decide_all

    return prefill_conclusion(decide_all(report, accept, physician))


def parse_icd10(entries: Sequence[str] | str, known: Sequence[Icd10Code] = ()) -> list[Icd10Code]:
    """ICD-10 codes as the physician writes them, in the CLI and the panel alike: one per
    entry (or line), ``CODE description``; the description defaults to the known one.

    Raises ValueError naming the entry that is not an ICD-10 code.
    """
    lines = entries.splitlines() if isinstance(entries, str) else list(entries)
    displays = {code.code: code.display for code in known}
    codes = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        code, _, display = line.strip().partition(" ")
        code = code.upper()
        try:
            codes.append(Icd10Code(code, display.strip() or displays.get(code, code)))
        except ValueError:
            raise ValueError(f"entry {number}: {code!r} is not an ICD-10 code") from None
    return codes


def icd10_text(codes: Sequence[Icd10Code]) -> str:
    return "\n".join(f"{code.code} {code.display}".strip() for code in codes)


def known_icd10(report: Report) -> tuple[Icd10Code, ...]:
    """The codes the report's template suggests (their descriptions fill in typed codes)."""
    from workstation.reporting.templates import load_template

    return load_template(report.template_id, report.language).icd10_suggestions


# --- preview --------------------------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    """A rendered report: the PDF bytes and one PNG per page."""

    pdf: bytes
    pages: list[bytes]


def pdf_pages(pdf: bytes, dpi: int = PREVIEW_DPI) -> list[bytes]:
    """PNG images of the PDF's pages (poppler's ``pdftoppm``)."""
    with tempfile.TemporaryDirectory(prefix="halong-preview-") as scratch:
        source = Path(scratch) / "report.pdf"
        source.write_bytes(pdf)
        try:
            subprocess.run(
                ["pdftoppm", "-png", "-r", str(dpi), str(source), str(Path(scratch) / "page")],
                check=True,
                capture_output=True,
                timeout=PDFTOPPM_TIMEOUT_S,
            )
        except FileNotFoundError:
            raise ReportWorkError(
                "cannot draw the preview: poppler's pdftoppm is missing"
            ) from None
        except subprocess.CalledProcessError as error:
            detail = error.stderr.decode(errors="replace").strip()
            raise ReportWorkError(f"cannot draw the preview: {detail}") from None
        return [page.read_bytes() for page in sorted(Path(scratch).glob("page*.png"))]


def render_preview(
    report: Report,
    results: Sequence[ResultSet],
    signed_pdf: Path | None = None,
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
) -> Preview:
    """The draft as its (watermarked) PDF, or the signed PDF itself, and its pages."""
    from workstation.reporting.drafting import with_refreshed_findings
    from workstation.reporting.package import key_images_for
    from workstation.reporting.pdf import render_report_pdf

    progress(0, 2, "rendering the report")
    if signed_pdf is not None:
        pdf = signed_pdf.read_bytes()
    else:
        pdf = render_report_pdf(with_refreshed_findings(report), key_images_for(results))
    check(cancel)
    progress(1, 2, "drawing the pages")
    pages = pdf_pages(pdf)
    progress(2, 2, "preview ready")
    return Preview(pdf, pages)


# --- signing --------------------------------------------------------------------------


@dataclass(frozen=True)
class SignRequest:
    """What signing needs besides the draft and the key: what the user typed, and where.

    The key is a loaded :class:`~workstation.reporting.signing.PdfSigner`
    (:func:`~workstation.reporting.signing.load_signer`): its passphrase is gone by then.
    """

    #: The reading physician's name and licence as typed; checked against the certificate.
    typed_physician: str = ""
    typed_physician_id: str = ""
    #: RFC 3161 timestamp server (PAdES B-T); None signs B-B.
    timestamp_url: str | None = None
    #: Where the package goes; None: the data folder's ``reports/<report id>/``.
    out_dir: Path | None = None
    #: The package of the version an amendment replaces; None: the data folder's.
    amends: Path | None = None


def sign(
    draft: Report,
    result_dirs: Sequence[Path],
    signer: PdfSigner,
    request: SignRequest,
    home: HalongHome,
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
) -> ReportPackage:
    """Check everything, then sign the draft and write its package (the only way to sign).

    The results are read again and pass the gate; the draft's findings must still be
    theirs; exam-level findings are recomputed from the accepted ones; the physician is
    the certificate's holder and decided every accepted finding. Any refusal comes
    before a single file is written.
    """
    from workstation.net.audit import AuditTrail
    from workstation.reporting.adapters import adapters
    from workstation.reporting.drafting import with_refreshed_findings
    from workstation.reporting.gate import (
        GateError,
        check_decided_by,
        check_draft_findings,
        check_results,
        signing_physician,
    )
    from workstation.reporting.package import (
        FILES,
        key_images_for,
        require_new_package_folder,
        sign_report,
        write_package,
    )

    progress(0, 4, "checking the results")
    results = load_result_sets(result_dirs, draft.language)
    if len(results) != len(result_dirs):
        missing = [str(p) for p in result_dirs if not Path(p).is_dir()]
        raise GateError(f"refused: result folder(s) gone: {', '.join(missing)}")
    if results:
        checked = check_results(results, home)
        exam_kinds = [kind for adapter in adapters() for kind in adapter.exam_finding_kinds]
        check_draft_findings(draft, checked, exam_kinds)
    elif draft.ai_findings:
        raise GateError("refused: the report's AI findings need their result folders")
    out_dir = request.out_dir or package_folder(home, draft)
    require_new_package_folder(out_dir)
    check(cancel)
    progress(1, 4, "checking the physician")
    physician = signing_physician(signer, request.typed_physician, request.typed_physician_id)
    draft = with_refreshed_findings(draft)
    check_decided_by(draft, physician)
    check(cancel)
    progress(2, 4, "signing the report")
    trail = AuditTrail.from_environment(home.audit)
    signed = sign_report(
        draft,
        signer,
        physician=physician,
        key_images=key_images_for(results),
        timestamp_url=request.timestamp_url,
        trail=trail,
    )
    progress(3, 4, "writing the report files")
    previous_sr = []
    if draft.replaces:
        previous = (request.amends or home.reports / draft.replaces) / FILES["sr"]
        previous_sr = [previous] if previous.is_file() else []
    package = write_package(
        signed,
        results,
        out_dir,
        trail=trail,
        database_path=home.database_path,
        previous_sr=previous_sr,
    )
    progress(4, 4, "report signed")
    return package


def amendment(package: Path, reason: str) -> tuple[Report, list[Path]]:
    """A new draft correcting the signed report in ``package``, and its result folders."""
    from workstation.reporting.package import previous_version

    return previous_version(package).amend(reason), result_folders_of(package)
