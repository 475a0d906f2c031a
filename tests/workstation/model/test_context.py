"""The reading context, without a display: who and which study, as the headers say, and
events that reach every subscriber."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from workstation.model.context import ReadingContext, SeriesShown, subject_of
from workstation.model.events import Event
from workstation.model.volume import Provenance, Volume


def _volume(patient_id: str, name: str, study_uid: str) -> Volume:
    return Volume(
        np.zeros((2, 3, 4), np.int16),
        modality="CT",
        provenance=Provenance(series_uid=f"{study_uid}.1", study_uid=study_uid),
        attributes={
            "PatientID": patient_id,
            "PatientName": name,
            "StudyDate": "20240105",
            "AccessionNumber": "ACC-1",
        },
    )


def _series(patient_id: str, name: str, study_uid: str) -> SeriesShown:
    volume = _volume(patient_id, name, study_uid)
    return SeriesShown(f"series:{study_uid}.1", name, volume, study_uid)


def test_the_subject_comes_from_the_headers():
    subject = subject_of(_volume("PAT-A", "Nguyễn^Thị Lan", "1.2.3"), "1.2.3")
    assert subject.patient.patient_id == "PAT-A" and subject.study.study_uid == "1.2.3"
    assert subject.describe() == "Nguyễn Thị Lan · ID PAT-A · study 2024-01-05"


def test_opening_another_patient_tells_every_subscriber_once():
    context = ReadingContext()
    seen: list[str | None] = []
    context.events.subject.connect(lambda s: seen.append(s and s.patient.patient_id))
    context.events.subject.connect(lambda s: seen.append("second"))
    a = _series("PAT-A", "A^A", "1.1")
    context.show(a)
    context.show(a)  # the same series again: no change
    context.show(_series("PAT-A", "A^A", "1.1"))  # another series of the same study
    context.show(_series("PAT-B", "B^B", "2.2"))
    context.show(None)
    assert seen == ["PAT-A", "second", "PAT-B", "second", None, "second"]


def test_a_failing_subscriber_does_not_stop_the_others():
    event = Event("test")
    reached = []

    def broken(_value):
        raise RuntimeError("broken panel")

    event.connect(broken)
    event.connect(reached.append)
    with pytest.raises(RuntimeError, match="broken panel"):
        event.emit(1)
    assert reached == [1]


def test_results_are_kept_per_study_and_announced_only_for_the_one_read():
    context = ReadingContext()
    announced = []
    context.events.results.connect(announced.append)
    context.show(_series("PAT-A", "A^A", "1.1"))
    context.add_result("lung", Path("/r/a-lung"), "1.1")
    context.add_result("perfusion", Path("/r/b-perfusion"), "2.2")  # not the study read
    assert announced == ["lung"]
    assert context.all_results() == [Path("/r/a-lung")]
    context.show(_series("PAT-B", "B^B", "2.2"))
    assert context.all_results() == [Path("/r/b-perfusion")]
    assert context.results("lung") == []
    assert context.results("lung", "1.1") == [Path("/r/a-lung")]


def test_the_reader_is_one_name_for_every_panel():
    context = ReadingContext(" BS. An ")
    names = []
    context.events.reader.connect(names.append)
    context.set_reader("BS. An")
    context.set_reader("  BS. Hoa ")
    assert context.reader == "BS. Hoa" and names == ["BS. Hoa"]


def test_while_a_series_loads_the_subject_is_already_the_new_one():
    context = ReadingContext()
    context.show(_series("PAT-A", "A^A", "1.1"))
    context.show_loading(_volume("PAT-B", "B^B", "2.2"), "2.2")
    assert context.subject.patient.patient_id == "PAT-B" and context.series is None
