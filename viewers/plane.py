"""Slice-plane geometry in LPS: which world directions point right and up on screen.

A slice view draws its plane in a 2D frame ``(u, v)`` where ``u`` runs along
``right`` and ``v`` along ``up``; ``normal = right x up`` points at the viewer.
Keeping the display conventions as these three vectors makes radiological
orientation a matter of data, and oblique planes just other vectors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: Screen-right and screen-up LPS vectors of the standard planes:
#: axial seen from the feet (patient's left on screen right, anterior up),
#: coronal seen from the front (left on right, superior up),
#: sagittal seen from the patient's left (anterior on screen left, superior up).
STANDARD_AXES: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    "axial": ((1.0, 0.0, 0.0), (0.0, -1.0, 0.0)),
    "coronal": ((1.0, 0.0, 0.0), (0.0, 0.0, 1.0)),
    "sagittal": ((0.0, 1.0, 0.0), (0.0, 0.0, 1.0)),
}

#: Patient-direction letter of each LPS axis, for the positive and negative sense.
_LETTERS = (("L", "R"), ("P", "A"), ("S", "I"))


@dataclass(frozen=True)
class PlaneAxes:
    """Orthonormal screen axes of a slice plane, as LPS unit vectors."""

    right: np.ndarray
    up: np.ndarray

    @classmethod
    def from_vectors(cls, right: Sequence[float], up: Sequence[float]) -> PlaneAxes:
        """Normalised axes; ``up`` is made perpendicular to ``right``."""
        r = np.asarray(right, float)
        r = r / np.linalg.norm(r)
        u = np.asarray(up, float)
        u = u - (u @ r) * r
        norm = np.linalg.norm(u)
        if norm < 1e-9:
            raise ValueError("right and up must not be parallel")
        return cls(r, u / norm)

    @classmethod
    def standard(cls, orientation: str) -> PlaneAxes:
        if orientation not in STANDARD_AXES:
            raise ValueError(f"unknown orientation {orientation!r}; use {sorted(STANDARD_AXES)}")
        return cls.from_vectors(*STANDARD_AXES[orientation])

    @property
    def normal(self) -> np.ndarray:
        """Towards the viewer."""
        return np.cross(self.right, self.up)

    @property
    def matrix(self) -> np.ndarray:
        """Columns ``right, up, normal``: maps plane ``(u, v, w)`` to LPS offsets."""
        return np.column_stack([self.right, self.up, self.normal])

    def rotated(self, axis: Sequence[float], degrees: float) -> PlaneAxes:
        rotation = rotation_matrix(axis, degrees)
        return PlaneAxes(rotation @ self.right, rotation @ self.up)


def rotation_matrix(axis: Sequence[float], degrees: float) -> np.ndarray:
    """Right-handed rotation about ``axis`` (Rodrigues): counter-clockwise seen from its tip."""
    k = np.asarray(axis, float) / np.linalg.norm(axis)
    theta = np.radians(degrees)
    cross = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(theta) * cross + (1 - np.cos(theta)) * cross @ cross


def direction_label(vector: Sequence[float], threshold: float = 0.25) -> str:
    """Patient-direction letters of an LPS vector, strongest first (``"L"``, ``"LA"``).

    Components below ``threshold`` (about 15 degrees) are left out, so a slightly
    tilted plane keeps plain labels.
    """
    v = np.asarray(vector, float)
    v = v / np.linalg.norm(v)
    order = np.argsort(-np.abs(v))
    return "".join(
        _LETTERS[axis][0 if v[axis] > 0 else 1] for axis in order if abs(v[axis]) >= threshold
    )


def position_axis(normal: Sequence[float]) -> np.ndarray:
    """The plane normal signed so its largest LPS component is positive.

    Slice positions are measured along it, so an axial position reads as the S
    coordinate (as DICOM slice locations do), a coronal one as P, a sagittal one as L.
    """
    n = np.asarray(normal, float)
    return n if n[np.argmax(np.abs(n))] > 0 else -n
