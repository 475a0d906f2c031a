"""Measurements saved per study as JSON: round trip, atomic replace, clear errors."""

from __future__ import annotations

import json

import pytest

from workstation.model.measurements import measure
from workstation.ui.reading.measurement_store import MeasurementFileError, MeasurementStore


def test_measurements_round_trip_through_the_study_file(tmp_path):
    store = MeasurementStore(tmp_path / "measurements")
    distance = measure("distance", [(0, 0, 0), (3, 4, 0)], label="nodule")
    angle = measure("angle", [(1, 0, 0), (0, 0, 0), (0, 1, 0)])

    path = store.save("1.2.840.1", [distance, angle])
    restored = store.load("1.2.840.1")

    assert path == tmp_path / "measurements" / "1.2.840.1.json"
    assert [m.uid for m in restored] == [distance.uid, angle.uid]
    assert restored[0].values["distance_mm"] == pytest.approx(5.0)
    assert restored[0].label == "nodule"
    assert restored[1].values["angle_deg"] == pytest.approx(90.0)
    assert json.loads(path.read_text())["measurements"][0]["kind"] == "distance"


def test_a_study_without_a_file_has_no_measurements(tmp_path):
    assert MeasurementStore(tmp_path).load("1.2.3") == []


def test_saving_replaces_the_file_and_leaves_no_partial_file(tmp_path):
    store = MeasurementStore(tmp_path)
    store.save("1.2.3", [measure("distance", [(0, 0, 0), (1, 0, 0)])])
    store.save("1.2.3", [])

    assert store.load("1.2.3") == []
    assert [p.name for p in tmp_path.iterdir()] == ["1.2.3.json"]


def test_keys_that_are_not_uids_never_become_paths(tmp_path):
    store = MeasurementStore(tmp_path)
    path = store.path_for("file-path:/data/../../etc/brain.nii.gz")
    assert path.parent == tmp_path
    assert path.name.startswith("key-") and path.suffix == ".json"


def test_a_damaged_file_is_reported_with_its_path(tmp_path):
    store = MeasurementStore(tmp_path)
    store.path_for("1.2.3").write_text('{"measurements": [{"kind": "ruler"}]}')

    with pytest.raises(MeasurementFileError, match=r"1\.2\.3\.json is damaged"):
        store.load("1.2.3")

    store.path_for("1.2.3").write_text("{not json")
    with pytest.raises(MeasurementFileError, match="cannot read"):
        store.load("1.2.3")
