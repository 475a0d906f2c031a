"""A fast reader for the common case: a single-frame grey image in native little endian.

pydicom parses and converts every element; to index thousands of files and to
open a 500-slice CT in well under a second, Halong reads only the ~40 tags it
needs, straight from the bytes. Anything unusual (no preamble, another transfer
syntax, multi-frame, an unknown character set, an unexpected VR, a file cut
short) returns None, and the caller falls back to pydicom, which stays the
reference: a test compares both readers on pydicom's whole test corpus.
"""

from __future__ import annotations

import struct
from pathlib import Path

from workstation.dicom.instance import InstanceHeader, PixelLocation

EXPLICIT_LE = "1.2.840.10008.1.2.1"
IMPLICIT_LE = "1.2.840.10008.1.2"
_LONG_VRS = {
    b"OB",
    b"OD",
    b"OF",
    b"OL",
    b"OV",
    b"OW",
    b"SQ",
    b"SV",
    b"UC",
    b"UN",
    b"UR",
    b"UT",
    b"UV",
}
_ITEM, _ITEM_END, _SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_PIXEL_DATA = 0x7FE00010
_UNDEFINED = 0xFFFFFFFF
_HEAD_BYTES = 16384
_CHARSETS = {"": "latin-1", "ISO_IR 6": "latin-1", "ISO_IR 100": "latin-1", "ISO_IR 192": "utf-8"}

# tag -> (InstanceHeader field or extra name, kind). Kinds: text, int, floats, us.
_WANTED: dict[int, tuple[str, str]] = {
    0x00080005: ("charset", "text"),
    0x00080008: ("image_type", "texts"),
    0x00080016: ("sop_class_uid", "text"),
    0x00080018: ("sop_instance_uid", "text"),
    0x00080020: ("study_date", "text"),
    0x00080030: ("study_time", "text"),
    0x00080032: ("acquisition_time", "text"),
    0x00080033: ("content_time", "text"),
    0x00080050: ("accession_number", "text"),
    0x00080060: ("modality", "text"),
    0x00081030: ("study_description", "text"),
    0x0008103E: ("series_description", "text"),
    0x00100010: ("patient_name", "text"),
    0x00100020: ("patient_id", "text"),
    0x00100030: ("patient_birth_date", "text"),
    0x00100040: ("patient_sex", "text"),
    0x00180015: ("body_part", "text"),
    0x00180050: ("slice_thickness", "float"),
    0x00180081: ("echo_time", "float"),
    0x00181060: ("trigger_time", "float"),
    0x0020000D: ("study_uid", "text"),
    0x0020000E: ("series_uid", "text"),
    0x00200011: ("series_number", "int"),
    0x00200012: ("acquisition_number", "int"),
    0x00200013: ("instance_number", "int"),
    0x00200032: ("image_position", "floats3"),
    0x00200037: ("image_orientation", "floats6"),
    0x00200052: ("frame_of_reference_uid", "text"),
    0x00200100: ("temporal_position", "int"),
    0x00280002: ("samples_per_pixel", "us"),
    0x00280008: ("number_of_frames", "int"),
    0x00280010: ("rows", "us"),
    0x00280011: ("columns", "us"),
    0x00280030: ("pixel_spacing", "floats2"),
    0x00280100: ("bits_allocated", "us"),
    0x00280103: ("pixel_representation", "us"),
    0x00281052: ("rescale_intercept", "float"),
    0x00281053: ("rescale_slope", "float"),
}
_IMPLICIT_VRS = {"us": b"US", "int": b"IS", "float": b"DS", "text": b"LO", "texts": b"CS"}


class _Unusual(Exception):
    """Something the fast path does not handle; pydicom will."""


class _Cursor:
    """Reads elements from a file, fetching more bytes only when needed."""

    def __init__(self, handle, explicit: bool) -> None:
        self.handle = handle
        self.data = handle.read(_HEAD_BYTES)
        self.offset = 0  # position of self.data[0] in the file
        self.position = 132
        self.explicit = explicit

    def need(self, count: int) -> None:
        end = self.position - self.offset + count
        if end > len(self.data):
            more = self.handle.read(max(end - len(self.data), _HEAD_BYTES))
            if len(self.data) + len(more) < end:
                raise _Unusual("file ends inside the header")
            self.data += more

    def take(self, count: int) -> bytes:
        self.need(count)
        start = self.position - self.offset
        self.position += count
        return self.data[start : start + count]

    def element_header(self) -> tuple[int, bytes, int]:
        self.need(8)
        start = self.position - self.offset
        group, element = struct.unpack_from("<HH", self.data, start)
        tag = group << 16 | element
        if tag in (_ITEM, _ITEM_END, _SEQUENCE_END):
            (length,) = struct.unpack_from("<I", self.data, start + 4)
            self.position += 8
            return tag, b"", length
        if not self.explicit:
            (length,) = struct.unpack_from("<I", self.data, start + 4)
            self.position += 8
            return tag, b"", length
        vr = self.data[start + 4 : start + 6]
        if vr in _LONG_VRS:
            self.need(12)
            (length,) = struct.unpack_from("<I", self.data, start + 8)
            self.position += 12
        else:
            (length,) = struct.unpack_from("<H", self.data, start + 6)
            self.position += 8
        return tag, vr, length

    def skip_undefined_sequence(self) -> None:
        """Skip items up to the sequence delimiter, recursing into nested sequences."""
        while True:
            tag, _, length = self.element_header()
            if tag == _SEQUENCE_END:
                return
            if tag != _ITEM:
                raise _Unusual("malformed sequence")
            if length != _UNDEFINED:
                self.position += length
                continue
            while True:
                tag, vr, length = self.element_header()
                if tag == _ITEM_END:
                    break
                if length == _UNDEFINED:
                    if self.explicit and vr not in (b"SQ", b"UN"):
                        raise _Unusual("undefined length outside a sequence")
                    self.skip_undefined_sequence()
                else:
                    self.position += length


def _meta(cursor: _Cursor) -> dict[int, bytes]:
    values: dict[int, bytes] = {}
    while True:
        cursor.need(2)
        (group,) = struct.unpack_from("<H", cursor.data, cursor.position - cursor.offset)
        if group != 0x0002:
            return values
        tag, _, length = cursor.element_header()
        values[tag] = cursor.take(length)


def _decode(raw: bytes, kind: str, vr: bytes, encoding: str) -> object:
    expected = _IMPLICIT_VRS.get(kind[:5] if kind.startswith("float") else kind)
    if vr and kind == "us" and vr != b"US":
        raise _Unusual(f"unexpected VR {vr!r}")
    if kind == "us":
        if len(raw) < 2:
            raise _Unusual("short US value")
        return struct.unpack_from("<H", raw)[0]
    if vr in (b"UN", b"SQ") or (vr and expected is None):
        raise _Unusual(f"unexpected VR {vr!r}")
    text = raw.decode(encoding).strip(" \x00")
    if kind == "text":
        return text
    if kind == "texts":
        return tuple(part.strip() for part in text.split("\\")) if text else ()
    if not text:
        return None
    try:
        if kind == "int":
            return int(text.split("\\")[0])
        numbers = tuple(float(part) for part in text.split("\\"))
    except ValueError as error:
        raise _Unusual("bad number") from error  # pydicom words the reason
    if kind == "float":
        return numbers[0]
    if len(numbers) != int(kind[-1]):
        raise _Unusual("wrong value count")
    return numbers


def _dataset_values(cursor: _Cursor) -> tuple[dict[str, object], PixelLocation | None]:
    raw_values: dict[int, tuple[bytes, bytes]] = {}
    pixel = None
    while True:
        try:
            tag, vr, length = cursor.element_header()
        except _Unusual:
            break  # end of file: no pixel data, pydicom will say so
        if tag == _PIXEL_DATA:
            if length == _UNDEFINED:
                raise _Unusual("encapsulated pixel data")
            pixel = PixelLocation(offset=cursor.position, length=length)
            break
        if tag > _PIXEL_DATA:
            break
        if length == _UNDEFINED:
            cursor.skip_undefined_sequence()
            continue
        if tag in _WANTED:
            raw_values[tag] = (vr, cursor.take(length))
        else:
            cursor.position += length
    charset_raw = raw_values.get(0x00080005, (b"", b""))[1]
    charset = charset_raw.decode("latin-1").strip(" \x00")
    if charset not in _CHARSETS:
        raise _Unusual(f"character set {charset}")
    encoding = _CHARSETS[charset]
    values = {
        _WANTED[tag][0]: _decode(raw, _WANTED[tag][1], vr, encoding)
        for tag, (vr, raw) in raw_values.items()
    }
    return values, pixel


def fast_read_instance(path: str | Path) -> InstanceHeader | None:
    """The header of a plain single-frame native-LE image, or None to use pydicom."""
    label = str(path)
    try:
        size = Path(path).stat().st_size
        with open(path, "rb") as handle:
            cursor = _Cursor(handle, explicit=True)
            if cursor.data[128:132] != b"DICM":
                return None
            meta = _meta(cursor)
            syntax = meta.get(0x00020010, b"").decode("latin-1").strip(" \x00")
            if syntax not in (EXPLICIT_LE, IMPLICIT_LE):
                return None
            cursor.explicit = syntax == EXPLICIT_LE
            values, pixel = _dataset_values(cursor)
    except (OSError, _Unusual, UnicodeDecodeError, struct.error):
        return None
    if pixel is None or pixel.offset + pixel.length > size:
        return None
    values.pop("charset", None)
    required = ("sop_instance_uid", "sop_class_uid", "rows", "columns")
    if any(not values.get(key) for key in required) or values.get("number_of_frames", 1) != 1:
        return None
    if (values.get("samples_per_pixel") or 1) != 1:
        return None  # colour: the size of its pixel data depends on the photometric interpretation
    defaults = {"rescale_slope": 1.0, "rescale_intercept": 0.0, "bits_allocated": 16}
    defaults |= {"samples_per_pixel": 1, "number_of_frames": 1, "pixel_representation": 0}
    for key, default in defaults.items():
        if values.get(key) is None:
            values[key] = default
    return InstanceHeader(path=label, transfer_syntax_uid=syntax, pixel=pixel, **values)
