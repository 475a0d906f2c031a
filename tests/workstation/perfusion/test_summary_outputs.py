"""write_outputs puts the page in summary.png and its Secondary Capture: the source's patient
on it, the phantom's core in pink, the language and the time to result the caller gives."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pydicom
import pytest
from matplotlib.image import imread

from ai.phantoms import make_ctp_head
from workstation.dicom.image_writer import SeriesInfo, write_volume
from workstation.dicom.series_input import load_series, request_for_path
from workstation.perfusion.figures import CORE_RGB, underlay_of
from workstation.perfusion.inputs import source_study
from workstation.perfusion.outputs import save_outputs
from workstation.perfusion.summary_header import ResultTime, summary_subject
from workstation.perfusion.summary_page import draw_summary

PATIENT = SeriesInfo(
    patient_id="PAT-301",
    patient_name="Trần^Thị Ngọc Ánh",
    patient_birth_date="19550704",
    patient_sex="F",
    study_date="20260212",
    study_time="231500",
)


@pytest.fixture(scope="module")
def loaded(analysed_head, tmp_path_factory):
    """The phantom as DICOM of a Vietnamese patient, read back as the command reads it."""
    folder = tmp_path_factory.mktemp("ctp")
    write_volume(analysed_head.phantom.volume, folder, PATIENT)
    return load_series(request_for_path(folder), folder / "none.sqlite")


@pytest.mark.parametrize(
    ("options", "language", "since_last_image"),
    [({}, "vi", False), ({"language": "en", "seconds_since_last_image": 95.0}, "en", True)],
    ids=["defaults", "english, time from the node"],
)
def test_summary_png_and_its_capture_carry_the_page(
    analysed_head, loaded, tmp_path: Path, options, language, since_last_image
):
    result = copy.deepcopy(analysed_head.result)  # writing adds its timings
    analysis_s = sum(result.timings_s.values())
    save_outputs(result, loaded, tmp_path, b"key", **options)
    png = np.round(imread(tmp_path / "summary.png")[..., :3] * 255).astype(np.uint8)
    capture = pydicom.dcmread(tmp_path / "dicom" / "summary_sc.dcm")
    assert np.array_equal(capture.pixel_array, png)
    seconds = options.get("seconds_since_last_image", analysis_s)
    expected = draw_summary(
        analysed_head.result,
        underlay_of(loaded.volume),
        grid=loaded.volume.frame(0),
        subject=summary_subject(source_study(loaded)),
        result_time=ResultTime(seconds, since_last_image),
        language=language,
    )
    assert np.array_equal(png, expected.rgb)
    (name,) = expected.texts_of("patient_name")
    assert name.text == "Trần Thị Ngọc Ánh"
    (identity,) = expected.texts_of("identity")
    assert (
        "PAT-301" in identity.text and "70" in identity.text and "2026-02-12 23:15" in identity.text
    )
    # the truth core's busiest slice is painted pink in the PNG where the phantom has it
    truth = analysed_head.phantom.core_mask
    panel = max(expected.rows["core"], key=lambda p: truth[p.z].sum())
    crop = png[panel.top : panel.top + panel.height, panel.left : panel.left + panel.width]
    pink = np.all(np.abs(crop.astype(int) - np.round(np.array(CORE_RGB) * 255)) <= 1, axis=-1)
    assert (pink & panel.sample(truth[panel.z])).sum() >= 0.8 * panel.sample(truth[panel.z]).sum()


def test_a_made_up_identity_says_so(analysed_head, tmp_path: Path):
    from workstation.model.conversions import save_nifti

    path = tmp_path / "ctp.nii.gz"
    save_nifti(make_ctp_head(shape=(2, 32, 32), n_frames=4).volume, path)
    source = source_study(
        load_series(request_for_path(path), tmp_path / "none.sqlite", frame_interval_s=1.6)
    )
    picture = draw_summary(
        analysed_head.result,
        underlay_of(analysed_head.phantom.volume),
        subject=summary_subject(source),
        language="en",
    )
    (note,) = picture.texts_of("made_up")
    assert note.text == "Identity made up (NIfTI input)"
    assert picture.texts_of("patient_name")[0].text == "NIfTI Unidentified"
