"""The fast header reader agrees with pydicom wherever it answers at all.

pydicom is the reference: every file of its test corpus, plus generated series,
is read both ways and every field must match.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_files
from support.series_factory import ramp_volume, rotation

from workstation.dicom import headers
from workstation.dicom.fast_header import fast_read_instance
from workstation.dicom.image_writer import SeriesInfo, write_volume


def _reference(path: Path):
    """The pydicom-only reading of a file (fast path disabled)."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        ds = headers._read_dataset(handle, str(path))
    return headers.header_from_dataset(ds, str(path), size)


def _compare(path: Path) -> bool:
    fast = fast_read_instance(path)
    if fast is None:
        return False
    reference = _reference(path)
    for field in dataclasses.fields(fast):
        if field.name == "dataset":
            continue
        assert getattr(fast, field.name) == getattr(reference, field.name), (path, field.name)
    return True


def test_fast_reader_matches_pydicom_on_its_corpus():
    answered = 0
    for name in get_testdata_files():
        path = Path(name)
        if path.is_dir():
            continue
        try:
            answered += _compare(path)
        except headers.UnusableFile:
            # pydicom refuses it: then the fast path must not have accepted it either
            assert fast_read_instance(path) is None, path
    assert answered >= 20  # it must actually cover the common files


@pytest.mark.parametrize(
    "syntax", [pydicom.uid.ExplicitVRLittleEndian, pydicom.uid.ImplicitVRLittleEndian]
)
def test_fast_reader_matches_pydicom_on_generated_series(tmp_path, syntax):
    info = SeriesInfo(patient_name="Nguyễn^Văn An", series_description="Phổi", echo_time_ms=None)
    paths = write_volume(ramp_volume(direction=rotation(5, 10, 15)), tmp_path, info)
    for path in paths:
        if syntax != pydicom.uid.ExplicitVRLittleEndian:
            ds = pydicom.dcmread(path)
            ds.file_meta.TransferSyntaxUID = syntax
            ds.save_as(path, enforce_file_format=True)
        assert _compare(path)
    assert fast_read_instance(paths[0]).patient_name == "Nguyễn^Văn An"


def test_truncated_file_is_left_to_pydicom(tmp_path):
    path = write_volume(ramp_volume(shape=(1, 16, 16)), tmp_path)[0]
    data = path.read_bytes()
    for cut in (100, 140, len(data) // 2, len(data) - 1):
        path.write_bytes(data[:cut])
        assert fast_read_instance(path) is None
        with pytest.raises(headers.UnusableFile):
            headers.read_instance(path)
