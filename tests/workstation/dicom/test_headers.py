"""Headers that lie about their pixel data are refused when read, never allocated for."""

from __future__ import annotations

import struct

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.encaps import encapsulate
from support.hostile_files import panicking_rle_frame

from workstation.dicom.headers import UnusableFile, read_instance
from workstation.dicom.loader import load_paths

HUGE = 65535


def _ct_small() -> pydicom.Dataset:
    """pydicom's CT_small.dcm: 128 × 128, 16 bits allocated, one sample, native."""
    return pydicom.dcmread(get_testdata_file("CT_small.dcm"))


def _refusal(path) -> str:
    with pytest.raises(UnusableFile) as refused:
        read_instance(path)
    return refused.value.reason


def _declaring(ds: pydicom.Dataset, frames: int | None = None) -> pydicom.Dataset:
    ds.Rows = ds.Columns = HUGE
    if frames is not None:
        ds.NumberOfFrames = frames
    return ds


def test_native_pixel_data_shorter_than_declared_is_refused(tmp_path):
    multi = _declaring(_ct_small(), frames=1000)  # multi-frame: read through pydicom
    multi.PixelData = bytes(512)
    multi.save_as(tmp_path / "multi.dcm")
    single = _declaring(_ct_small())  # single-frame native: the fast reader's case
    single.PixelData = bytes(512)
    single.save_as(tmp_path / "single.dcm")

    # Rows × Columns × frames × samples × bits allocated / 8
    assert _refusal(tmp_path / "multi.dcm") == (
        f"truncated pixel data: 512 bytes for {HUGE * HUGE * 1000 * 1 * 16 // 8} declared"
    )
    assert _refusal(tmp_path / "single.dcm") == (
        f"truncated pixel data: 512 bytes for {HUGE * HUGE * 16 // 8} declared"
    )


def test_the_load_refuses_the_lying_file_too(tmp_path):
    ds = _declaring(_ct_small(), frames=1000)
    ds.PixelData = bytes(512)
    ds.save_as(tmp_path / "lying.dcm")

    result = load_paths([tmp_path])

    assert result.volumes == []
    assert [s.reason for s in result.skipped] == [
        f"truncated pixel data: 512 bytes for {HUGE * HUGE * 1000 * 2} declared"
    ]


def test_pixel_data_longer_than_declared_is_accepted(tmp_path):
    ds = _ct_small()
    ds.PixelData = bytes(ds.PixelData) + bytes(2)  # trailing padding harms nobody
    ds.save_as(tmp_path / "padded.dcm")

    assert read_instance(tmp_path / "padded.dcm").rows == 128


def _rle(ds: pydicom.Dataset, fragments: list[bytes]) -> pydicom.Dataset:
    ds.file_meta.TransferSyntaxUID = pydicom.uid.RLELossless
    ds.PixelData = encapsulate(fragments)
    ds["PixelData"].VR = "OB"
    return ds


def test_encapsulated_data_with_fewer_fragments_than_frames_is_refused(tmp_path):
    _rle(_declaring(_ct_small(), frames=1000), [bytes(256), bytes(256)]).save_as(
        tmp_path / "frames.dcm", enforce_file_format=True
    )

    assert _refusal(tmp_path / "frames.dcm") == (
        "encapsulated pixel data holds 2 fragment(s) for 1000 frame(s)"
    )


def test_rle_data_too_short_for_its_frame_is_refused(tmp_path):
    frame = panicking_rle_frame(16, 16)
    _rle(_declaring(_ct_small()), [frame]).save_as(tmp_path / "short.dcm", enforce_file_format=True)
    # a 64-byte header, then per segment (two for 16 bits) a two-byte run per 128 pixels at best
    least = 64 + 2 * 2 * -(-HUGE * HUGE // 128)

    assert _refusal(tmp_path / "short.dcm") == (
        f"RLE pixel data of {len(frame)} bytes cannot hold 1 frame(s) of 65535 × 65535 "
        f"(at least {least} bytes)"
    )


def test_a_fragment_claiming_more_bytes_than_the_file_holds_is_refused(tmp_path):
    frame = panicking_rle_frame(128, 128)
    _rle(_ct_small(), [frame]).save_as(tmp_path / "whole.dcm", enforce_file_format=True)
    data = (tmp_path / "whole.dcm").read_bytes()
    item = b"\xfe\xff\x00\xe0" + struct.pack("<I", len(frame))
    assert data.count(item) == 1
    (tmp_path / "lying.dcm").write_bytes(data.replace(item, item[:4] + struct.pack("<I", 1 << 30)))

    assert read_instance(tmp_path / "whole.dcm").rows == 128  # plausible until decoded
    assert _refusal(tmp_path / "lying.dcm") == (
        "corrupt encapsulated pixel data (a fragment runs past the end of the file)"
    )


def test_encapsulated_data_under_a_native_transfer_syntax_is_refused(tmp_path):
    _rle(_ct_small(), [panicking_rle_frame(128, 128)]).save_as(
        tmp_path / "rle.dcm", enforce_file_format=True
    )
    data = (tmp_path / "rle.dcm").read_bytes()
    rle, explicit = (uid.encode() for uid in (pydicom.uid.RLELossless, "1.2.840.10008.1.2.1"))
    assert len(rle) == len(explicit) and data.count(rle) == 1
    (tmp_path / "mixed.dcm").write_bytes(data.replace(rle, explicit))

    assert _refusal(tmp_path / "mixed.dcm") == (
        "pixel data is encapsulated but the transfer syntax is uncompressed "
        "(Explicit VR Little Endian)"
    )


def test_a_negative_number_of_frames_is_refused(tmp_path):
    ds = _ct_small()
    ds.NumberOfFrames = -5
    ds.save_as(tmp_path / "negative.dcm")

    assert _refusal(tmp_path / "negative.dcm") == "bad Number of Frames -5"
