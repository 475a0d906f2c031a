"""What the summary says: patient and study from the source header, durations, triage
worded as conditional on a large-vessel occlusion, in Vietnamese and English."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from ai.perfusion import ClinicalInputs
from ai.phantoms import make_ctp_head
from workstation.perfusion.analysis import decide_triage
from workstation.perfusion.figures import underlay_of
from workstation.perfusion.inputs import made_up_source
from workstation.perfusion.summary_header import age_string, summary_subject
from workstation.perfusion.summary_page import draw_summary
from workstation.perfusion.summary_text import duration
from workstation.reporting.templates import LANGUAGES, load_labels


def test_the_subject_is_read_from_the_source_header():
    source = made_up_source(make_ctp_head(shape=(2, 16, 16), n_frames=4).volume, "key")
    header = source.reference
    header.SpecificCharacterSet = "ISO_IR 192"
    header.PatientName = "Nguyễn^Thị Lan"
    header.PatientBirthDate, header.StudyDate, header.StudyTime = "19600315", "20260314", "0930"
    header.PatientSex = "F"
    subject = summary_subject(replace(source, made_up=False))
    assert (subject.name, subject.age, subject.sex) == ("Nguyễn Thị Lan", "065Y", "F")
    assert (subject.study_date, subject.study_time, subject.made_up) == ("20260314", "0930", False)
    header.PatientAge = "070Y"  # the header's own age wins over the dates
    assert summary_subject(source).age == "070Y" and summary_subject(source).made_up


@pytest.mark.parametrize(
    ("born", "seen", "age"),
    [("19600315", "20260315", "066Y"), ("19600316", "20260315", "065Y"), ("", "20260315", "")],
)
def test_age_in_whole_years_from_the_dates(born, seen, age):
    assert age_string(born, seen) == age


@pytest.mark.parametrize(
    ("seconds", "vi", "en"),
    [
        (45.2, "45 giây", "45 s"),
        (187, "3 phút 7 giây", "3 min 7 s"),
        (3725, "1 giờ 2 phút 5 giây", "1 h 2 min 5 s"),
    ],
)
def test_durations_in_both_languages(seconds, vi, en):
    assert duration(seconds, load_labels("vi")) == vi
    assert duration(seconds, load_labels("en")) == en


def test_every_language_has_the_summary_words():
    keys = [set(load_labels(language)["perfusion_image"]) for language in LANGUAGES]
    assert keys[0] == keys[1]


CLINICAL = {
    "eligible": ClinicalInputs(age_years=70, nihss=14, onset_hours=9.0),
    "not eligible": ClinicalInputs(age_years=70, nihss=14, onset_hours=30.0),
    "needs input": ClinicalInputs(),
}
SAID = {
    "vi": {
        "eligible": "đủ tiêu chuẩn nếu xác nhận tắc mạch máu lớn",
        "not eligible": "không đủ tiêu chuẩn",
        "needs input": "cần thêm thông tin",
    },
    "en": {
        "eligible": "eligible if a large-vessel occlusion is confirmed",
        "not eligible": "not eligible",
        "needs input": "needs input",
    },
}


@pytest.mark.parametrize("language", SAID)
@pytest.mark.parametrize("status", CLINICAL)
def test_triage_is_conditional_on_a_large_vessel_occlusion(analysed_head, language, status):
    result = analysed_head.result
    volumes = result.volumes
    defuse3, dawn = decide_triage(
        volumes.core_ml,
        volumes.hypoperfusion_ml,
        volumes.mismatch_ml,
        volumes.mismatch_ratio,
        CLINICAL[status],
    )
    assert defuse3.status == dawn.status == status  # the phantom's volumes decide so
    decided = replace(result, defuse3=defuse3, dawn=dawn)
    picture = draw_summary(decided, underlay_of(analysed_head.phantom.volume), language=language)
    said = {item.key: item.text for item in picture.texts}
    assert said["DEFUSE 3"] == f"DEFUSE 3: {SAID[language][status]}"
    assert said["DAWN"] == f"DAWN: {SAID[language][status]}"


def test_a_result_without_core_says_so_and_paints_no_core(analysed_head):
    result = analysed_head.result
    lesions = replace(result.lesions, core=None, core_source=None)
    without = replace(result, lesions=lesions, volumes=replace(result.volumes, core_ml=None))
    picture = draw_summary(without, underlay_of(analysed_head.phantom.volume), language="en")
    said = {item.key: item.text for item in picture.texts}
    assert said["core_ml"] == "n/a" and said["mismatch_ml"] == "n/a"
    assert said["core_subtitle"] == "core not measured\n(no ADC)"
    for panel in picture.rows["core"]:  # the CBF map, grey: no channel differs
        pixels = picture.rgb[panel.top : panel.top + panel.height, panel.left :][:, : panel.width]
        assert np.ptp(pixels.astype(int), axis=-1).max() == 0
