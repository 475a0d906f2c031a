"""Display presets as plain data: window/level for slices, transfer functions for 3D.

Kept Qt- and VTK-free so the CLI (screenshots), the UI (menus, number keys) and
the viewers share one table, and so a preset can be reviewed as numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Window/level presets in HU, ``name -> (width, level)``.
WINDOW_PRESETS: dict[str, tuple[float, float]] = {
    "lung": (1500.0, -600.0),
    "mediastinum": (350.0, 50.0),
    "bone": (2000.0, 500.0),
    "brain": (80.0, 40.0),
    # A narrow window makes the few HU of early ischaemia (grey/white blurring) visible.
    "stroke": (40.0, 40.0),
    "soft tissue": (400.0, 40.0),
}

#: Number keys that apply a window preset in a slice view, ``"1"`` .. ``"6"``.
WINDOW_PRESET_KEYS: dict[str, str] = {
    str(number): name for number, name in enumerate(WINDOW_PRESETS, start=1)
}


@dataclass(frozen=True)
class VolumePreset:
    """A volume-rendering transfer function.

    ``colour_points`` are ``(value, r, g, b)`` with colours in 0..1, ``opacity_points``
    are ``(value, opacity)``; values are HU unless ``relative``. ``blend`` is ``"composite"``
    (shaded, opacity-weighted) or ``"mip"`` (maximum intensity projection).
    """

    name: str
    colour_points: tuple[tuple[float, float, float, float], ...]
    opacity_points: tuple[tuple[float, float], ...]
    blend: str = "composite"
    shade: bool = True
    ambient: float = 0.2
    diffuse: float = 0.9
    specular: float = 0.2
    #: Values are fractions of the volume's value range (0 = minimum, 1 = maximum), so
    #: the preset suits any modality; otherwise they are absolute (HU).
    relative: bool = False


VOLUME_PRESETS: dict[str, VolumePreset] = {
    preset.name: preset
    for preset in (
        VolumePreset(
            "CT bone",
            colour_points=(
                (-1000.0, 0.0, 0.0, 0.0),
                (150.0, 0.55, 0.25, 0.15),
                (300.0, 0.88, 0.60, 0.29),
                (1000.0, 1.0, 0.94, 0.85),
                (3000.0, 1.0, 1.0, 1.0),
            ),
            opacity_points=((-1000.0, 0.0), (150.0, 0.0), (300.0, 0.6), (3000.0, 0.9)),
        ),
        VolumePreset(
            "CT lung",
            colour_points=(
                (-1000.0, 0.3, 0.3, 1.0),
                (-600.0, 0.85, 0.55, 0.45),
                (-400.0, 0.9, 0.7, 0.6),
                (100.0, 1.0, 0.95, 0.9),
                (3000.0, 1.0, 1.0, 1.0),
            ),
            # Air inside the lungs transparent, parenchyma and vessels faint, walls bright.
            opacity_points=(
                (-1000.0, 0.0),
                (-900.0, 0.0),
                (-700.0, 0.08),
                (-500.0, 0.15),
                (-200.0, 0.0),
                (100.0, 0.1),
                (3000.0, 0.4),
            ),
        ),
        VolumePreset(
            "CT soft tissue",
            colour_points=(
                (-1000.0, 0.0, 0.0, 0.0),
                (-100.0, 0.73, 0.25, 0.30),
                (40.0, 0.90, 0.50, 0.40),
                (200.0, 1.0, 0.88, 0.77),
                (3000.0, 1.0, 1.0, 1.0),
            ),
            opacity_points=(
                (-1000.0, 0.0),
                (-150.0, 0.0),
                (0.0, 0.15),
                (200.0, 0.5),
                (3000.0, 0.8),
            ),
        ),
        VolumePreset(
            "MIP",
            colour_points=((0.0, 0.0, 0.0, 0.0), (1.0, 1.0, 1.0, 1.0)),
            opacity_points=((0.0, 0.0), (1.0, 1.0)),
            blend="mip",
            shade=False,
            relative=True,
        ),
    )
}
