"""The report panel's work, without Qt: drafts and signed reports of a study, preview
pages, signing into a package, and sending it through the outbox.

Everything here calls what ``halong report`` and ``halong send`` call
(:mod:`workstation.reporting.package`, :mod:`workstation.net.outbox`,
:func:`workstation.net.delivery.deliver`); the panel adds only the places where the
workstation keeps things under ``$HALONG_HOME``:

* ``drafts/<report id>/``: autosaved drafts (:class:`~workstation.reporting.drafts.DraftStore`);
* ``reports/<report id>/``: each signed version's package (``report.pdf``, DICOM,
  FHIR, HL7, ``report.json``), written once and read-only.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from workstation.home import HalongHome
from workstation.model.progress import CancelToken, Progress, check, no_progress
from workstation.model.report import Icd10Code, Physician, Report
from workstation.reporting.drafts import DraftError, DraftSession, DraftStore

if TYPE_CHECKING:
    from workstation.net.destinations import Destination
    from workstation.net.outbox import OutboxItem
    from workstation.reporting.package import ReportPackage
    from workstation.reporting.results import ResultSet

#: Resolution of preview pages (dots per inch): an A4 page about 660 pixels wide.
PREVIEW_DPI = 80
PDFTOPPM_TIMEOUT_S = 60
#: The conclusion fields :func:`~workstation.reporting.drafting.prefill_conclusion` writes.
CONCLUSION_FIELDS = ("impression", "recommendations", "icd10")
#: Destination kinds the panel offers, and what the user types for each.
DESTINATION_FORMS = {
    "pacs": "PACS (C-STORE): AET@HOST:PORT",
    "dicomweb": "DICOMweb STOW-RS: base URL",
    "fhir": "FHIR server: base URL",
    "mllp": "HL7 v2 (MLLP): HOST:PORT",
}


class ReportWorkError(Exception):
    """Something the panel was asked to do cannot be done; the message says why."""


def draft_store(home: HalongHome) -> DraftStore:
    return DraftStore(home.root / "drafts")


def reports_root(home: HalongHome) -> Path:
    return home.root / "reports"


def package_folder(home: HalongHome, report: Report) -> Path:
    """Where the signed package of ``report`` (this version) is kept."""
    return reports_root(home) / report.report_id


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
    root = reports_root(home)
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


def start_draft(
    store: DraftStore,
    result_dirs: Sequence[Path],
    *,
    language: str,
    institution: str,
    database_path: Path,
) -> tuple[DraftSession, list[ResultSet]]:
    """A new draft of the results (findings pending, conclusion prefilled), autosaved."""
    from workstation.reporting.drafting import prefill_conclusion
    from workstation.reporting.package import draft_from_results

    draft, results = draft_from_results(
        list(result_dirs), language=language, institution=institution, database_path=database_path
    )
    return store.create(prefill_conclusion(draft), result_dirs), results


def load_result_sets(result_dirs: Sequence[Path], language: str) -> list[ResultSet]:
    """The results a draft was made from, read again (after a restart)."""
    from workstation.reporting.results import load_results
    from workstation.reporting.templates import load_labels

    labels = load_labels(language)
    return [load_results(folder, labels) for folder in result_dirs if Path(folder).is_dir()]


def refreshed_conclusion(before: Report, after: Report) -> Report:
    """``after`` (``before`` with other decisions) with its conclusion written again from
    the accepted findings, field by field, where the physician has not changed it: a
    field still holding what the findings gave before follows; typed text stays."""
    from workstation.reporting.drafting import prefill_conclusion

    old, new = prefill_conclusion(before), prefill_conclusion(after)
    changes = {
        name: getattr(new, name)
        for name in CONCLUSION_FIELDS
        if getattr(after, name) == getattr(old, name) != getattr(new, name)
    }
    return after.edit(**changes) if changes else after


def icd10_text(codes: Sequence[Icd10Code]) -> str:
    return "\n".join(f"{code.code} {code.display}".strip() for code in codes)


def parse_icd10(text: str, known: Sequence[Icd10Code] = ()) -> list[Icd10Code]:
    """One code per line, ``CODE description``; the description defaults to the known one.

    Raises ValueError naming the line that is not an ICD-10 code.
    """
    displays = {code.code: code.display for code in known}
    codes = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        code, _, display = line.strip().partition(" ")
        code = code.upper()
        try:
            codes.append(Icd10Code(code, display.strip() or displays.get(code, code)))
        except ValueError:
            raise ValueError(f"line {number}: {code!r} is not an ICD-10 code") from None
    return codes


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
    from workstation.reporting.package import key_images_for
    from workstation.reporting.pdf import render_report_pdf

    progress(0, 2, "rendering the report")
    if signed_pdf is not None:
        pdf = signed_pdf.read_bytes()
    else:
        pdf = render_report_pdf(report, key_images_for(results))
    check(cancel)
    progress(1, 2, "drawing the pages")
    pages = pdf_pages(pdf)
    progress(2, 2, "preview ready")
    return Preview(pdf, pages)


def sign_into_package(
    draft: Report,
    results: Sequence[ResultSet],
    p12_path: Path,
    passphrase: bytes,
    physician_name: str,
    physician_id: str,
    home: HalongHome,
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
) -> ReportPackage:
    """Sign the draft with the physician's PKCS#12 and write its package (as ``halong report``).

    The passphrase goes straight to the key loader and is never kept or logged.
    An amendment names the SR of the version it replaces.
    """
    from workstation.net.audit import AuditTrail
    from workstation.reporting.package import (
        FILES,
        key_images_for,
        sign_report,
        write_package,
    )
    from workstation.reporting.signing import load_signer

    progress(0, 3, "opening the signing key")
    signer = load_signer(p12_path, passphrase)
    check(cancel)
    physician = Physician(physician_name.strip() or signer.common_name, physician_id.strip())
    trail = AuditTrail.from_environment(home.audit)
    progress(1, 3, "signing the report")
    signed = sign_report(
        draft, signer, physician=physician, key_images=key_images_for(results), trail=trail
    )
    progress(2, 3, "writing the report files")
    previous_sr = []
    if draft.replaces:
        previous = reports_root(home) / draft.replaces / FILES["sr"]
        previous_sr = [previous] if previous.is_file() else []
    package = write_package(
        signed,
        results,
        package_folder(home, signed.report),
        trail=trail,
        database_path=home.database_path,
        previous_sr=previous_sr,
    )
    progress(3, 3, "report signed")
    return package


def parse_destinations(
    addresses: Mapping[str, str], calling_aet: str | None = None
) -> list[Destination]:
    """Destinations from what the user typed per kind (:data:`DESTINATION_FORMS`).

    Empty entries are skipped; a malformed one raises DestinationError naming it.
    """
    from workstation.net.destinations import (
        DEFAULT_CALLING_AET,
        Destination,
        DestinationError,
        HttpEndpoint,
    )

    makers = {
        "pacs": lambda text: Destination.pacs(text, calling_aet or DEFAULT_CALLING_AET),
        "dicomweb": lambda text: Destination.dicomweb(HttpEndpoint(text)),
        "fhir": lambda text: Destination.fhir(HttpEndpoint(text)),
        "mllp": Destination.mllp,
    }
    destinations = []
    for kind, make in makers.items():
        text = addresses.get(kind, "").strip()
        if not text:
            continue
        try:
            destinations.append(make(text))
        except DestinationError as error:
            raise DestinationError(f"{DESTINATION_FORMS[kind]}: {error}") from None
    return destinations


def package_keys(folder: Path) -> set[str]:
    """Idempotency keys of everything sendable in a package folder."""
    from workstation.net.payloads import collect_payloads

    return {
        payload.key for payload in collect_payloads([folder], ("dicom", "fhir-bundle", "hl7v2"))
    }


def send_package(
    folder: Path,
    destinations: Sequence[Destination],
    home: HalongHome,
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
) -> list[OutboxItem]:
    """Queue the package for each destination in the outbox, then deliver what is due.

    What cannot be delivered now stays queued (the outbox retries it, and
    ``halong outbox`` shows it); returns the package's items as they stand.
    """
    from workstation.net.audit import AuditTrail
    from workstation.net.delivery import deliver
    from workstation.net.outbox import Outbox, OutboxBusy
    from workstation.net.payloads import ACCEPTED_BY, collect_payloads

    if not destinations:
        raise ReportWorkError("no destination configured: set the PACS or EMR addresses first")
    payloads = list(collect_payloads([folder], {ACCEPTED_BY[d.kind] for d in destinations}))
    with Outbox.open(home.outbox) as outbox:
        ids = []
        for destination in destinations:
            wanted = [p for p in payloads if p.kind == ACCEPTED_BY[destination.kind]]
            if wanted:
                ids += [item.id for item in outbox.enqueue(destination, wanted)]
        check(cancel)
        outbox.clear_backoff()  # the physician asked to send now: try every destination
        with contextlib.suppress(OutboxBusy):  # another Halong delivers: it takes these too
            deliver(
                outbox,
                trail=AuditTrail.from_environment(home.audit),
                progress=progress,
                cancel=cancel,
            )
        return outbox.items(ids=ids)


def package_items(home: HalongHome, folder: Path) -> list[OutboxItem]:
    """The outbox items of a package folder (every destination it was queued for)."""
    from workstation.net.outbox import Outbox

    if not home.outbox.is_dir():
        return []
    keys = package_keys(folder)
    with Outbox.open(home.outbox) as outbox:
        return [item for item in outbox.items() if item.key in keys]


def outbox_summary(items: Sequence[OutboxItem]) -> str:
    """``Outbox: 3 delivered, 2 pending (mllp:host:port: connection refused)``."""
    if not items:
        return "Outbox: not sent yet"
    counts: dict[str, int] = {}
    for item in items:
        counts[item.status] = counts.get(item.status, 0) + 1
    text = "Outbox: " + ", ".join(f"{count} {status}" for status, count in counts.items())
    errors = {
        f"{item.destination.label}: {item.last_error}"
        for item in items
        if item.status != "delivered" and item.last_error
    }
    return text + (f" ({'; '.join(sorted(errors))})" if errors else "")


def outbox_details(items: Sequence[OutboxItem]) -> str:
    """One line per item: destination, file, state (and the last error while undelivered)."""
    lines = []
    for item in items:
        line = f"{item.destination.label}  {item.label}  {item.status}"
        if item.status != "delivered" and item.last_error:
            line += f" — {item.last_error}"
        lines.append(line)
    return "\n".join(lines)
