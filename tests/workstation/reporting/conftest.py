"""Fixtures for report tests: PKI, synthetic results, drafts and signed reports."""

from __future__ import annotations

import pytest
from support.report_fixtures import (
    FINDINGS,
    LICENCE,
    PHYSICIAN,
    SERIES_UID,
    STUDY_UID,
    DemoPki,
    make_test_pki,
    nss_database,
    write_lung_result,
    write_perfusion_result,
)

from workstation.model.report import Patient, Physician, Report, SeriesRef, Study


@pytest.fixture(scope="session")
def test_pki(tmp_path_factory: pytest.TempPathFactory) -> DemoPki:
    return make_test_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def nss(tmp_path_factory: pytest.TempPathFactory, test_pki: DemoPki) -> str:
    return nss_database(tmp_path_factory.mktemp("nss"), test_pki.ca)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> list:
    """Lung and perfusion results, read in Vietnamese (reports are immutable: shared)."""
    from workstation.reporting.results import load_results
    from workstation.reporting.templates import load_labels

    tmp_path = tmp_path_factory.mktemp("results")
    labels = load_labels("vi")
    home = tmp_path / "home"  # a module-wide data folder (the manifests' seal)
    lung = write_lung_result(tmp_path / "lung", home=home)
    perfusion = write_perfusion_result(tmp_path / "perfusion", home=home)
    return [load_results(lung, labels), load_results(perfusion, labels)]


@pytest.fixture(scope="module")
def draft(results: list) -> Report:
    from workstation.reporting.drafting import new_draft

    patient = Patient("PAT-A", "Nguyễn^Thị Lan", "19580312", "F")
    series = (SeriesRef(SERIES_UID, "CT", 2, "LUNG 1.25", 6),)
    study = Study(STUDY_UID, "ACC-77", "20240105", "101500", "CT", "CT NGUC", series)
    return new_draft(results, patient, study, institution="Bệnh viện Đa khoa Hạ Long")


@pytest.fixture(scope="module")
def final_report(draft: Report) -> Report:
    """Nodule 1 and the perfusion result accepted; nodule 2 and Lung-RADS rejected."""
    from workstation.reporting.drafting import prefill_conclusion

    decided = draft.accept("nodule-1", PHYSICIAN).accept("perfusion", PHYSICIAN)
    decided = decided.reject("nodule-2", PHYSICIAN).reject("lung-rads", PHYSICIAN)
    written = prefill_conclusion(decided).edit(findings_text=FINDINGS)
    return written.finalize(Physician(PHYSICIAN, LICENCE))


@pytest.fixture(scope="module")
def signed_pdf(final_report: Report, test_pki: DemoPki) -> bytes:
    from workstation.reporting.pdf import render_report_pdf
    from workstation.reporting.signing import load_signer, sign_pdf

    signer = load_signer(test_pki.p12, test_pki.passphrase)
    return sign_pdf(render_report_pdf(final_report), signer)
