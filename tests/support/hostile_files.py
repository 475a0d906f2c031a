"""Hostile and broken input built on the spot: panicking RLE slices, lying headers, zip bombs."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pydicom
from pydicom.encaps import encapsulate

_MIB = 1 << 20
_STORED, _DEFLATED = 0, 8


def panicking_rle_frame(rows: int, columns: int) -> bytes:
    """An RLE Lossless frame (16-bit, two segments) whose segments decode past their end.

    Each segment repeats a zero byte 128 times per two-byte run, one run more than
    ``rows * columns`` bytes need: pylibjpeg-rle indexes out of its buffer and
    panics (``pyo3_runtime.PanicException``, a ``BaseException``).
    """
    runs = -(-rows * columns // 128) + 1
    segment = b"\x81\x00" * runs
    header = struct.pack("<16I", 2, 64, 64 + len(segment), *[0] * 13)
    return header + segment + segment


def corrupt_rle_slice(path: Path) -> None:
    """Replace the pixels of an RLE-compressed 16-bit slice with a panicking frame."""
    ds = pydicom.dcmread(path)
    assert ds.file_meta.TransferSyntaxUID == pydicom.uid.RLELossless
    ds.PixelData = encapsulate([panicking_rle_frame(ds.Rows, ds.Columns)])
    ds.save_as(path, enforce_file_format=True)


def deflate_bomb_zip(
    path: Path, name: str, expanded_mib: int, declared_size: int | None = None
) -> Path:
    """A zip holding one member of ``expanded_mib`` MiB of zeros, about 1 KiB per MiB.

    One MiB of zeros is deflated once (flushed, so the block stands alone) and
    repeated: a bomb of any size costs almost nothing to build. ``declared_size``
    makes both headers lie about the expanded size.
    """
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(bytes(_MIB)) + compressor.flush(zlib.Z_FULL_FLUSH)
    data = block * expanded_mib + b"\x03\x00"  # an empty final block ends the stream
    crc = 0
    for _ in range(expanded_mib):
        crc = zlib.crc32(bytes(_MIB), crc)
    size = expanded_mib * _MIB if declared_size is None else declared_size
    path.write_bytes(_zip_bytes(name, data, _DEFLATED, crc, size))
    return path


def overlapping_zip(path: Path, member: bytes, copies: int) -> Path:
    """A zip whose ``copies`` directory entries all point at one stored member.

    Extracting it would write ``copies`` times the member from one copy on disk
    (the trick of overlapping zip bombs).
    """
    path.write_bytes(_zip_bytes("m", member, _STORED, zlib.crc32(member), len(member), copies))
    return path


def _zip_bytes(name: str, data: bytes, method: int, crc: int, size: int, copies: int = 1) -> bytes:
    """A zip of one entry holding ``data`` (already compressed by ``method``), listed
    ``copies`` times in the central directory; ``size`` is what both headers declare."""
    encoded = name.encode("utf-8")
    utf8_name = 0x800
    fields = struct.pack("<HHHHHIII", 20, utf8_name, method, 0, 0x21, crc, len(data), size)
    local = b"PK\x03\x04" + fields + struct.pack("<HH", len(encoded), 0) + encoded
    entry = (
        b"PK\x01\x02"
        + struct.pack("<H", 20)
        + fields
        + struct.pack("<HHHHHII", len(encoded), 0, 0, 0, 0, 0, 0)
        + encoded
    )
    central = entry * copies
    counts = struct.pack("<HHHH", 0, 0, copies, copies)
    end = b"PK\x05\x06" + counts + struct.pack("<IIH", len(central), len(local) + len(data), 0)
    return local + data + central + end
