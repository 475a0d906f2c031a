"""``halong perfusion``: NIfTI and DICOM inputs, outputs, made-up identity, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
from support.dicom_validation import dciodvfy_errors

from ai.phantoms import make_adc_head, make_ctp_head, make_mr_dsc_head
from workstation.dicom.image_writer import SeriesInfo
from workstation.dicom.series_input import load_series, request_for_path
from workstation.model.conversions import save_nifti
from workstation.perfusion.inputs import source_study
from workstation.perfusion.outputs import OUTPUT_KEYS
from workstation.perfusion.phantoms import write_adc_phantom, write_perfusion_phantom

OUTPUT_NIFTI = ("cbf", "cbv", "mtt", "tmax", "ttp", "core", "hypoperfusion")


@pytest.fixture(scope="module")
def small_ct(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    """A 128 x 128 x 16 CT perfusion phantom written as 4D NIfTI (time step 1.6 s)."""
    phantom = make_ctp_head(seed=4, noise_hu=5.0, n_frames=40)
    path = tmp_path_factory.mktemp("ctp") / "ctp.nii.gz"
    save_nifti(phantom.volume, path)
    return path, phantom


def test_nifti_input_writes_every_output_with_a_consistent_made_up_identity(
    small_ct, tmp_path: Path, halong
) -> None:
    path, phantom = small_ct
    first = halong("perfusion", path, "--dt", "1.6", "--out", tmp_path / "a")
    assert first.status == 0, first.err
    assert "made up" in first.out
    assert "perfusion [" in first.err  # progress on stderr
    document = json.loads((tmp_path / "a" / "perfusion.json").read_text())
    assert tuple(document) == OUTPUT_KEYS
    assert document["input"]["frame_interval_s"] == 1.6
    assert abs(document["hypoperfusion_ml"] - phantom.hypoperfusion_ml) <= 0.1 * (
        phantom.hypoperfusion_ml
    )
    assert document["triage"]["defuse3"]["status"] == "needs input"
    for name in OUTPUT_NIFTI:
        image = nib.load(tmp_path / "a" / f"{name}.nii.gz")
        assert image.shape == phantom.volume.shape_zyx[::-1]
        assert np.allclose(image.affine, nib.load(path).affine)
    assert (tmp_path / "a" / "summary.png").stat().st_size > 10_000
    written = pydicom.dcmread(tmp_path / "a" / "dicom" / "summary_sc.dcm")
    again = source_study(
        load_series(request_for_path(path), tmp_path / "none.sqlite", frame_interval_s=1.6)
    ).reference  # what a second run would use
    assert written.PatientID == again.PatientID and written.PatientID.startswith("NIFTI-")
    assert written.StudyInstanceUID == again.StudyInstanceUID
    assert "made up" in written.DerivationDescription
    for dicom in sorted((tmp_path / "a" / "dicom").glob("*.dcm")):
        iod = "ParametricMap" if dicom.stem.endswith("_pm") else "SCImage"
        assert dciodvfy_errors(dicom, iod) == [], dicom.name


def test_mr_dsc_and_adc_from_dicom(tmp_path: Path, halong) -> None:
    dsc = make_mr_dsc_head(seed=0)
    adc = make_adc_head(seed=0)
    study = SeriesInfo(patient_id="MR-7", study_description="MR stroke", series_number=5)
    files = write_perfusion_phantom(dsc, tmp_path / "mr", study)
    adc_folder, _ = write_adc_phantom(adc, tmp_path / "mr", study)
    out = tmp_path / "out"
    run = halong(
        "perfusion",
        files.dicom,
        "--adc",
        adc_folder,
        "--out",
        out,
        "--age",
        85,
        "--nihss",
        12,
        "--onset-hours",
        20,
    )
    assert run.status == 0, run.err
    document = json.loads((out / "perfusion.json").read_text())
    assert document["modality"] == "MR"
    assert document["thresholds"]["core_source"] == "ADC"
    assert abs(document["core_ml"] - adc.core_ml) <= 0.1 * adc.core_ml
    assert document["aif"]["curve"]["unit"] == "ΔR2* 1/s"
    # DAWN group A needs core < 21 ml at age >= 80: the truth core is 13.5 ml
    assert document["triage"]["dawn"]["status"] == "eligible"
    assert document["triage"]["defuse3"]["status"] == "not eligible"  # 20 h > 16 h
    pm = pydicom.dcmread(out / "dicom" / "tmax_pm.dcm")
    assert pm.PatientID == "MR-7" and pm.StudyInstanceUID == study.study_uid
    assert dciodvfy_errors(out / "dicom" / "tmax_pm.dcm", "ParametricMap") == []


def _one_line_error(run) -> str:
    assert run.status == 2
    lines = run.err.strip().splitlines()
    assert lines and lines[-1].startswith("halong perfusion: error: ")
    return lines[-1]


def test_a_nifti_without_time_step_needs_dt(small_ct, tmp_path: Path, halong) -> None:
    path, _ = small_ct
    image = nib.load(path)
    zoomless = nib.Nifti1Image(np.asarray(image.dataobj), image.affine)
    zoomless.header.set_zooms((*image.header.get_zooms()[:3], 0.0))
    nib.save(zoomless, tmp_path / "nozoom.nii.gz")
    assert "--dt" in _one_line_error(
        halong("perfusion", tmp_path / "nozoom.nii.gz", "--out", tmp_path / "o")
    )


def test_bad_inputs_give_one_line_errors(known_series, tmp_path: Path, halong) -> None:
    folder, _ = known_series
    assert "4D" in _one_line_error(halong("perfusion", folder, "--out", tmp_path / "o"))
    assert "does not exist" in _one_line_error(
        halong("perfusion", tmp_path / "missing", "--out", tmp_path / "o")
    )
    flat = tmp_path / "flat.nii.gz"
    save_nifti(make_ctp_head(n_frames=2).volume.frame(0), flat)
    assert "3D image" in _one_line_error(halong("perfusion", flat, "--out", tmp_path / "o"))
    short = tmp_path / "short.nii.gz"
    save_nifti(make_ctp_head(n_frames=6).volume, short)
    assert "frames" in _one_line_error(halong("perfusion", short, "--out", tmp_path / "o"))
    unusable = halong("perfusion", flat, "--out", tmp_path / "o", "--aif", "1,2")
    assert unusable.status == 2 and "X,Y,Z" in unusable.err
