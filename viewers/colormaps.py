"""Colour maps for parametric overlays (perfusion maps, probabilities) as data.

Each map is a list of ``(position 0..1, r, g, b)`` stops; :func:`lookup_table`
turns one into a vtkLookupTable over a value range, with values below a
threshold made transparent so only the meaningful part of a map covers the image.
"""

from __future__ import annotations

import numpy as np
from vtkmodules.util.numpy_support import numpy_to_vtk
from vtkmodules.vtkCommonCore import vtkLookupTable

COLOUR_MAPS: dict[str, tuple[tuple[float, float, float, float], ...]] = {
    "grey": ((0.0, 0.0, 0.0, 0.0), (1.0, 1.0, 1.0, 1.0)),
    "hot": ((0.0, 0.0, 0.0, 0.0), (0.4, 1.0, 0.0, 0.0), (0.8, 1.0, 1.0, 0.0), (1.0, 1.0, 1.0, 1.0)),
    # blue -> cyan -> green -> yellow -> red, the usual perfusion-map scale
    "rainbow": (
        (0.0, 0.0, 0.0, 1.0),
        (0.25, 0.0, 1.0, 1.0),
        (0.5, 0.0, 1.0, 0.0),
        (0.75, 1.0, 1.0, 0.0),
        (1.0, 1.0, 0.0, 0.0),
    ),
}

TABLE_SIZE = 1024


def colours(name: str, count: int = TABLE_SIZE) -> np.ndarray:
    """``(count, 3)`` RGB in 0..1 sampled evenly along the named map."""
    if name not in COLOUR_MAPS:
        raise ValueError(f"unknown colour map {name!r}; use one of {sorted(COLOUR_MAPS)}")
    stops = np.array(COLOUR_MAPS[name])
    t = np.linspace(0.0, 1.0, count)
    return np.column_stack([np.interp(t, stops[:, 0], stops[:, c]) for c in (1, 2, 3)])


def lookup_table(
    name: str,
    value_range: tuple[float, float],
    threshold: float | None = None,
    opacity: float = 1.0,
) -> vtkLookupTable:
    """A table over ``value_range``; values below ``threshold`` (or the range) are clear."""
    low, high = value_range
    if not high > low:
        raise ValueError(f"empty value range {value_range}")
    rgb = colours(name)
    centres = low + (np.arange(TABLE_SIZE) + 0.5) * (high - low) / TABLE_SIZE
    alpha = np.where(centres < (low if threshold is None else threshold), 0.0, opacity)
    rgba = np.round(np.column_stack([rgb, alpha]) * 255).astype(np.uint8)
    table = vtkLookupTable()
    table.SetTableRange(low, high)
    table.SetTable(numpy_to_vtk(rgba, deep=True))
    table.SetUseBelowRangeColor(True)
    table.SetBelowRangeColor(0.0, 0.0, 0.0, 0.0)
    table.SetNanColor(0.0, 0.0, 0.0, 0.0)
    return table
