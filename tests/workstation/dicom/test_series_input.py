"""What `halong view` and the window accept as input, and how loading reports problems."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from support.hostile_files import corrupt_rle_slice
from support.series_factory import ramp_volume

from workstation.dicom.image_writer import write_volume
from workstation.dicom.series_input import (
    SeriesInputError,
    load_series,
    request_for_path,
    resolve_input,
)
from workstation.home import resolve_home
from workstation.model.conversions import save_nifti
from workstation.model.volume import Volume


def test_a_folder_a_nifti_file_and_an_indexed_uid_are_accepted(imported, tmp_path):
    database = resolve_home().database_path
    chest = imported["chest"]
    nifti = tmp_path / "brain.nii.gz"
    save_nifti(Volume(np.zeros((4, 5, 6), np.int16)), nifti)

    assert resolve_input(str(chest.folder), database).path == chest.folder
    assert resolve_input(str(nifti), database).is_nifti
    by_uid = resolve_input(chest.series_uid, database)
    assert by_uid.series_uid == chest.series_uid
    assert by_uid.label == "Nguyen Lan — CT CHEST LDCT AXIAL"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/no/such/folder", "/no/such/folder does not exist"),
        ("no-such-thing", "neither a file, a folder, nor the UID"),
        ("1.2.3.4.5", "no series with UID 1.2.3.4.5"),
    ],
)
def test_unknown_input_is_refused_with_a_clear_reason(imported, text, expected):
    with pytest.raises(match=expected):
        resolve_input(text, resolve_home().database_path)


def test_a_series_loads_from_the_database_with_its_study_uid(imported):
    from workstation.dicom.series_input import request_for_series

    chest = imported["chest"]
    loaded = load_series(request_for_series(chest.series_uid), resolve_home().database_path)

    assert loaded.volume.voxels.shape == chest.shape
    assert loaded.study_key == chest.study_uid
    assert loaded.messages() == []


def test_a_folder_of_two_series_opens_the_first_and_says_so(studies, halong_home):
    root = studies["chest"].folder.parent
    loaded = load_series(request_for_path(root), resolve_home().database_path)

    assert len(loaded.other_volumes) == 1
    assert loaded.messages()[0].startswith("2 volumes found in")


def test_a_folder_without_images_names_the_skipped_files(tmp_path, halong_home):
    (tmp_path / "notes.txt").write_text("not an image")

    with pytest.raises(SeriesInputError, match=r"notes\.txt: not a DICOM file"):
        load_series(request_for_path(tmp_path), resolve_home().database_path)


def test_a_damaged_nifti_file_is_an_error_for_the_user(tmp_path, halong_home):
    broken = tmp_path / "broken.nii"
    broken.write_bytes(b"\x00" * 100)

    with pytest.raises(SeriesInputError, match=r"cannot read broken\.nii as NIfTI"):
        load_series(request_for_path(broken), resolve_home().database_path)


def test_a_series_whose_only_slice_makes_the_decoder_panic_is_one_clear_error(
    tmp_path, halong_home
):
    """What `halong lung` and `halong perfusion` print instead of a traceback."""
    path = write_volume(ramp_volume(shape=(1, 16, 16)), tmp_path)[0]
    ds = pydicom.dcmread(path)
    ds.compress(pydicom.uid.RLELossless, encoding_plugin="pydicom")
    ds.save_as(path, enforce_file_format=True)
    corrupt_rle_slice(path)

    with pytest.raises(SeriesInputError) as refused:
        load_series(request_for_path(tmp_path), resolve_home().database_path)

    message = str(refused.value)
    assert f"{path.name}: cannot decode pixel data (RLE Lossless): the decoder crashed" in message
    assert "none of its 1 slice(s) could be read" in message


def test_names_in_the_error_are_printed_escaped(tmp_path, halong_home):
    (tmp_path / "a\x1b[2J\nFAKE: 100 imported.dcm").write_text("not an image")

    with pytest.raises(SeriesInputError) as refused:
        load_series(request_for_path(tmp_path), resolve_home().database_path)

    message = str(refused.value)
    assert "a\\x1b[2J\\nFAKE: 100 imported.dcm: not a DICOM file" in message
    assert "\x1b" not in message and "\n" not in message
