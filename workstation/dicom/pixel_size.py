"""Does a file hold the pixel data its header declares? Checked before anything is allocated.

A header is only a claim: 65535 × 65535 × 1000 frames over 512 bytes of pixels would
have the loader allocate terabytes. Native (uncompressed) data must be as long as
Rows × Columns × frames × samples × Bits Allocated / 8. Encapsulated data must hold
at least one fragment per frame, every fragment inside the file, and RLE frames at
least the bytes their segments need (a two-byte run codes at most 128 bytes of one
segment; 1-bit images pack eight pixels in a byte).
"""

from __future__ import annotations

import math
import struct
from typing import BinaryIO

from workstation.dicom.instance import InstanceHeader

RLE_LOSSLESS = "1.2.840.10008.1.2.5"
_ITEM, _SEQUENCE_DELIMITER = 0xFFFEE000, 0xFFFEE0DD
_UNDEFINED = 0xFFFFFFFF
_RLE_HEADER_BYTES = 64
_RLE_BYTES_PER_RUN = 128


def native_pixel_bytes(header: InstanceHeader, photometric: str = "") -> int:
    """Bytes of uncompressed pixel data the header declares (4:2:2 colour counted so)."""
    values = header.rows * header.columns * header.number_of_frames * header.samples_per_pixel
    if header.samples_per_pixel == 3 and photometric.endswith("_422"):
        values = values * 2 // 3  # two chroma samples shared by each pair of pixels
    return math.ceil(values * header.bits_allocated / 8)


def native_size_problem(header: InstanceHeader, length: int, photometric: str = "") -> str | None:
    """Why native pixel data of ``length`` bytes cannot be what the header declares, or None."""
    declared = native_pixel_bytes(header, photometric)
    if length < declared:
        return f"truncated pixel data: {length} bytes for {declared} declared"
    return None


def encapsulated_problem(
    handle: BinaryIO, start: int, end: int, header: InstanceHeader
) -> str | None:
    """Why the encapsulated pixel data from ``start`` cannot hold the declared frames, or None.

    Reads only the item headers (8 bytes per fragment), never the compressed data.
    """
    try:
        fragments = _fragment_lengths(handle, start, end)
    except ValueError as error:
        return f"corrupt encapsulated pixel data ({error})"
    frames = header.number_of_frames
    if len(fragments) < frames:
        return f"encapsulated pixel data holds {len(fragments)} fragment(s) for {frames} frame(s)"
    if header.transfer_syntax_uid == RLE_LOSSLESS:
        segments = header.samples_per_pixel * math.ceil(header.bits_allocated / 8)
        segment_bytes = math.ceil(header.rows * header.columns * min(header.bits_allocated, 8) / 8)
        runs = math.ceil(segment_bytes / _RLE_BYTES_PER_RUN)
        needed = frames * (_RLE_HEADER_BYTES + segments * runs * 2)
        if sum(fragments) < needed:
            return (
                f"RLE pixel data of {sum(fragments)} bytes cannot hold {frames} frame(s) of "
                f"{header.rows} × {header.columns} (at least {needed} bytes)"
            )
    return None


def _fragment_lengths(handle: BinaryIO, start: int, end: int) -> list[int]:
    """Lengths of the fragments after the Basic Offset Table; ValueError if malformed."""
    handle.seek(start)
    lengths: list[int] = []
    position = start
    offset_table_seen = False
    while position + 8 <= end:
        group, element, length = struct.unpack("<HHI", handle.read(8))
        position += 8
        tag = group << 16 | element
        if tag == _SEQUENCE_DELIMITER:
            break
        if tag != _ITEM:
            raise ValueError(f"tag ({group:04X},{element:04X}) where a fragment should start")
        if length == _UNDEFINED or position + length > end:
            raise ValueError("a fragment runs past the end of the file")
        if offset_table_seen:
            lengths.append(length)
        offset_table_seen = True
        handle.seek(length, 1)
        position += length
    return lengths
