"""The rendered report: Vietnamese text, the header, AI labels, and only accepted AI content."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from support.report_fixtures import PHYSICIAN, REPORT_IDENTITY, pdf_text

from workstation.model.report import ReportRuleError
from workstation.reporting.package import key_images_for
from workstation.reporting.pdf import KeyImage, render_report_pdf


def _write(tmp_path: Path, data: bytes, name: str = "report.pdf") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _image_count(pdf: Path) -> int:
    listing = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True)
    return len(listing.stdout.strip().splitlines()) - 2  # two header lines


def test_header_and_vietnamese_text(final_report, tmp_path):
    text = pdf_text(_write(tmp_path, render_report_pdf(final_report)))
    for expected in (
        "Bệnh viện Đa khoa Hạ Long",
        "KẾT QUẢ CHỤP CẮT LỚP VI TÍNH LỒNG NGỰC",
        "Nguyễn Thị Lan",
        "PAT-A",
        "ACC-77",
        "05/01/2024",  # study date
        "Chỉ định lâm sàng",
        "Kết luận",
        "R91",  # ICD-10 from the template, since findings were accepted
        PHYSICIAN,
    ):
        assert expected in text, expected


def test_accepted_ai_findings_are_labelled_with_algorithm_and_version(final_report, tmp_path):
    text = " ".join(pdf_text(_write(tmp_path, render_report_pdf(final_report))).split())
    assert "Hỗ trợ bởi AI: Halong lung nodule CAD 1.0.0" in text
    assert "Hỗ trợ bởi AI: halong-perfusion 1.0.0" in text
    assert "Nốt 1" in text and "524 mm³" in text
    assert "Lõi nhồi máu (rCBF < 30%): 12.4 mL" in text  # stroke summary
    assert "DEFUSE 3: đủ tiêu chuẩn" in text and "QC: motion" in text


def test_rejected_ai_findings_never_appear(final_report, tmp_path):
    text = pdf_text(_write(tmp_path, render_report_pdf(final_report)))
    assert "Nốt 2" not in text
    assert "77.7" not in text and "78 mm³" not in text  # nodule 2's volume
    assert "sát màng phổi" not in text  # nodule 2 is juxtapleural
    assert "Lung-RADS v2022 (toàn bộ" not in text  # the rejected exam-level finding


def test_key_images_of_ai_output_need_their_findings_accepted(
    draft, final_report, results, tmp_path
):
    images = key_images_for(results)  # summary.png of the perfusion result
    assert len(images) == 1
    accepted = _write(tmp_path, render_report_pdf(final_report, images), "accepted.pdf")
    assert _image_count(accepted) == 1
    rejected = draft.reject("perfusion", PHYSICIAN).accept("nodule-1", PHYSICIAN)
    rejected = _write(tmp_path, render_report_pdf(rejected, images), "rejected.pdf")
    assert _image_count(rejected) == 0
    array = KeyImage(np.linspace(0, 1, 64 * 64).reshape(64, 64), "an array image")
    assert _image_count(_write(tmp_path, render_report_pdf(final_report, [array]), "a.pdf")) == 1


def test_a_draft_is_watermarked_and_shows_no_pending_finding(draft, tmp_path):
    text = pdf_text(_write(tmp_path, render_report_pdf(draft)))
    assert "BẢN NHÁP" in text
    assert "Nốt 1" not in text  # pending, not accepted yet


def test_english_template(draft, tmp_path):
    import dataclasses

    english = dataclasses.replace(draft, language="en").accept("perfusion", PHYSICIAN)
    text = pdf_text(_write(tmp_path, render_report_pdf(english)))
    assert "CHEST CT REPORT" in text and "Clinical indication" in text
    assert "AI-assisted: halong-perfusion 1.0.0" in text


def test_a_final_report_with_an_unaccepted_finding_is_refused(final_report, draft):
    import dataclasses

    smuggled = dataclasses.replace(final_report, ai_findings=draft.ai_findings)
    with pytest.raises(ReportRuleError):
        render_report_pdf(smuggled)


def test_the_patient_and_study_are_in_the_xmp_and_the_bytes_deterministic(final_report, tmp_path):
    rendered = render_report_pdf(final_report)
    assert render_report_pdf(final_report) == rendered
    path = _write(tmp_path, rendered)
    meta = subprocess.run(["pdfinfo", "-meta", str(path)], capture_output=True).stdout
    meta = meta.decode("utf-8")  # poppler's reading of the XMP metadata stream
    assert "urn:halong:report-identity:1.0/" in meta
    for keyword, value in REPORT_IDENTITY.items():
        assert f"{keyword}>{value}</" in meta, keyword
