"""Lung nodules of known size, type and position: specs, placement, rendering, truth.

Every nodule's volume is that of a sphere of ``diameter_mm`` (the
volume-equivalent diameter), whatever its shape: ellipsoids have their axes
normalised to it and lobulated nodules are scaled by exact quadrature. So the
truth volume is analytic, and measured volumes can be checked against it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from ai.phantoms.chest_anatomy import SIDE_SIGN, ChestAnatomy, Side
from ai.phantoms.grid import AxialGrid
from ai.phantoms.partial_volume import (
    Ellipsoid,
    LobulatedSphere,
    fibonacci_sphere,
    paint,
    render_solid,
)
from ai.phantoms.vessel_tree import Branch, segment_distances

NoduleType = Literal["solid", "ground-glass", "part-solid"]
NoduleShape = Literal["sphere", "ellipsoid", "lobulated"]

SOLID_HU = 40.0
GROUND_GLASS_HU = -600.0
NODULE_TYPES: tuple[NoduleType, ...] = ("solid", "ground-glass", "part-solid")

#: Free lung kept around a nodule that is not juxtapleural (at least; thick slices need more,
#: so the nodule's partial-volume blur stays clear of the pleura too).
PLEURA_CLEARANCE_MM = 3.0
#: Gap between two nodules' bounding spheres.
NODULE_GAP_MM = 8.0
#: Vessels at least this thick (mm, times the anatomy scale) keep out of nodules.
LARGE_VESSEL_RADIUS_MM = 1.5


@dataclass(frozen=True)
class NoduleSpec:
    """What nodule to draw. Unset position: placed at random in a lung (seeded)."""

    type: NoduleType = "solid"
    diameter_mm: float = 8.0  # volume-equivalent sphere diameter
    #: Part-solid only (default half the diameter); 0 for ground-glass, = diameter for solid.
    solid_core_diameter_mm: float | None = None
    center_lps_mm: tuple[float, float, float] | None = None
    side: Side | None = None
    juxtapleural: bool = False
    shape: NoduleShape = "sphere"
    #: Ellipsoid principal-diameter ratios (in-plane long, in-plane short, z), volume-normalised.
    axis_ratios: tuple[float, float, float] = (1.3, 1.0, 0.8)
    #: Lobulated bump amplitude (fraction of the radius).
    lobulation: float = 0.3

    def __post_init__(self) -> None:
        if self.type not in NODULE_TYPES:
            raise ValueError(f"unknown nodule type {self.type!r}")
        if self.diameter_mm <= 0:
            raise ValueError("a nodule needs a positive diameter")

    def core_diameter(self, diameter_mm: float) -> float:
        if self.type == "solid":
            return diameter_mm
        if self.type == "ground-glass":
            return 0.0
        core = self.solid_core_diameter_mm
        fraction = 0.5 if core is None else core / self.diameter_mm
        return fraction * diameter_mm


@dataclass(frozen=True)
class NoduleTruth:
    """Ground truth of one rendered nodule (noise-free values)."""

    id: int  # its value in ``nodule_labels``
    type: NoduleType
    shape: NoduleShape
    center_lps_mm: tuple[float, float, float]
    diameter_mm: float  # volume-equivalent diameter
    axes_mm: tuple[float, float, float]  # principal diameters (in-plane long, short, z)
    long_axis_mm: float  # longest in-plane diameter through the centre (axial)
    short_axis_mm: float  # in-plane diameter perpendicular to it
    solid_core_diameter_mm: float
    volume_mm3: float
    solid_volume_mm3: float
    mean_hu: float
    juxtapleural: bool
    side: Side
    bounding_radius_mm: float  # the nodule lies within this distance of its centre


@dataclass(frozen=True)
class PlacedNodule:
    """A nodule's truth and the solids that draw it."""

    truth: NoduleTruth
    outer: Ellipsoid | LobulatedSphere
    core: Ellipsoid | None
    outer_hu: float


def default_nodule_specs(
    rng: np.random.Generator, max_diameter_mm: float = 25.0
) -> list[NoduleSpec]:
    """5-8 nodules, 4-25 mm, every type present, at least one juxtapleural."""
    count = int(rng.integers(5, 9))
    extra = rng.choice(len(NODULE_TYPES), size=count - 3, p=[0.5, 0.25, 0.25])
    types = [*NODULE_TYPES, *(NODULE_TYPES[i] for i in extra)]
    rng.shuffle(types)
    shapes: tuple[NoduleShape, ...] = ("sphere", "ellipsoid", "lobulated")
    specs = []
    for kind in types:
        low = {"solid": 4.0, "ground-glass": 6.0, "part-solid": 8.0}[kind]
        high = max(low + 1.0, max_diameter_mm)
        diameter = float(np.exp(rng.uniform(np.log(low), np.log(high))))
        core = round(diameter * rng.uniform(0.3, 0.6), 1) if kind == "part-solid" else None
        first_solid = kind == "solid" and not any(s.juxtapleural for s in specs)
        specs.append(
            NoduleSpec(
                type=kind,
                diameter_mm=round(diameter, 1),
                solid_core_diameter_mm=core,
                juxtapleural=first_solid or (kind == "solid" and rng.random() < 0.25),
                shape=shapes[int(rng.choice(3, p=[0.5, 0.3, 0.2]))],
                axis_ratios=(float(rng.uniform(1.1, 1.4)), 1.0, float(rng.uniform(0.75, 0.95))),
                lobulation=float(rng.uniform(0.25, 0.35)),
            )
        )
    return specs


def _make_solid(
    spec: NoduleSpec, diameter: float, center: np.ndarray, rng: np.random.Generator
) -> Ellipsoid | LobulatedSphere:
    """A nodule's shape at ``center``, with a random orientation."""
    r = diameter / 2.0
    if spec.shape == "lobulated":
        directions = fibonacci_sphere(6) @ _random_rotation(rng).T
        weights = rng.uniform(0.5, 1.0, 6)
        unit = LobulatedSphere(np.zeros(3), 1.0, spec.lobulation, directions, weights)
        r0 = (np.pi / 6.0 * diameter**3 / unit.volume_mm3()) ** (1.0 / 3.0)
        return LobulatedSphere(center, r0, spec.lobulation, directions, weights)
    if spec.shape == "ellipsoid":
        ratios = np.asarray(spec.axis_ratios, dtype=float)
        semi = r * ratios / np.prod(ratios) ** (1.0 / 3.0)
    else:
        semi = np.full(3, r)
    angle = rng.uniform(0.0, np.pi)
    cos, sin = np.cos(angle), np.sin(angle)
    rotation = np.array([[cos, -sin, 0.0], [sin, cos, 0.0], [0.0, 0.0, 1.0]])
    return Ellipsoid(center, semi, rotation)


def _axes(
    solid: Ellipsoid | LobulatedSphere, diameter: float
) -> tuple[tuple[float, float, float], float, float]:
    """Principal diameters and the axial long / perpendicular short axis."""
    if isinstance(solid, LobulatedSphere):
        angles = np.linspace(0.0, np.pi, 360, endpoint=False)
        ring = np.stack([np.cos(angles), np.sin(angles), np.zeros_like(angles)], axis=1)
        diameters = solid.radius(ring) + solid.radius(-ring)
        longest = int(np.argmax(diameters))
        short = float(diameters[(longest + 180) % 360])
        return (diameter, diameter, diameter), float(diameters[longest]), short
    d = 2.0 * solid.semi_axes  # in-plane principal axes first, z last (rotation is about z)
    long_axis, short_axis = float(max(d[:2])), float(min(d[:2]))
    return (long_axis, short_axis, float(d[2])), long_axis, short_axis


def _random_rotation(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    return q * np.sign(np.diag(r))


def _surface_points(solid: Ellipsoid | LobulatedSphere, count: int = 300) -> np.ndarray:
    directions = fibonacci_sphere(count)
    if isinstance(solid, LobulatedSphere):
        return solid.center + solid.radius(directions)[:, None] * directions
    return solid.center + (directions * solid.semi_axes) @ solid.rotation.T


def _bounding_radius(solid: Ellipsoid | LobulatedSphere) -> float:
    if isinstance(solid, LobulatedSphere):
        return solid.radius_bound()
    return float(solid.semi_axes.max())


class _Placer:
    """Finds free positions for nodules that meet the anatomical constraints."""

    def __init__(
        self,
        anatomy: ChestAnatomy,
        grid: AxialGrid,
        rng: np.random.Generator,
        vessels: list[Branch],
    ) -> None:
        self.anatomy = anatomy
        self.rng = rng
        self.z_limits = (grid.axis_mm(2)[0], grid.axis_mm(2)[-1])
        self.clearance = max(PLEURA_CLEARANCE_MM, 0.5 * max(grid.spacing) + 1.0)
        threshold = LARGE_VESSEL_RADIUS_MM * anatomy.scale
        self.large_vessels = [b for b in vessels if b.tube.r_start >= threshold]
        self.taken: list[tuple[np.ndarray, float]] = []

    def place(self, spec: NoduleSpec) -> tuple[Ellipsoid | LobulatedSphere, float, Side]:
        diameter = spec.diameter_mm
        for attempt in range(600):
            if attempt and attempt % 150 == 0:
                diameter *= 0.85  # the lung is crowded or small: try a smaller nodule
            side: Side = spec.side or ("right", "left")[int(self.rng.integers(2))]
            solid = self._candidate(spec, diameter, side)
            if solid is not None and self._fits(solid, side, spec.juxtapleural):
                self.taken.append((solid.center, _bounding_radius(solid)))
                return solid, diameter, side
        raise ValueError(f"could not place a {spec.diameter_mm} mm nodule in the lungs")

    def _candidate(
        self, spec: NoduleSpec, diameter: float, side: Side
    ) -> Ellipsoid | LobulatedSphere | None:
        inset = 1.0 if spec.juxtapleural else diameter / 2.0 + self.clearance
        try:
            point = self.anatomy.lung_points(self.rng, side, 1, inset)[0]
        except ValueError:
            return None
        solid = _make_solid(spec, diameter, point, self.rng)
        if not spec.juxtapleural:
            return solid
        # move the nodule out along the costal normal until it bulges into the wall
        lung = self.anatomy.lungs[side]
        g = float(lung.apex_scale(point[2]))
        a, b = lung.semi_xy[0] * g, lung.semi_xy[1] * g
        rel = point[:2] - np.asarray(lung.center_xy)
        q = np.hypot(rel[0] / a, rel[1] / b)
        surface = np.asarray(lung.center_xy) + rel / max(q, 1e-6)
        normal = np.array(
            [(surface[0] - lung.center_xy[0]) / a**2, (surface[1] - lung.center_xy[1]) / b**2, 0.0]
        )
        normal /= np.linalg.norm(normal)
        offsets = _surface_points(solid) - solid.center
        reach = float((offsets @ normal).max())
        overlap = 1.0 + 0.05 * diameter
        center = np.array([surface[0], surface[1], point[2]]) - normal * (reach - overlap)
        return replace(solid, center=center)

    def _fits(self, solid: Ellipsoid | LobulatedSphere, side: Side, juxtapleural: bool) -> bool:
        radius = _bounding_radius(solid)
        # a free nodule keeps its whole bounding sphere clear; a juxtapleural one its surface
        surface = _surface_points(solid)
        if not juxtapleural:
            surface = solid.center + radius * fibonacci_sphere(300)
        if surface[:, 2].min() < self.z_limits[0] or surface[:, 2].max() > self.z_limits[1]:
            return False
        for center, other in self.taken:
            if np.linalg.norm(center - solid.center) < radius + other + NODULE_GAP_MM:
                return False
        if self.large_vessels:
            gaps = segment_distances(solid.center[None], self.large_vessels)
            if gaps.min() < radius + 1.0:
                return False
        x, y, z = (surface[:, i].astype(np.float32) for i in range(3))
        outline, dome, carve = self.anatomy.lung_parts(side, x, y, z)
        inner = np.maximum(dome, -carve)
        if not juxtapleural:
            return bool(np.maximum(outline, inner).max() < -self.clearance)
        # touches the costal pleura only: bulges into the chest wall, clear of dome and mediastinum
        return bool(0.3 < outline.max() < 4.0 and inner.max() < -self.clearance)


def place_nodules(
    specs: list[NoduleSpec],
    anatomy: ChestAnatomy,
    grid: AxialGrid,
    rng: np.random.Generator,
    vessels: list[Branch],
) -> list[PlacedNodule]:
    """Position and shape every nodule; ids are 1-based in spec order."""
    placer = _Placer(anatomy, grid, rng, vessels)
    order = sorted(range(len(specs)), key=lambda i: -specs[i].diameter_mm)  # big ones first
    results: dict[int, PlacedNodule] = {}
    for index in order:
        spec = specs[index]
        if spec.center_lps_mm is not None:
            center = np.asarray(spec.center_lps_mm, dtype=float)
            solid = _make_solid(spec, spec.diameter_mm, center, rng)
            diameter = spec.diameter_mm
            side = spec.side or ("left" if center[0] * SIDE_SIGN["left"] > 0 else "right")
            placer.taken.append((center, _bounding_radius(solid)))
        else:
            solid, diameter, side = placer.place(spec)
        results[index] = _finish(index + 1, spec, solid, diameter, side)
    return [results[i] for i in range(len(specs))]


def _finish(
    nodule_id: int,
    spec: NoduleSpec,
    solid: Ellipsoid | LobulatedSphere,
    diameter: float,
    side: Side,
) -> PlacedNodule:
    """The truth of a placed nodule and what to paint for it."""
    axes, long_axis, short_axis = _axes(solid, diameter)
    core_d = spec.core_diameter(diameter)
    if spec.type == "part-solid":  # the solid core must stay inside the ground glass
        inner = 2.0 * np.linalg.norm(_surface_points(solid) - solid.center, axis=1).min()
        core_d = min(core_d, 0.8 * inner)
    volume = np.pi / 6.0 * diameter**3
    core_volume = np.pi / 6.0 * core_d**3
    outer_hu = SOLID_HU if spec.type == "solid" else GROUND_GLASS_HU
    mean_hu = (core_volume * SOLID_HU + (volume - core_volume) * outer_hu) / volume
    core = None
    if spec.type == "part-solid":
        core = Ellipsoid(solid.center, np.full(3, core_d / 2.0), np.eye(3))
    truth = NoduleTruth(
        id=nodule_id,
        type=spec.type,
        shape=spec.shape,
        center_lps_mm=(float(solid.center[0]), float(solid.center[1]), float(solid.center[2])),
        diameter_mm=float(diameter),
        axes_mm=axes,
        long_axis_mm=long_axis,
        short_axis_mm=short_axis,
        solid_core_diameter_mm=float(core_d),
        volume_mm3=float(volume),
        solid_volume_mm3=float(core_volume),
        mean_hu=float(mean_hu),
        juxtapleural=spec.juxtapleural,
        side=side,
        bounding_radius_mm=_bounding_radius(solid),
    )
    return PlacedNodule(truth, solid, core, outer_hu)


def render_nodules(
    hu: np.ndarray, labels: np.ndarray, grid: AxialGrid, placed: list[PlacedNodule]
) -> None:
    """Paint nodules (ground glass, then any solid core) and label them in place."""
    for nodule in placed:
        rendered = render_solid(grid, nodule.outer)
        if rendered is None:
            continue
        box, fraction = rendered
        paint(hu[box], fraction, nodule.outer_hu)
        labels[box][fraction >= 0.5] = nodule.truth.id
        if nodule.core is not None:
            core = render_solid(grid, nodule.core)
            if core is not None:
                paint(hu[core[0]], core[1], SOLID_HU)
