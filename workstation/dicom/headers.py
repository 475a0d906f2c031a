"""Read one DICOM file's header safely and describe it, or say clearly why not.

Every file a user drops on Halong goes through :func:`read_instance`. It never
raises anything but :class:`UnusableFile`, whose ``reason`` is a sentence a
radiologist can act on; the importer lists those reasons per file and carries on.
Pixel data is never loaded here: its file offset is kept so the volume loader
can read it straight into the volume, and its size is checked against what the
header declares, so a lying header is refused before anything is allocated.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import UID

from workstation.dicom.fast_header import fast_read_instance
from workstation.dicom.instance import InstanceHeader, PixelLocation
from workstation.dicom.pixel_size import encapsulated_problem, native_size_problem

__all__ = ["InstanceHeader", "PixelLocation", "UnusableFile", "read_instance"]

PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
DICOMDIR_SOP_CLASS = "1.2.840.10008.1.3.10"
DEFLATED = "1.2.840.10008.1.2.1.99"
# Above this size a value is not read with the header; pixel data is the point.
_DEFER_BYTES = 16 * 1024
_UNDEFINED = 0xFFFFFFFF


class UnusableFile(Exception):
    """A file Halong cannot use as an image, with the reason for the user."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def _text(ds: Dataset, keyword: str) -> str:
    value = ds.get(keyword, "")
    return "" if value is None else str(value).strip()


def _int(ds: Dataset, keyword: str) -> int | None:
    value = ds.get(keyword)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError) as error:
        raise ValueError(f"bad {keyword} value {value!r}") from error


def _floats(ds: Dataset, keyword: str, count: int) -> tuple[float, ...] | None:
    value = ds.get(keyword)
    if value in (None, ""):
        return None
    items = [value] if isinstance(value, str | bytes | int | float) else list(value)
    try:
        numbers = tuple(float(v) for v in items)
    except (TypeError, ValueError) as error:
        raise ValueError(f"bad {keyword} value {value!r}") from error
    if len(numbers) != count:
        raise ValueError(f"{keyword} has {len(numbers)} values, expected {count}")
    return numbers


def _file_meta(ds: Dataset) -> Dataset:
    return getattr(ds, "file_meta", None) or Dataset()


def _guessed_syntax(ds: Dataset) -> str:
    """Transfer syntax of a raw dataset without file meta, as pydicom parsed it."""
    implicit, little = getattr(ds, "original_encoding", (True, True))
    if not little:
        return "1.2.840.10008.1.2.2"
    return "1.2.840.10008.1.2" if implicit else "1.2.840.10008.1.2.1"


def _first_float(ds: Dataset, keyword: str, default: float | None) -> float | None:
    value = ds.get(keyword)
    if value in (None, ""):
        return default
    return _floats(ds, keyword, 1)[0] if isinstance(value, str | int | float) else float(value[0])


def _read_dataset(source: str | BinaryIO, label: str) -> Dataset:
    try:
        return pydicom.dcmread(source, defer_size=_DEFER_BYTES)
    except InvalidDicomError:
        pass
    except (EOFError, OSError) as error:
        raise UnusableFile(label, f"truncated or unreadable file ({error})") from error
    except Exception as error:  # pydicom raises many kinds on corrupt input
        raise UnusableFile(label, f"corrupt DICOM header ({error})") from error
    # No 128-byte preamble: accept raw datasets only if they look like DICOM.
    if hasattr(source, "seek"):
        source.seek(0)
    try:
        ds = pydicom.dcmread(source, defer_size=_DEFER_BYTES, force=True)
        if "SOPInstanceUID" not in ds and "SOPClassUID" not in ds:
            raise InvalidDicomError("no SOP identity")
        return ds
    except Exception as error:
        raise UnusableFile(label, "not a DICOM file") from error


def _checked_pixel_location(
    ds: Dataset, header: InstanceHeader, file_size: int | None, label: str
) -> PixelLocation | None:
    """Where native pixel data can be read directly (None: decode through pydicom).

    Refuses pixel data that cannot hold what the header declares (see
    :mod:`workstation.dicom.pixel_size`), so nothing is ever allocated for it.
    """
    keyword = next(keyword for keyword in PIXEL_KEYWORDS if keyword in ds)
    raw = ds.get_item(keyword, keep_deferred=True)
    tell = getattr(raw, "value_tell", None)
    length = getattr(raw, "length", None)
    if length is None:  # already converted by pydicom
        length = _UNDEFINED if raw.is_undefined_length else len(raw.value or b"")
    deflated = _file_meta(ds).get("TransferSyntaxUID") == DEFLATED
    if deflated:
        tell = None  # offsets refer to the inflated stream, not the file
    encapsulated = length == _UNDEFINED
    syntax = UID(header.transfer_syntax_uid)
    if encapsulated != syntax.is_compressed:
        state, kind = ("", "uncompressed") if encapsulated else ("not ", "compressed")
        reason = f"pixel data is {state}encapsulated but the transfer syntax is {kind}"
        raise UnusableFile(label, f"{reason} ({syntax.name})")
    if encapsulated:
        source = getattr(ds, "filename", None)
        if tell is not None and file_size is not None and isinstance(source, str):
            with open(source, "rb") as handle:
                problem = encapsulated_problem(handle, tell, file_size, header)
            if problem:
                raise UnusableFile(label, problem)
        return None
    if tell is not None and file_size is not None and tell + length > file_size:
        reason = f"truncated file: pixel data needs {tell + length} bytes, the file has {file_size}"
        raise UnusableFile(label, reason)
    problem = native_size_problem(header, length, _text(ds, "PhotometricInterpretation"))
    if problem:
        raise UnusableFile(label, problem)
    return None if tell is None else PixelLocation(offset=int(tell), length=int(length))


def _check_transfer_syntax(ds: Dataset, label: str) -> str:
    tsuid = UID(str(_file_meta(ds).get("TransferSyntaxUID") or _guessed_syntax(ds)))
    if not tsuid.is_transfer_syntax:
        raise UnusableFile(label, f"unknown transfer syntax {tsuid}")
    if tsuid.is_compressed:
        from pydicom.pixels import get_decoder

        try:
            decoder = get_decoder(tsuid)
        except NotImplementedError:
            decoder = None
        if decoder is None or not decoder.is_available:
            raise UnusableFile(
                label, f"no decoder installed for transfer syntax {tsuid.name} ({tsuid})"
            )
    return str(tsuid)


def describe_sop_class(ds: Dataset) -> str:
    """Name an object by its SOP class, e.g. 'Basic Text SR Storage'."""
    uid = UID(_text(ds, "SOPClassUID") or _text(_file_meta(ds), "MediaStorageSOPClassUID"))
    if not uid:
        return "unknown SOP class"
    return uid.name if uid.name != str(uid) else f"SOP class {uid}"


def header_from_dataset(ds: Dataset, label: str, file_size: int | None) -> InstanceHeader:
    """Turn a parsed dataset into an :class:`InstanceHeader`, or say why it is unusable."""
    try:
        return _header_from_dataset(ds, label, file_size)
    except UnusableFile:
        raise
    except Exception as error:  # bad VRs surface when values are converted, anywhere
        raise UnusableFile(label, f"unreadable header value: {error}") from error


def _header_from_dataset(ds: Dataset, label: str, file_size: int | None) -> InstanceHeader:
    media_class = _text(_file_meta(ds), "MediaStorageSOPClassUID")
    if media_class == DICOMDIR_SOP_CLASS or "DirectoryRecordSequence" in ds:
        raise UnusableFile(label, "DICOMDIR (an index of media files, not an image)")
    if not any(keyword in ds for keyword in PIXEL_KEYWORDS):
        kind = describe_sop_class(ds)
        if "Rows" in ds or kind.endswith("Image Storage"):
            raise UnusableFile(label, f"image without pixel data ({kind})")
        raise UnusableFile(label, f"not an image ({kind})")
    sop_uid = _text(ds, "SOPInstanceUID")
    if not sop_uid:
        raise UnusableFile(label, "missing SOP Instance UID")
    transfer_syntax = _check_transfer_syntax(ds, label)
    header = InstanceHeader(
        path=label,
        sop_instance_uid=sop_uid,
        sop_class_uid=_text(ds, "SOPClassUID"),
        transfer_syntax_uid=transfer_syntax,
        patient_id=_text(ds, "PatientID"),
        patient_name=_text(ds, "PatientName"),
        patient_birth_date=_text(ds, "PatientBirthDate"),
        patient_sex=_text(ds, "PatientSex"),
        study_uid=_text(ds, "StudyInstanceUID"),
        study_date=_text(ds, "StudyDate"),
        study_time=_text(ds, "StudyTime"),
        study_description=_text(ds, "StudyDescription"),
        accession_number=_text(ds, "AccessionNumber"),
        series_uid=_text(ds, "SeriesInstanceUID"),
        modality=_text(ds, "Modality"),
        series_number=_int(ds, "SeriesNumber"),
        series_description=_text(ds, "SeriesDescription"),
        body_part=_text(ds, "BodyPartExamined"),
        frame_of_reference_uid=_text(ds, "FrameOfReferenceUID"),
        instance_number=_int(ds, "InstanceNumber"),
        rows=_int(ds, "Rows") or 0,
        columns=_int(ds, "Columns") or 0,
        number_of_frames=_int(ds, "NumberOfFrames") or 1,
        image_position=_floats(ds, "ImagePositionPatient", 3),
        image_orientation=_floats(ds, "ImageOrientationPatient", 6),
        pixel_spacing=_floats(ds, "PixelSpacing", 2),
        slice_thickness=(_floats(ds, "SliceThickness", 1) or (None,))[0],
        image_type=tuple(str(v) for v in (ds.get("ImageType") or ())),
        rescale_slope=_first_float(ds, "RescaleSlope", 1.0),
        rescale_intercept=_first_float(ds, "RescaleIntercept", 0.0),
        bits_allocated=_int(ds, "BitsAllocated") or 16,
        pixel_representation=_int(ds, "PixelRepresentation") or 0,
        samples_per_pixel=_int(ds, "SamplesPerPixel") or 1,
        acquisition_number=_int(ds, "AcquisitionNumber"),
        acquisition_time=_text(ds, "AcquisitionTime"),
        content_time=_text(ds, "ContentTime"),
        temporal_position=_int(ds, "TemporalPositionIdentifier"),
        trigger_time=_first_float(ds, "TriggerTime", None),
        echo_time=_first_float(ds, "EchoTime", None),
    )
    if header.rows <= 0 or header.columns <= 0:
        raise UnusableFile(label, "image with no rows or columns")
    if header.number_of_frames < 1:
        raise UnusableFile(label, f"bad Number of Frames {header.number_of_frames}")
    header.pixel = _checked_pixel_location(ds, header, file_size, label)
    if header.number_of_frames > 1:
        header.dataset = ds
    return header


def read_instance(path: str | os.PathLike[str]) -> InstanceHeader:
    """Read one file's header; raise :class:`UnusableFile` with a reason if it is no image."""
    label = str(path)
    try:
        size = Path(path).stat().st_size
    except OSError as error:
        raise UnusableFile(label, f"cannot open file ({error.strerror})") from error
    if size == 0:
        raise UnusableFile(label, "empty file")
    fast = fast_read_instance(path)
    if fast is not None:
        problem = native_size_problem(fast, fast.pixel.length)
        if problem:
            raise UnusableFile(label, problem)
        return fast
    try:
        with open(path, "rb") as handle:
            ds = _read_dataset(handle, label)
    except IsADirectoryError as error:
        raise UnusableFile(label, "a folder, not a file") from error
    except PermissionError as error:
        raise UnusableFile(label, "no permission to read the file") from error
    return header_from_dataset(ds, label, size)
