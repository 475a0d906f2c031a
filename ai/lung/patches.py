"""Cubic patches around candidates, resampled to a fixed size for the network.

A patch spans ``max(min_fov_mm, fov_per_radius × radius)`` millimetres on every axis,
whatever the voxel spacing: a 4 mm nodule on 0.6 mm or 8 mm slices and a 5 cm mass
all reach the network as the same kind of picture (trilinear resampling on the
device with ``grid_sample``). Training and inference share this one function, so
the network always sees what it was trained on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class PatchSpec:
    """How patches are cut and scaled; a bundle declares its own in ``inference.json``."""

    size: int = 32
    min_fov_mm: float = 32.0
    fov_per_radius: float = 5.0
    hu_window: tuple[float, float] = (-1000.0, 400.0)

    def fov_mm(self, radius_mm: np.ndarray) -> np.ndarray:
        return np.maximum(self.min_fov_mm, self.fov_per_radius * np.asarray(radius_mm, float))

    def to_json(self) -> dict[str, Any]:
        return {
            "patch_size": self.size,
            "patch_min_fov_mm": self.min_fov_mm,
            "patch_fov_per_radius": self.fov_per_radius,
            "hu_window": list(self.hu_window),
        }

    @classmethod
    def from_json(cls, values: dict[str, Any]) -> PatchSpec:
        """Read the keys :meth:`to_json` writes; KeyError/ValueError if one is missing or bad."""
        low, high = (float(v) for v in values["hu_window"])
        spec = cls(
            int(values["patch_size"]),
            float(values["patch_min_fov_mm"]),
            float(values["patch_fov_per_radius"]),
            (low, high),
        )
        if spec.size < 4 or spec.min_fov_mm <= 0 or spec.fov_per_radius <= 0 or high <= low:
            raise ValueError(f"patch settings out of range: {spec}")
        return spec


def volume_tensor(voxels: np.ndarray, device: torch.device) -> torch.Tensor:
    """The HU volume as a (1, 1, z, y, x) float tensor on ``device``, once per scan."""
    import torch

    return torch.from_numpy(np.ascontiguousarray(voxels)).to(device).float()[None, None]


def sample_patches(
    volume: torch.Tensor,
    spacing: tuple[float, float, float],
    centers_zyx: np.ndarray,
    fovs_mm: np.ndarray,
    spec: PatchSpec,
) -> torch.Tensor:
    """Patches (n, 1, s, s, s) in [0, 1] (HU window) centred on native (z, y, x) indices."""
    import torch
    import torch.nn.functional as F

    device = volume.device
    s = spec.size
    shape_zyx = torch.tensor(volume.shape[2:], dtype=torch.float32, device=device)
    step = torch.tensor([spacing[2], spacing[1], spacing[0]], dtype=torch.float32, device=device)
    offsets = (torch.arange(s, dtype=torch.float32, device=device) - (s - 1) / 2.0) / s
    centres = torch.as_tensor(np.asarray(centers_zyx, np.float32), device=device)
    fovs = torch.as_tensor(np.asarray(fovs_mm, np.float32), device=device)
    # voxel index of every sample along each axis: (n, s) per axis
    index = centres[:, None, :] + offsets[None, :, None] * fovs[:, None, None] / step
    normalised = 2.0 * index / (shape_zyx - 1).clamp(min=1) - 1.0  # (n, s, 3) in z, y, x
    z, y, x = normalised[..., 0], normalised[..., 1], normalised[..., 2]
    n = len(centres)
    grid = torch.stack(
        [
            x[:, None, None, :].expand(n, s, s, s),
            y[:, None, :, None].expand(n, s, s, s),
            z[:, :, None, None].expand(n, s, s, s),
        ],
        dim=-1,
    )
    patches = F.grid_sample(
        volume.expand(n, -1, -1, -1, -1),
        grid,
        mode="bilinear",
        padding_mode="border",
        align_corners=True,
    )
    low, high = spec.hu_window
    return ((patches - low) / (high - low)).clamp_(0.0, 1.0)
