"""Pixel decoding: a decoder that fails in any way, a Rust panic included, costs one slice."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from support.hostile_files import corrupt_rle_slice
from support.series_factory import ramp_volume

from workstation.dicom.headers import read_instance
from workstation.dicom.image_writer import write_volume
from workstation.dicom.loader import load_paths
from workstation.dicom.pixels import PixelReadError, SliceReader
from workstation.dicom.slices import slices_of


def _rle_series(folder, shape=(5, 16, 16)):
    truth = ramp_volume(shape=shape)
    paths = write_volume(truth, folder)
    for path in paths:
        ds = pydicom.dcmread(path)
        ds.compress(pydicom.uid.RLELossless, encoding_plugin="pydicom")
        ds.save_as(path, enforce_file_format=True)
    return truth, paths


def _assert_decoder_panics(path):
    """The corrupt slice really makes pylibjpeg-rle panic: no Exception, a BaseException."""
    with pytest.raises(BaseException) as raised:
        pydicom.dcmread(path).pixel_array  # noqa: B018
    assert not isinstance(raised.value, Exception)
    assert type(raised.value).__name__ == "PanicException"


def test_a_slice_whose_decoder_panics_is_left_out_with_its_reason(tmp_path):
    truth, paths = _rle_series(tmp_path)
    bad = paths[2]
    corrupt_rle_slice(bad)
    _assert_decoder_panics(bad)

    result = load_paths([tmp_path])

    (volume,) = result.volumes
    assert [(e.path, e.reason.split(":")[0]) for e in result.skipped] == [
        (str(bad), "cannot decode pixel data (RLE Lossless)")
    ]
    assert "the decoder crashed (PanicException" in result.skipped[0].reason
    assert "1 slice position(s) left out: their pixel data could not be read" in volume.warnings
    assert any("1 missing slice(s)" in warning for warning in volume.warnings)
    # the gap is filled as a missing slice is: the ramp is linear in z, so exactly
    np.testing.assert_array_equal(volume.voxels, truth.voxels)
    assert volume.shape_zyx == truth.shape_zyx


def test_the_first_slice_lost_moves_the_origin_to_the_next(tmp_path):
    truth, paths = _rle_series(tmp_path)
    corrupt_rle_slice(paths[0])

    (volume,) = load_paths([tmp_path]).volumes

    np.testing.assert_array_equal(volume.voxels, truth.voxels[1:])
    np.testing.assert_allclose(volume.origin, truth.index_to_world(np.array([0, 0, 1])))


def test_the_slice_reader_turns_a_panic_into_a_pixel_read_error(tmp_path):
    _, paths = _rle_series(tmp_path, shape=(1, 16, 16))
    corrupt_rle_slice(paths[0])
    (slice_ref,) = slices_of(read_instance(paths[0]))
    reader = SliceReader()

    for _ in range(2):  # the failure is kept: asked again, the same answer
        with pytest.raises(PixelReadError, match="the decoder crashed") as raised:
            reader.raw(slice_ref)
        assert raised.value.path == str(paths[0])


def test_a_file_gone_since_its_header_was_read_is_a_pixel_read_error(tmp_path):
    path = write_volume(ramp_volume(shape=(1, 8, 8)), tmp_path)[0]
    (slice_ref,) = slices_of(read_instance(path))
    path.unlink()

    with pytest.raises(PixelReadError, match="cannot read the file"):
        SliceReader().raw(slice_ref)


def test_a_file_that_would_decode_past_the_budget_is_refused_before_decoding(tmp_path):
    _, paths = _rle_series(tmp_path, shape=(1, 16, 16))
    (slice_ref,) = slices_of(read_instance(paths[0]))

    with pytest.raises(PixelReadError, match=r"decoding it would need 512 bytes of memory"):
        SliceReader(max_decoded_bytes=500).raw(slice_ref)
    assert SliceReader(max_decoded_bytes=512).raw(slice_ref).shape == (16, 16)
