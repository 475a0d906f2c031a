"""The report as a PDF: what the physician signs and the EMR and PACS keep.

One A4 document in the report's language: a header with the hospital, patient,
accession and study date on every page; indication, technique and findings; a table
of the accepted AI findings, each labelled with its algorithm's name and version
and who accepted it; the capabilities' summaries (perfusion); key images; impression,
recommendations and ICD-10 codes. Only accepted AI content is ever drawn, drafts included, and key
images tied to a finding appear only once that finding is accepted. A draft is
rendered with a watermark so a preview is never mistaken for a report.

The bytes are deterministic for a given report (creation date = finalisation
time), which keeps the signed file, its DICOM and FHIR copies comparable. The XMP
metadata states the patient and study (:mod:`~workstation.reporting.pdf_identity`), so
the signature covers who the report is about, not only the text on its pages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from PIL import Image

from workstation.model.fonts import report_font
from workstation.model.report import AIFinding, Measurement, Report, local_time, require_releasable
from workstation.reporting.adapters import adapter_for_finding
from workstation.reporting.pdf_identity import CREATOR, identity_xmp, report_identity
from workstation.reporting.results import format_value
from workstation.reporting.templates import Labels, load_labels, load_template

FONT = "DejaVu"
_UNIT_SHOWN = {"mm3": "mm³", "[hnsf'U]": "HU", "1": ""}
_GREY = (110, 110, 110)


@dataclass(frozen=True)
class KeyImage:
    """A picture for the report, overlays already drawn in (a PNG path or an array).

    ``finding_ids`` ties a picture of AI output (e.g. the perfusion ``summary.png``)
    to the findings it shows: it is left out unless the physician accepted them all.
    """

    image: Path | np.ndarray
    caption: str = ""
    finding_ids: tuple[str, ...] = ()


def show_measurement(measurement: Measurement, labels: Labels) -> str:
    digits = 0 if measurement.unit == "mm3" else (2 if measurement.unit == "1" else 1)
    unit = _UNIT_SHOWN.get(measurement.unit, measurement.unit)
    value = format_value(measurement.value, labels, digits)
    return f"{measurement.label}: {value}{' ' + unit if unit and measurement.is_finite else ''}"


def _date(yyyymmdd: str) -> str:
    if len(yyyymmdd) == 8 and yyyymmdd.isdigit():
        return f"{yyyymmdd[6:]}/{yyyymmdd[4:6]}/{yyyymmdd[:4]}"
    return yyyymmdd


def _person(dicom_name: str) -> str:
    return " ".join(part for part in dicom_name.split("^") if part).strip()


class _ReportPdf(FPDF):
    """Header and footer on every page."""

    def __init__(self, report: Report, labels: Labels, title: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.report, self.labels, self.title_text = report, labels, title
        font = report_font()
        self.add_font(FONT, "", str(font.regular))
        self.add_font(FONT, "B", str(font.bold))
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(auto=True, margin=18)

    def header(self) -> None:
        report, labels = self.report, self.labels
        self.set_font(FONT, "B", 10)
        self.cell(0, 5, report.institution, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(FONT, "B", 13)
        self.cell(0, 8, self.title_text, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(FONT, "", 9)
        patient, study = report.patient, report.study
        sex = labels["sex_values"].get(patient.sex, patient.sex)
        rows = (
            (labels["patient"], _person(patient.name), labels["patient_id"], patient.patient_id),
            (labels["birth_date"], _date(patient.birth_date), labels["sex"], sex),
            (
                labels["accession"],
                study.accession_number,
                labels["study_date"],
                _date(study.study_date),
            ),
            (labels["exam"], f"{report.exam_display} (LOINC {report.exam_code})", "", ""),
        )
        for label_a, value_a, label_b, value_b in rows:
            self.set_font(FONT, "B", 9)
            self.cell(32, 5, label_a)
            self.set_font(FONT, "", 9)
            self.cell(63, 5, value_a)
            self.set_font(FONT, "B", 9)
            self.cell(30, 5, label_b)
            self.set_font(FONT, "", 9)
            self.cell(0, 5, value_b, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.line(15, self.get_y() + 1, 195, self.get_y() + 1)
        self.ln(4)
        if report.is_draft:
            self._watermark()

    def _watermark(self) -> None:
        with self.local_context(text_color=(200, 0, 0)):
            self.set_font(FONT, "B", 9)
            self.cell(0, 5, self.labels["draft_watermark"], align="C")
            self.ln(6)
        with self.local_context(text_color=(225, 180, 180)):
            self.set_font(FONT, "B", 20)
            with self.rotation(40, 105, 150):
                text = self.labels["draft_watermark"]
                self.text(105 - self.get_string_width(text) / 2, 150, text)
        self.set_font(FONT, "", 10)

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font(FONT, "", 7)
        self.set_text_color(*_GREY)
        report = self.report
        ident = self.labels.text("report_id", report_id=report.report_id, version=report.version)
        page = self.labels.text("page", page=self.page_no(), pages="{nb}")
        self.cell(150, 4, ident)
        self.cell(0, 4, page, align="R")
        self.set_text_color(0, 0, 0)


def _section(pdf: _ReportPdf, heading: str, text: str) -> None:
    if not text.strip():
        return
    pdf.set_font(FONT, "B", 11)
    pdf.cell(0, 7, heading, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, "", 10)
    pdf.multi_cell(0, 5, text.strip(), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)


def _ai_label(finding: AIFinding, labels: Labels) -> str:
    when = local_time(finding.decided_at).strftime("%d/%m/%Y %H:%M") if finding.decided_at else ""
    return labels.text(
        "ai_label", algorithm=finding.algorithm.label, physician=finding.decided_by, time=when
    )


def _category(finding: AIFinding, labels: Labels) -> str:
    adapter = adapter_for_finding(finding)
    return adapter.category(finding, labels) if adapter is not None else ""


def _findings_table(pdf: _ReportPdf, findings: Sequence[AIFinding], labels: Labels) -> None:
    if not findings:
        return
    pdf.set_font(FONT, "B", 11)
    pdf.cell(0, 7, labels["ai_findings"], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, "", 8.5)
    headings = (
        labels["column_number"],
        labels["column_finding"],
        labels["column_measurements"],
        labels["column_category"],
    )
    with pdf.table(col_widths=(10, 72, 63, 35), text_align="LEFT", line_height=4.2) as table:
        row = table.row()
        for heading in headings:
            row.cell(heading)
        for number, finding in enumerate(findings, start=1):
            row = table.row()
            row.cell(str(number))
            described = f"{finding.title}\n{finding.summary}\n{_ai_label(finding, labels)}"
            row.cell(described.replace("\n\n", "\n"))
            row.cell("\n".join(show_measurement(m, labels) for m in finding.measurements) or "-")
            row.cell(_category(finding, labels) or "-")
    pdf.ln(3)


def _summary_boxes(pdf: _ReportPdf, findings: Sequence[AIFinding], labels: Labels) -> None:
    """The boxed summaries capabilities give their findings (e.g. perfusion's volumes)."""
    for finding in findings:
        adapter = adapter_for_finding(finding)
        box = adapter.summary_box(finding, labels) if adapter is not None else None
        if box is None:
            continue
        heading, lines = box
        pdf.set_font(FONT, "B", 11)
        pdf.cell(0, 7, heading, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font(FONT, "", 10)
        pdf.multi_cell(
            0, 5.5, "\n".join(lines), border=1, padding=2, new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )
        pdf.set_font(FONT, "", 7.5)
        pdf.set_text_color(*_GREY)
        pdf.multi_cell(0, 4, _ai_label(finding, labels), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_text_color(0, 0, 0)
        pdf.ln(2)


def _picture(image: Path | np.ndarray) -> Image.Image:
    if isinstance(image, np.ndarray):
        array = np.asarray(image)
        if array.dtype != np.uint8:
            low, high = float(array.min()), float(array.max())
            array = ((array - low) / ((high - low) or 1.0) * 255).astype(np.uint8)
        return Image.fromarray(array)
    with Image.open(image) as opened:
        return opened.convert("RGB")


def _key_images(pdf: _ReportPdf, images: Sequence[KeyImage], labels: Labels) -> None:
    if not images:
        return
    pdf.set_font(FONT, "B", 11)
    pdf.cell(0, 7, labels["key_images"], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    for key_image in images:
        picture = _picture(key_image.image)
        width = 180.0
        height = width * picture.height / picture.width
        if height > 120:
            height, width = 120.0, 120.0 * picture.width / picture.height
        if pdf.get_y() + height + 10 > pdf.h - pdf.b_margin:
            pdf.add_page()
        pdf.image(picture, x=(210 - width) / 2, w=width, h=height)
        if key_image.caption:
            pdf.set_font(FONT, "", 8)
            pdf.multi_cell(0, 4, key_image.caption, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(2)


def _signature_block(pdf: _ReportPdf, report: Report, labels: Labels) -> None:
    pdf.ln(2)
    pdf.set_font(FONT, "B", 10)
    physician = report.physician.name if report.physician else ""
    pdf.cell(0, 6, f"{labels['physician']}: {physician}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, "", 9)
    if report.finalized_at:
        when = local_time(report.finalized_at).strftime("%d/%m/%Y %H:%M (UTC%z)")
        pdf.cell(0, 5, f"{labels['signed_at']}: {when}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font(FONT, "", 8)
        pdf.multi_cell(0, 4, labels["signed_note"], new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def render_report_pdf(report: Report, key_images: Sequence[KeyImage] = ()) -> bytes:
    """The PDF of ``report``: final reports for signing, drafts as watermarked previews."""
    if not report.is_draft:
        require_releasable(report)
    labels = load_labels(report.language)
    template = load_template(report.template_id, report.language)
    accepted = report.accepted_findings
    accepted_ids = {f.finding_id for f in accepted}
    images = [k for k in key_images if set(k.finding_ids) <= accepted_ids]

    pdf = _ReportPdf(report, labels, template.title)
    pdf.set_lang(report.language)
    pdf.set_title(template.title)
    pdf.set_subject(f"{report.exam_display} {report.study.accession_number}".strip())
    if report.physician:
        pdf.set_author(report.physician.name)
    pdf.set_creator(CREATOR)
    pdf.set_creation_date(report.finalized_at or report.created_at)
    pdf.set_xmp_metadata(identity_xmp(report_identity(report)))
    pdf.add_page()
    if report.replaces:
        amended = labels.text(
            "amended_note",
            version=report.version,
            replaces=report.replaces,
            reason=report.amendment_reason,
        )
        pdf.set_font(FONT, "B", 9)
        pdf.multi_cell(0, 5, amended, border=1, padding=1.5, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(2)
    _section(pdf, labels["indication"], report.indication)
    _section(pdf, labels["technique"], report.technique)
    _section(pdf, labels["findings"], report.findings_text)
    _findings_table(pdf, accepted, labels)
    _summary_boxes(pdf, accepted, labels)
    _key_images(pdf, images, labels)
    _section(pdf, labels["impression"], report.impression)
    _section(pdf, labels["recommendations"], report.recommendations)
    codes = "\n".join(f"{code.code} - {code.display}" for code in report.icd10)
    _section(pdf, labels["icd10"], codes)
    _signature_block(pdf, report, labels)
    return bytes(pdf.output())
