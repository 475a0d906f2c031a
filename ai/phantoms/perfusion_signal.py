"""Turning tracer concentration into scanner values: CT HU or MR DSC signal, with noise.

Shared by the perfusion phantoms so that the head and the validation grid are
rendered, and made noisy, the same way. Noise comes from its own random stream
(``noise_rng``), so changing the noise level never changes the anatomy.
"""

from __future__ import annotations

import numpy as np


def noise_rng(seed: int) -> np.random.Generator:
    """The noise stream of a phantom seed (the anatomy uses the other spawned stream)."""
    return np.random.default_rng(np.random.SeedSequence(seed).spawn(2)[1])


def anatomy_rng(seed: int) -> np.random.Generator:
    """The anatomy stream of a phantom seed."""
    return np.random.default_rng(np.random.SeedSequence(seed).spawn(2)[0])


def lookup(table: dict[int, float], classes: np.ndarray) -> np.ndarray:
    """Per-voxel float32 values of a class -> value table."""
    values = np.zeros(max(table) + 1, dtype=np.float32)
    for key, value in table.items():
        values[key] = value
    return values[classes]


def ct_voxels(hu: np.ndarray, noise_hu: float, rng: np.random.Generator) -> np.ndarray:
    """int16 HU with additive Gaussian noise of ``noise_hu`` (``hu`` is modified in place)."""
    if noise_hu > 0:
        hu += np.float32(noise_hu) * rng.standard_normal(hu.shape, dtype=np.float32)
    return np.clip(np.rint(hu), -32768, 32767).astype(np.int16)


def mr_voxels(signal: np.ndarray, noise_sd: float, rng: np.random.Generator) -> np.ndarray:
    """int16 magnitude signal with Rician noise of ``noise_sd`` (as a magnitude image has)."""
    if noise_sd > 0:
        real = signal + np.float32(noise_sd) * rng.standard_normal(signal.shape, dtype=np.float32)
        imaginary = np.float32(noise_sd) * rng.standard_normal(signal.shape, dtype=np.float32)
        signal = np.sqrt(real * real + imaginary * imaginary)
    return np.clip(np.rint(signal), 0, 32767).astype(np.int16)


def dsc_attenuation(
    concentration: np.ndarray, echo_time_ms: float, relaxivity_per_s_per_mmol_l: float
) -> np.ndarray:
    """S / S0 = exp(-TE k C) of a gradient-echo DSC acquisition, float32."""
    te_k = np.float32(echo_time_ms / 1000.0 * relaxivity_per_s_per_mmol_l)
    return np.exp(-te_k * np.asarray(concentration, dtype=np.float32))
