"""Which slices a picture shows, where each lies on it, and which voxel each pixel shows.

Slices are shown in the radiological convention whatever order the voxels are stored in
(a NIfTI stored RAS would otherwise show the patient's right on the right): patient's
right on the left, anterior at the top; the letters at a panel's sides are read from
the grid's direction, never assumed. A panel is a nearest-neighbour resampling by two
index arrays, so whoever holds a panel maps each of its pixels back to its voxel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workstation.model.volume import Volume

#: Patient directions of the LPS axes, towards the positive and the negative end.
_TOWARDS = (("L", "R"), ("P", "A"), ("S", "I"))
#: Display axes flipped when they point towards these sides (radiological convention).
_FLIP_X, _FLIP_Y = {"R", "A"}, {"A", "S"}


@dataclass(frozen=True)
class SlicePanel:
    """One slice on a picture: its place (pixels from the top-left) and its voxels."""

    z: int
    #: Position of the slice's centre along the patient's S axis (LPS z, mm); None without
    #: a grid.
    position_mm: float | None
    left: int
    top: int
    #: Voxel row (y index) shown on each pixel row, and voxel column on each pixel column.
    rows: np.ndarray
    columns: np.ndarray
    #: Patient sides at the panel's left and right edges ("R", "L"); "" without a grid.
    left_side: str
    right_side: str

    @property
    def height(self) -> int:
        return len(self.rows)

    @property
    def width(self) -> int:
        return len(self.columns)

    def sample(self, plane: np.ndarray) -> np.ndarray:
        """The panel's pixels of a (y, x) plane of this slice."""
        return plane[np.ix_(self.rows, self.columns)]


def spread_slices(mask: np.ndarray, count: int) -> list[int]:
    """``count`` slices spread over those where ``mask`` (lesion or tissue) is present."""
    present = np.flatnonzero(mask.reshape(mask.shape[0], -1).any(axis=1))
    if len(present) == 0:
        present = np.arange(mask.shape[0])
    picks = np.linspace(0, len(present) - 1, min(count, len(present))).round().astype(int)
    return [int(present[i]) for i in dict.fromkeys(picks)]


def side_of(vector: np.ndarray) -> tuple[str, str]:
    """The patient sides an LPS direction points towards and away from (its main axis)."""
    axis = int(np.argmax(np.abs(vector)))
    towards, away = _TOWARDS[axis]
    return (towards, away) if vector[axis] > 0 else (away, towards)


def _indices(count: int, pixels: int, flip: bool) -> np.ndarray:
    """The voxel under the centre of each of ``pixels`` pixels spanning ``count`` voxels."""
    index = ((np.arange(pixels) + 0.5) * count / pixels).astype(int)
    return count - 1 - index if flip else index


def panel_row(
    shape_zyx: tuple[int, int, int],
    slices: list[int],
    grid: Volume | None,
    left: int,
    top: int,
    box: int,
    gap: int,
) -> list[SlicePanel]:
    """Panels of ``slices``, inferior to superior, each fitted in a ``box`` pixel square.

    Without a grid, slices are shown as stored, in index order, with square voxels and
    no sides (an orientation is never guessed).
    """
    _, ny, nx = shape_zyx
    spacing = grid.spacing if grid else (1.0, 1.0, 1.0)
    scale = box / max(nx * spacing[0], ny * spacing[1])
    width, height = max(1, round(nx * spacing[0] * scale)), max(1, round(ny * spacing[1] * scale))
    if grid is None:
        flip_x = flip_y = False
        sides = ("", "")
        positions: dict[int, float | None] = dict.fromkeys(slices)
    else:
        towards, away = side_of(grid.direction[:, 0])
        flip_x, flip_y = towards in _FLIP_X, side_of(grid.direction[:, 1])[0] in _FLIP_Y
        sides = (towards, away) if flip_x else (away, towards)
        centres = np.array([[(nx - 1) / 2, (ny - 1) / 2, k] for k in slices])
        positions = dict(zip(slices, grid.index_to_world(centres)[:, 2].tolist(), strict=True))
        slices = sorted(slices, key=lambda k: positions[k])
    rows, columns = _indices(ny, height, flip_y), _indices(nx, width, flip_x)
    return [
        SlicePanel(k, positions[k], left + n * (box + gap), top, rows, columns, *sides)
        for n, k in enumerate(slices)
    ]
