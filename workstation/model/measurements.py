"""Measurements a reader places on images: distance, angle, ROI statistics, point probe.

Control points are LPS millimetres, so a measurement means the same thing in every
view and survives re-slicing; values are computed here, without Qt or VTK, so the
viewer, the CLI and reports agree and tests can check them against hand arithmetic.

ROI statistics sample the voxels whose centres lie inside the outline *on the plane
the outline was drawn in*: within half a voxel step of the plane along its normal
(the same step a slice view scrolls by), and inside the shape once projected onto it.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

import numpy as np

from workstation.model.volume import Volume

Point = tuple[float, float, float]


class MeasurementKind(StrEnum):
    DISTANCE = "distance"
    ANGLE = "angle"
    ELLIPSE = "ellipse"
    FREEHAND = "freehand"
    PROBE = "probe"


#: Control points each kind needs; a freehand outline needs at least 3.
POINTS_NEEDED: dict[MeasurementKind, int] = {
    MeasurementKind.DISTANCE: 2,
    MeasurementKind.ANGLE: 3,
    MeasurementKind.ELLIPSE: 3,
    MeasurementKind.PROBE: 1,
    MeasurementKind.FREEHAND: 3,
}


@dataclass
class Measurement:
    """One placed measurement and its computed values.

    ``points`` by kind: distance ``[a, b]``; angle ``[a, vertex, b]``; ellipse
    ``[centre, end of first semi-axis, end of second semi-axis]``; freehand the
    polygon's vertices; probe ``[point]``.
    """

    kind: MeasurementKind
    points: list[Point]
    values: dict[str, float | None] = field(default_factory=dict)
    series_uid: str = ""
    label: str = ""
    #: Unit of image values (``"HU"`` for CT), for display.
    unit: str = ""
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    uid: str = field(default_factory=lambda: uuid.uuid4().hex)

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict, to keep measurements with the study."""
        return {
            "uid": self.uid,
            "kind": str(self.kind),
            "points_lps_mm": [list(p) for p in self.points],
            "values": dict(self.values),
            "series_uid": self.series_uid,
            "label": self.label,
            "unit": self.unit,
            "created": self.created.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Measurement:
        return cls(
            kind=MeasurementKind(data["kind"]),
            points=[_point(p) for p in data["points_lps_mm"]],  # type: ignore[union-attr]
            values=dict(data.get("values", {})),  # type: ignore[call-overload]
            series_uid=str(data.get("series_uid", "")),
            label=str(data.get("label", "")),
            unit=str(data.get("unit", "")),
            created=datetime.fromisoformat(str(data["created"])),
            uid=str(data["uid"]),
        )


def _point(p: Sequence[float] | np.ndarray) -> Point:
    x, y, z = (float(c) for c in p)
    return (x, y, z)


# --- geometry ------------------------------------------------------------------


def distance_mm(a: Sequence[float], b: Sequence[float]) -> float:
    return float(np.linalg.norm(np.subtract(b, a)))


def angle_deg(a: Sequence[float], vertex: Sequence[float], b: Sequence[float]) -> float:
    """The angle at ``vertex`` between the rays to ``a`` and ``b``, 0..180 degrees."""
    ray_a = np.subtract(a, vertex)
    ray_b = np.subtract(b, vertex)
    norms = np.linalg.norm(ray_a) * np.linalg.norm(ray_b)
    if norms == 0:
        raise ValueError("an angle needs two rays of non-zero length")
    return math.degrees(math.acos(float(np.clip(np.dot(ray_a, ray_b) / norms, -1.0, 1.0))))


def voxel_step_along(volume: Volume, normal: Sequence[float]) -> float:
    """The distance along ``normal`` that moves to the next voxel along some grid axis.

    For a plane parallel to the slices this is the slice spacing; slice views scroll
    by it and ROI statistics take voxels within half of it of the plane.
    """
    n = np.asarray(normal, float) / np.linalg.norm(normal)
    axes = volume.direction / np.linalg.norm(volume.direction, axis=0)
    cosines = np.abs(axes.T @ n)
    steps = [s / c for s, c in zip(volume.spacing, cosines, strict=True) if c > 1e-6]
    return float(min(steps))


def ellipse_points(
    corner_a: Sequence[float],
    corner_b: Sequence[float],
    right: Sequence[float],
    up: Sequence[float],
) -> list[Point]:
    """Ellipse control points from two opposite corners of its box in a view.

    ``right`` and ``up`` are the view's in-plane unit vectors (LPS); the result is
    ``[centre, centre + a * right, centre + b * up]``.
    """
    a, b = np.asarray(corner_a, float), np.asarray(corner_b, float)
    right_v, up_v = np.asarray(right, float), np.asarray(up, float)
    centre = (a + b) / 2
    half = (b - a) / 2
    return [
        _point(centre),
        _point(centre + abs(half @ right_v) * right_v),
        _point(centre + abs(half @ up_v) * up_v),
    ]


def ellipse_outline(points: Sequence[Sequence[float]], segments: int = 64) -> np.ndarray:
    """``(segments, 3)`` LPS points around the ellipse given by its control points."""
    centre, e1, a, e2, b = _ellipse_frame(points)
    t = np.linspace(0.0, 2 * np.pi, segments, endpoint=False)
    return centre + np.outer(a * np.cos(t), e1) + np.outer(b * np.sin(t), e2)


def _ellipse_frame(points: Sequence[Sequence[float]]):
    centre, end_a, end_b = (np.asarray(p, float) for p in points)
    ray_a = end_a - centre
    a = float(np.linalg.norm(ray_a))
    if a == 0:
        raise ValueError("an ellipse needs a non-zero first semi-axis")
    e1 = ray_a / a
    ray_b = end_b - centre
    ray_b = ray_b - (ray_b @ e1) * e1  # tolerate a second axis not quite perpendicular
    b = float(np.linalg.norm(ray_b))
    if b == 0:
        raise ValueError("an ellipse needs a non-zero second semi-axis")
    return centre, e1, a, ray_b / b, b


def _polygon_frame(points: Sequence[Sequence[float]]):
    """Centroid, in-plane axes and normal of a (near-)planar polygon (Newell's method)."""
    p = np.asarray(points, float)
    if len(p) < 3:
        raise ValueError("a freehand outline needs at least 3 points")
    nxt = np.roll(p, -1, axis=0)
    normal = np.array(
        [
            np.sum((p[:, 1] - nxt[:, 1]) * (p[:, 2] + nxt[:, 2])),
            np.sum((p[:, 2] - nxt[:, 2]) * (p[:, 0] + nxt[:, 0])),
            np.sum((p[:, 0] - nxt[:, 0]) * (p[:, 1] + nxt[:, 1])),
        ]
    )
    length = np.linalg.norm(normal)
    if length == 0:
        raise ValueError("the freehand outline encloses no area")
    normal /= length
    centroid = p.mean(axis=0)
    first = p[0] - centroid
    first -= (first @ normal) * normal
    e1 = first / np.linalg.norm(first)
    return centroid, e1, np.cross(normal, e1)


def _inside_polygon(u: np.ndarray, v: np.ndarray, poly_u: np.ndarray, poly_v: np.ndarray):
    """Even-odd rule: which ``(u, v)`` lie inside the polygon."""
    inside = np.zeros(u.shape, bool)
    for x1, y1, x2, y2 in zip(
        poly_u, poly_v, np.roll(poly_u, -1), np.roll(poly_v, -1), strict=True
    ):
        if y1 == y2:
            continue
        crosses = (y1 > v) != (y2 > v)
        x_at_v = x1 + (v - y1) * (x2 - x1) / (y2 - y1)
        inside ^= crosses & (u < x_at_v)
    return inside


# --- sampling the volume -------------------------------------------------------


def _voxels(volume: Volume, frame: int) -> np.ndarray:
    return volume.voxels[frame] if volume.is_4d else volume.voxels


def _roi_values(
    volume: Volume,
    frame: int,
    origin: np.ndarray,
    e1: np.ndarray,
    e2: np.ndarray,
    inside: Callable[[np.ndarray, np.ndarray], np.ndarray],
    outline: np.ndarray,
) -> np.ndarray:
    """Values of the voxels whose centres lie on the plane (origin, e1, e2) and inside."""
    voxels = _voxels(volume, frame)
    normal = np.cross(e1, e2)
    half = voxel_step_along(volume, normal) / 2
    corners = np.vstack([outline + half * normal, outline - half * normal])
    ijk = volume.world_to_index(corners)
    shape_xyz = np.array(voxels.shape[::-1])
    lo = np.clip(np.floor(ijk.min(axis=0)).astype(int), 0, shape_xyz - 1)
    hi = np.clip(np.ceil(ijk.max(axis=0)).astype(int), 0, shape_xyz - 1)
    j, i = np.meshgrid(np.arange(lo[1], hi[1] + 1), np.arange(lo[0], hi[0] + 1), indexing="ij")
    found = []
    for k in range(lo[2], hi[2] + 1):  # one slice at a time keeps memory small
        index = np.stack([i, j, np.full_like(i, k)], axis=-1)
        rel = volume.index_to_world(index) - origin
        w = rel @ normal
        mask = (w >= -half) & (w < half) & inside(rel @ e1, rel @ e2)
        found.append(voxels[k, lo[1] : hi[1] + 1, lo[0] : hi[0] + 1][mask])
    return np.concatenate(found) if found else np.empty(0)


def _statistics(values: np.ndarray, area_mm2: float) -> dict[str, float | None]:
    """Mean, sample SD (n-1), min, max, count and the outline's area."""
    stats: dict[str, float | None] = {"area_mm2": area_mm2, "voxel_count": float(values.size)}
    if values.size == 0:
        return stats | {"mean": None, "sd": None, "min": None, "max": None}
    values = values.astype(float)
    return stats | {
        "mean": float(values.mean()),
        "sd": float(values.std(ddof=1)) if values.size > 1 else 0.0,
        "min": float(values.min()),
        "max": float(values.max()),
    }


def ellipse_statistics(
    volume: Volume, points: Sequence[Sequence[float]], frame: int = 0
) -> dict[str, float | None]:
    """Statistics inside the ellipse ``[centre, semi-axis end a, semi-axis end b]``."""
    centre, e1, a, e2, b = _ellipse_frame(points)

    def inside(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        return (u / a) ** 2 + (v / b) ** 2 <= 1.0

    box = centre + np.array([[su * a, sv * b] for su in (-1, 1) for sv in (-1, 1)]) @ np.vstack(
        [e1, e2]
    )
    values = _roi_values(volume, frame, centre, e1, e2, inside, box)
    return _statistics(values, math.pi * a * b)


def polygon_statistics(
    volume: Volume, points: Sequence[Sequence[float]], frame: int = 0
) -> dict[str, float | None]:
    """Statistics inside a closed planar polygon (a freehand outline)."""
    origin, e1, e2 = _polygon_frame(points)
    rel = np.asarray(points, float) - origin
    poly_u, poly_v = rel @ e1, rel @ e2
    area = 0.5 * abs(
        float(np.dot(poly_u, np.roll(poly_v, -1)) - np.dot(poly_v, np.roll(poly_u, -1)))
    )

    def inside(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        return _inside_polygon(u, v, poly_u, poly_v)

    values = _roi_values(volume, frame, origin, e1, e2, inside, np.asarray(points, float))
    return _statistics(values, area)


def probe(volume: Volume, point: Sequence[float], frame: int = 0) -> dict[str, float | None]:
    """The value of the voxel nearest ``point`` and that voxel's indices and centre."""
    ijk = np.rint(volume.world_to_index(point)).astype(int)
    voxels = _voxels(volume, frame)
    if np.any(ijk < 0) or np.any(ijk >= np.array(voxels.shape[::-1])):
        raise ValueError(f"point {tuple(point)} lies outside the volume")
    i, j, k = (int(c) for c in ijk)
    centre = volume.index_to_world(ijk)
    return {
        "value": float(voxels[k, j, i]),
        "i": float(i),
        "j": float(j),
        "k": float(k),
        "voxel_x": float(centre[0]),
        "voxel_y": float(centre[1]),
        "voxel_z": float(centre[2]),
    }


# --- one entry point -----------------------------------------------------------


def measure(
    kind: MeasurementKind | str,
    points: Sequence[Sequence[float]],
    volume: Volume | None = None,
    *,
    frame: int = 0,
    label: str = "",
) -> Measurement:
    """A Measurement of ``kind`` with its values computed (ROIs and probes need the volume)."""
    kind = MeasurementKind(kind)
    pts = [_point(p) for p in points]
    if len(pts) < POINTS_NEEDED[kind] or (
        kind != MeasurementKind.FREEHAND and len(pts) > POINTS_NEEDED[kind]
    ):
        raise ValueError(f"a {kind} measurement needs {POINTS_NEEDED[kind]} points, got {len(pts)}")
    if kind == MeasurementKind.DISTANCE:
        values: dict[str, float | None] = {"distance_mm": distance_mm(*pts)}
    elif kind == MeasurementKind.ANGLE:
        values = {"angle_deg": angle_deg(*pts)}
    else:
        if volume is None:
            raise ValueError(f"a {kind} measurement needs the volume")
        compute = {
            MeasurementKind.ELLIPSE: ellipse_statistics,
            MeasurementKind.FREEHAND: polygon_statistics,
            MeasurementKind.PROBE: lambda v, p, frame: probe(v, p[0], frame),
        }[kind]
        values = compute(volume, pts, frame=frame)
    return Measurement(
        kind=kind,
        points=pts,
        values=values,
        series_uid=volume.provenance.series_uid if volume is not None else "",
        label=label,
        unit="HU" if volume is not None and volume.modality == "CT" else "",
    )


def describe(measurement: Measurement) -> str:
    """Short text of a measurement's values, as drawn beside it and listed in panels."""
    v = measurement.values
    unit = f" {measurement.unit}" if measurement.unit else ""

    def number(key: str) -> str:
        value = v.get(key)
        return "-" if value is None else f"{value:.1f}"

    text = {
        MeasurementKind.DISTANCE: lambda: f"{number('distance_mm')} mm",
        MeasurementKind.ANGLE: lambda: f"{number('angle_deg')}°",
        MeasurementKind.PROBE: lambda: f"{number('value')}{unit}",
    }.get(measurement.kind)
    if text is not None:
        body = text()
    else:
        body = (
            f"mean {number('mean')} SD {number('sd')}{unit}\n"
            f"min {number('min')} max {number('max')}\n"
            f"area {number('area_mm2')} mm²"
        )
    return f"{measurement.label}: {body}" if measurement.label else body
