"""Series thumbnails: the middle slice as a small 8-bit greyscale image.

Qt-free: the study browser runs :func:`series_thumbnail` on a worker thread and only
wraps the array in a QImage on the GUI thread. One file is read per series.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

#: Longest side of a thumbnail, in pixels.
THUMBNAIL_SIZE = 96


class ThumbnailError(Exception):
    """The series has no slice that can be shown."""


def window_to_bytes(pixels: np.ndarray) -> np.ndarray:
    """Map the 0.5-99.5 percentile range of ``pixels`` onto 0-255."""
    values = np.asarray(pixels, dtype=np.float32)
    low, high = np.percentile(values, (0.5, 99.5))
    if high <= low:
        high = low + 1.0
    scaled = (values - low) * (255.0 / (high - low))
    return np.clip(scaled, 0, 255).astype(np.uint8)


def shrink(pixels: np.ndarray, size: int = THUMBNAIL_SIZE) -> np.ndarray:
    """Average blocks so the longest side is at most ``size`` pixels."""
    factor = math.ceil(max(pixels.shape) / size)
    if factor <= 1:
        return pixels
    rows, columns = (pixels.shape[0] // factor) * factor, (pixels.shape[1] // factor) * factor
    blocks = pixels[:rows, :columns].reshape(rows // factor, factor, columns // factor, factor)
    return blocks.mean(axis=(1, 3))


def slice_thumbnail(path: str | Path, size: int = THUMBNAIL_SIZE) -> np.ndarray:
    """The (middle frame of the) image in one DICOM file, windowed and shrunk."""
    from workstation.dicom.headers import UnusableFile, read_instance
    from workstation.dicom.pixels import PixelReadError, SliceReader
    from workstation.dicom.slices import SliceGeometryError, slices_of

    try:
        header = read_instance(path)
        slices = slices_of(header)
        middle = slices[len(slices) // 2]
        raw = SliceReader().raw(middle)
    except (UnusableFile, PixelReadError, SliceGeometryError, IndexError) as error:
        raise ThumbnailError(f"{path}: no thumbnail ({error})") from error
    values = raw.astype(np.float32) * middle.rescale_slope + middle.rescale_intercept
    return window_to_bytes(shrink(values, size))


def series_thumbnail(paths: Sequence[str | Path], size: int = THUMBNAIL_SIZE) -> np.ndarray:
    """Thumbnail of the middle instance of a series (paths in instance order)."""
    if not paths:
        raise ThumbnailError("the series has no files")
    return slice_thumbnail(paths[len(paths) // 2], size)
