"""The image volume every part of Halong exchanges.

Voxels are numpy ``[z, y, x]`` (or ``[t, z, y, x]`` for time-resolved series).
Geometry follows the ITK/DICOM convention in patient LPS millimetres:

* ``spacing`` is ``(sx, sy, sz)``: the step along x (columns), y (rows), z (slices);
* ``origin`` is the LPS position of the centre of voxel ``[0, 0, 0]``;
* ``direction`` is a 3x3 matrix whose *columns* are the unit LPS vectors of the
  x, y and z grid axes (DICOM row direction, column direction, slice normal).

So the world position of voxel index ``(i, j, k)`` (x, y, z) is
``origin + direction @ (spacing * (i, j, k))``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Provenance:
    """Where a volume came from, so results can point back at the source images."""

    series_uid: str = ""
    study_uid: str = ""
    frame_of_reference_uid: str = ""
    #: SOP Instance UID of each slice along z (of the first frame for 4D data).
    sop_instance_uids: list[str] = field(default_factory=list)
    #: Source files, in the order they were read (diagnostics only).
    source: str = ""


@dataclass
class Volume:
    """A 3D or 4D image with its world geometry, modality and provenance."""

    voxels: np.ndarray
    spacing: tuple[float, float, float] = (1.0, 1.0, 1.0)
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)
    direction: np.ndarray = field(default_factory=lambda: np.eye(3))
    modality: str = "OT"
    frame_times: np.ndarray | None = None
    provenance: Provenance = field(default_factory=Provenance)
    #: Human-readable notes about what assembly corrected or noticed (tilt, gaps, ...).
    warnings: list[str] = field(default_factory=list)
    #: Header values downstream code needs (e.g. EchoTime for MR DSC), keyed by keyword.
    attributes: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.spacing = tuple(float(s) for s in self.spacing)  # type: ignore[assignment]
        self.origin = tuple(float(o) for o in self.origin)  # type: ignore[assignment]
        self.direction = np.asarray(self.direction, dtype=float).reshape(3, 3)
        if self.voxels.ndim not in (3, 4):
            raise ValueError(f"a Volume needs 3 or 4 dimensions, got shape {self.voxels.shape}")
        if self.voxels.ndim == 4:
            if self.frame_times is None:
                raise ValueError("a 4D Volume needs frame_times (seconds)")
            self.frame_times = np.asarray(self.frame_times, dtype=float)
            if len(self.frame_times) != self.voxels.shape[0]:
                raise ValueError(
                    f"{len(self.frame_times)} frame times for {self.voxels.shape[0]} frames"
                )

    @property
    def is_4d(self) -> bool:
        return self.voxels.ndim == 4

    @property
    def shape_zyx(self) -> tuple[int, int, int]:
        """Spatial grid size, whatever the number of frames."""
        z, y, x = self.voxels.shape[-3:]
        return int(z), int(y), int(x)

    @property
    def voxel_volume_mm3(self) -> float:
        return float(np.prod(self.spacing))

    def affine_lps(self) -> np.ndarray:
        """4x4 matrix mapping homogeneous index ``(i, j, k, 1)`` (x, y, z) to LPS mm."""
        affine = np.eye(4)
        affine[:3, :3] = self.direction * np.asarray(self.spacing)[None, :]
        affine[:3, 3] = self.origin
        return affine

    def index_to_world(self, ijk: np.ndarray) -> np.ndarray:
        """LPS positions of ``(..., 3)`` voxel indices ordered (i, j, k) = (x, y, z)."""
        ijk = np.asarray(ijk, dtype=float)
        affine = self.affine_lps()
        return ijk @ affine[:3, :3].T + affine[:3, 3]

    def world_to_index(self, lps: np.ndarray) -> np.ndarray:
        """Continuous (i, j, k) indices of ``(..., 3)`` LPS positions."""
        lps = np.asarray(lps, dtype=float)
        affine = self.affine_lps()
        return (lps - affine[:3, 3]) @ np.linalg.inv(affine[:3, :3]).T

    def frame(self, t: int) -> Volume:
        """One time frame of a 4D volume as a 3D volume sharing the geometry."""
        if not self.is_4d:
            raise ValueError("frame() needs a 4D volume")
        return Volume(
            voxels=self.voxels[t],
            spacing=self.spacing,
            origin=self.origin,
            direction=self.direction,
            modality=self.modality,
            provenance=self.provenance,
            attributes=dict(self.attributes),
        )

    def with_voxels(self, voxels: np.ndarray, frame_times: np.ndarray | None = None) -> Volume:
        """A volume on the same grid with other voxel values (a map, a mask, frames)."""
        if voxels.ndim == 4 and frame_times is None:
            frame_times = self.frame_times
        return Volume(
            voxels=voxels,
            spacing=self.spacing,
            origin=self.origin,
            direction=self.direction,
            modality=self.modality,
            frame_times=frame_times if voxels.ndim == 4 else None,
            provenance=self.provenance,
            attributes=dict(self.attributes),
        )
