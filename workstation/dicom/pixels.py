"""Read slice pixels straight into a preallocated volume, with rescale applied.

Uncompressed little-endian data is read from its file offset into one reused
slice buffer, so peak memory stays near the size of the volume itself and no
per-file pydicom decoding is paid. Everything else (JPEG, JPEG 2000, RLE, big
endian, odd bit depths) is decoded by pydicom with the pylibjpeg plugins. Native
decoders fail in any way on corrupt data, Rust panics (``BaseException``) included:
every such failure becomes a :class:`PixelReadError` naming the file, so the slice
is left out rather than the program stopped.
"""

from __future__ import annotations

import numpy as np
import pydicom
from pydicom.uid import UID

from workstation.dicom.instance import InstanceHeader
from workstation.dicom.memory_budget import OverBudget, check_budget, volume_budget
from workstation.dicom.pixel_size import native_pixel_bytes
from workstation.dicom.slices import SliceRef

_NATIVE_LITTLE_ENDIAN = {
    "1.2.840.10008.1.2",  # implicit VR little endian
    "1.2.840.10008.1.2.1",  # explicit VR little endian
}


#: Raised inside a decoder call, these still stop the program: they are no fault of the file.
_NOT_DECODER_FAILURES = (KeyboardInterrupt, SystemExit, GeneratorExit)


class PixelReadError(ValueError):
    """Pixel data that cannot be read or decoded: the file and the reason."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def stored_dtype(slice_ref: SliceRef) -> np.dtype:
    """The numpy type of the stored pixel values."""
    header = slice_ref.header
    signed = header.pixel_representation == 1
    if header.bits_allocated == 16:
        return np.dtype("<i2" if signed else "<u2")
    if header.bits_allocated == 8:
        return np.dtype("i1" if signed else "u1")
    if header.bits_allocated == 32:
        return np.dtype("<i4" if signed else "<u4")
    raise PixelReadError(header.path, f"{header.bits_allocated}-bit pixels are not supported")


def can_read_directly(slice_ref: SliceRef) -> bool:
    header = slice_ref.header
    return (
        header.pixel is not None
        and header.transfer_syntax_uid in _NATIVE_LITTLE_ENDIAN
        and header.samples_per_pixel == 1
        and header.bits_allocated in (8, 16, 32)
    )


def choose_output_dtype(slices: list[SliceRef]) -> np.dtype:
    """int16 when every slice maps to integers in range (CT HU), float32 otherwise."""
    integral = all(
        float(s.rescale_slope).is_integer()
        and float(s.rescale_intercept).is_integer()
        and s.header.bits_allocated <= 16
        for s in slices
    )
    return np.dtype(np.int16) if integral else np.dtype(np.float32)


class SliceReader:
    """Reads slices one at a time; caches the last decoded (or undecodable) file.

    ``max_decoded_bytes`` bounds what one file may decode to (default: the volume
    budget), checked on the declared size before the decoder allocates it.
    """

    def __init__(self, max_decoded_bytes: int | None = None) -> None:
        self.max_decoded_bytes = max_decoded_bytes or volume_budget()
        self._decoded_path: str | None = None
        self._decoded: np.ndarray | PixelReadError | None = None

    def raw(self, slice_ref: SliceRef, into: np.ndarray | None = None) -> np.ndarray:
        """Stored values of one slice as a 2D array (before rescale).

        ``into`` (a C-contiguous 2D array of the stored type) receives native data
        without an intermediate copy.
        """
        if can_read_directly(slice_ref):
            return self._read_native(slice_ref, into)
        return self._decode(slice_ref)

    def _read_native(self, slice_ref: SliceRef, into: np.ndarray | None) -> np.ndarray:
        header = slice_ref.header
        dtype = stored_dtype(slice_ref)
        shape = (header.rows, header.columns)
        offset = header.pixel.offset + (slice_ref.frame or 0) * shape[0] * shape[1] * dtype.itemsize
        buffer = into if into is not None else np.empty(shape, dtype=dtype)
        try:
            with open(header.path, "rb") as handle:
                handle.seek(offset)
                complete = handle.readinto(memoryview(buffer).cast("B")) == buffer.nbytes
        except OSError as error:
            raise PixelReadError(header.path, f"cannot read the file ({error.strerror})") from error
        if not complete:
            raise PixelReadError(header.path, "pixel data ends early")
        return buffer

    def _decode(self, slice_ref: SliceRef) -> np.ndarray:
        header = slice_ref.header
        if header.samples_per_pixel != 1:
            raise PixelReadError(header.path, "colour images cannot form a volume")
        if self._decoded_path != header.path:
            self._decoded = self._decode_file(header)
            self._decoded_path = header.path
        if isinstance(self._decoded, PixelReadError):
            raise PixelReadError(self._decoded.path, self._decoded.reason)
        decoded = self._decoded
        if slice_ref.frame is not None and header.number_of_frames > 1:
            decoded = decoded[slice_ref.frame]
        if decoded.shape != (header.rows, header.columns):
            raise PixelReadError(header.path, f"decoded shape {decoded.shape} is not one slice")
        return decoded

    def _decode_file(self, header: InstanceHeader) -> np.ndarray | PixelReadError:
        """Every frame of one file, or the failure (kept, so a bad file is decoded once)."""
        try:
            check_budget(native_pixel_bytes(header), self.max_decoded_bytes, "decoding it")
            return pydicom.dcmread(header.path).pixel_array
        except OverBudget as error:
            return PixelReadError(header.path, str(error))
        except _NOT_DECODER_FAILURES:
            raise
        except BaseException as error:  # decoders raise anything on corrupt data, panics too
            syntax = UID(header.transfer_syntax_uid).name
            detail = str(error)
            if not isinstance(error, Exception):
                detail = f"the decoder crashed ({type(error).__name__}: {error})"
            return PixelReadError(header.path, f"cannot decode pixel data ({syntax}): {detail}")


def _read_int16_in_place(reader: SliceReader, slice_ref: SliceRef, out: np.ndarray) -> bool:
    """Fast path: 16-bit native data read straight into the volume, intercept added in place."""
    if not (can_read_directly(slice_ref) and slice_ref.header.bits_allocated == 16):
        return False
    if slice_ref.rescale_slope != 1.0 or not out.flags.c_contiguous:
        return False
    intercept = int(slice_ref.rescale_intercept)
    signed = slice_ref.header.pixel_representation == 1
    stored = out if signed else out.view(np.uint16)
    reader.raw(slice_ref, into=stored)
    if intercept == 0 and signed:
        return True
    low, high = int(stored.min()), int(stored.max())
    if low + intercept < -32768 or high + intercept > 32767 or (not signed and high > 32767):
        return False  # let the general path widen the type
    if intercept:
        out += np.int16(intercept)
    return True


def read_into(reader: SliceReader, slice_ref: SliceRef, out: np.ndarray) -> None:
    """Fill ``out`` (one 2D slice of the volume) with rescaled values."""
    if out.dtype == np.int16 and _read_int16_in_place(reader, slice_ref, out):
        return
    raw = reader.raw(slice_ref)
    slope, intercept = slice_ref.rescale_slope, slice_ref.rescale_intercept
    if out.dtype == np.int16:
        if slope == 1.0:
            values = raw.astype(np.int32) if raw.dtype != np.int16 else raw
            if intercept:
                values = values + int(intercept)
        else:
            values = raw.astype(np.int32) * int(slope) + int(intercept)
        if values is not raw and (values.min() < -32768 or values.max() > 32767):
            raise OverflowError("values exceed int16")
        out[...] = values
    else:
        np.multiply(raw, slope, out=out, casting="unsafe")
        out += intercept
