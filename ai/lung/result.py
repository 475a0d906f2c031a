"""The lung engine's result, serialised as ``lung.json``.

Top level: ``series_uid``, ``lung_rads`` {category, management}, ``fleischner``,
``timings_s``, ``algorithm`` {name, version, device} and ``nodules``; each nodule has
``id``, ``center_lps_mm``, ``bbox_lps_mm``, ``volume_mm3``, ``long_axis_mm``,
``short_axis_mm``, ``mean_diameter_mm``, ``mean_hu``, ``type``, ``solid_core_mm``,
``probability``, ``juxtapleural``, ``lung_rads``, ``prior``. Further keys add what the
issue asks for beyond that table (3D axes, max HU, location, solid volume, caliper end
points) and mark the document as AI-generated and unverified.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: reading a result does not load the engine
    from ai.lung.location import Location
    from ai.lung.lung_mask import LungMask
    from ai.lung.measurements import NoduleMeasurements
    from ai.lung.nodule_segmentation import NoduleMask
    from ai.lung.rules import Fleischner, LungRads, Risk

ALGORITHM_NAME = "Halong lung nodule CAD"
ALGORITHM_VERSION = "1.0.0"
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class AlgorithmInfo:
    """Which algorithm made a result, on which device, with which model."""

    name: str = ALGORITHM_NAME
    version: str = ALGORITHM_VERSION
    device: str = "cpu"
    model: str = ""  # bundle name and version

    def to_json(self) -> dict[str, str]:
        return {
            "name": self.name,
            "version": self.version,
            "device": self.device,
            "model": self.model,
        }


@dataclass(frozen=True)
class PriorComparison:
    """A nodule against the prior scan: its match there and how it changed."""

    status: str  # new, growing, stable, baseline (seen before, under 3 months)
    prior_id: int | None = None
    prior_volume_mm3: float | None = None
    prior_mean_diameter_mm: float | None = None
    volume_change_percent: float | None = None
    volume_doubling_time_days: float | None = None
    interval_days: float | None = None
    distance_mm: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "prior_id": self.prior_id,
            "prior_volume_mm3": _round(self.prior_volume_mm3, 1),
            "prior_mean_diameter_mm": self.prior_mean_diameter_mm,
            "volume_change_percent": _round(self.volume_change_percent, 1),
            "volume_doubling_time_days": _round(self.volume_doubling_time_days, 0),
            "interval_days": self.interval_days,
            "match_distance_mm": _round(self.distance_mm, 1),
        }


@dataclass
class Nodule:
    """One detected nodule: its voxels, numbers, place, score and categories."""

    id: int
    mask: NoduleMask
    measurements: NoduleMeasurements
    #: The network's score; None for a nodule a reader added by clicking.
    probability: float | None
    location: Location
    lung_rads: LungRads | None = None
    fleischner: Fleischner | None = None
    prior: PriorComparison | None = None
    #: Reported by the mass rule (solid, >= 2 cm thick) rather than the network's score.
    found_as_mass: bool = False
    #: Added by a reader in the viewer (not found by the engine).
    added_by_reader: bool = False
    #: Tracking UID shared by lung.json, the SEG segment and the SR group (2.25 UUID form).
    tracking_uid: str = field(default_factory=lambda: f"2.25.{uuid.uuid4().int}")

    @property
    def found_by(self) -> str:
        if self.added_by_reader:
            return "reader"
        return "mass rule" if self.found_as_mass else "network"

    def to_json(self) -> dict[str, Any]:
        m = self.measurements
        return {
            "id": self.id,
            "center_lps_mm": _points(m.center_lps_mm),
            "bbox_lps_mm": [_points(m.bbox_lps_mm[0]), _points(m.bbox_lps_mm[1])],
            "volume_mm3": round(m.volume_mm3, 1),
            "long_axis_mm": round(m.long_axis_mm, 1),
            "short_axis_mm": round(m.short_axis_mm, 1),
            "mean_diameter_mm": m.mean_diameter_mm,
            "mean_hu": round(m.mean_hu, 1),
            "type": m.type,
            "solid_core_mm": round(m.solid_core_mm, 1),
            "probability": None if self.probability is None else round(self.probability, 4),
            "juxtapleural": self.location.juxtapleural,
            "lung_rads": self.lung_rads.category if self.lung_rads else None,
            "prior": self.prior.to_json() if self.prior else None,
            # beyond the table
            "tracking_uid": self.tracking_uid,
            "found_by": self.found_by,
            "max_hu": round(m.max_hu, 1),
            "solid_volume_mm3": round(m.solid_volume_mm3, 1),
            "long_axis_3d_mm": round(m.long_axis_3d_mm, 1),
            "short_axis_3d_mm": round(m.short_axis_3d_mm, 1),
            "axial_slice_index": m.axial.slice_index,
            "long_axis_ends_lps_mm": [_points(p) for p in m.axial.long_ends_lps],
            "short_axis_ends_lps_mm": [_points(p) for p in m.axial.short_ends_lps],
            "location": self.location.to_json(),
            "lung_rads_finding": self.lung_rads.finding if self.lung_rads else None,
            "fleischner": self.fleischner.recommendation if self.fleischner else None,
        }


@dataclass
class LungResult:
    """Everything one run found, ready for lung.json, the SEG and the SR."""

    series_uid: str
    nodules: list[Nodule]
    lung_rads: LungRads
    fleischner: Fleischner | None
    risk: Risk
    algorithm: AlgorithmInfo
    timings_s: dict[str, float] = field(default_factory=dict)
    prior_series_uid: str | None = None
    prior_interval_days: float | None = None
    resolved: list[dict[str, Any]] = field(default_factory=list)
    registration: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)
    #: The lung mask the nodules were found in (kept for a reader's edits; not serialised).
    lungs: LungMask | None = field(default=None, repr=False, compare=False)
    #: A reader's review of this result (see :mod:`ai.lung.review`), serialised when set.
    review: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        fleischner: dict[str, Any]
        if self.fleischner is not None:
            fleischner = self.fleischner.to_json()
            fleischner["nodule_id"] = self.nodules[self.fleischner.nodule_index or 0].id
        else:
            fleischner = {
                "recommendation": "No nodules: no follow-up required",
                "risk": self.risk,
                "nodule_class": None,
                "count": None,
                "nodule_id": None,
            }
        document: dict[str, Any] = {
            "series_uid": self.series_uid,
            "lung_rads": {
                "category": self.lung_rads.category,
                "management": self.lung_rads.management,
            },
            "fleischner": fleischner,
            "timings_s": {k: round(v, 3) for k, v in self.timings_s.items()},
            "algorithm": self.algorithm.to_json(),
            "nodules": [n.to_json() for n in self.nodules],
            "ai_generated": True,
            "verification": "UNVERIFIED",
            "schema_version": SCHEMA_VERSION,
            "warnings": list(self.warnings),
        }
        if self.review is not None:
            document["review"] = self.review
        if self.prior_series_uid is not None:
            document["prior"] = {
                "series_uid": self.prior_series_uid,
                "interval_days": self.prior_interval_days,
                "registration": self.registration,
                "resolved_nodules": self.resolved,
            }
        return document


def _points(values) -> list[float]:
    return [round(float(v), 2) for v in values]


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(float(value), digits)
