"""Indicator-dilution tracer kinetics for perfusion phantoms.

Units used throughout:

* CBF in ml blood / 100 g tissue / min, CBV in ml / 100 g, MTT and delays in s;
* concentrations in whatever unit the arterial input carries (HU enhancement
  for CT, mM for MR) — tissue curves come out in the same unit per ml tissue.

The tissue curve is the standard convolution model

    C(t) = (rho / kH) * CBF * (Ca ⊛ R)(t - delay),

with tissue density rho = 1.04 g/ml and kH = 0.73 the large-to-small vessel
haematocrit correction. R is the residue function (R(0) = 1, ∫R = MTT), so
∫C = (rho / kH) * CBV * ∫Ca and the Central Volume Theorem CBV = CBF * MTT
holds by construction. The convolution runs on a fine time grid and is then
sampled at the frame times, so it is right for any frame interval.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

RHO_G_PER_ML = 1.04
K_H = 0.73
#: Time step of the fine grid the curves are computed on.
FINE_DT_S = 0.05

ResidueShape = Literal["exponential", "box", "linear"]


def fine_time_grid(last_time_s: float) -> np.ndarray:
    """0, dt, 2 dt, ... up to and including ``last_time_s``."""
    return np.arange(0.0, last_time_s + 2 * FINE_DT_S, FINE_DT_S)


def gamma_variate(
    t: np.ndarray, arrival_s: float, alpha: float, beta_s: float, peak: float
) -> np.ndarray:
    """First-pass bolus (t - t0)^alpha exp(-(t - t0) / beta), peaking at t0 + alpha beta."""
    tau = np.clip(np.asarray(t, dtype=float) - arrival_s, 0.0, None)
    tmax = alpha * beta_s
    shape = (tau / tmax) ** alpha * np.exp(alpha - tau / beta_s)
    return peak * shape


def residue(t: np.ndarray, mtt_s: float, shape: ResidueShape) -> np.ndarray:
    """Fraction of tracer still in the tissue t s after a unit impulse; ∫R dt = MTT."""
    t = np.asarray(t, dtype=float)
    if shape == "exponential":
        return np.exp(-t / mtt_s)
    if shape == "box":
        return (t < mtt_s).astype(float)
    if shape == "linear":
        return np.clip(1.0 - t / (2.0 * mtt_s), 0.0, 1.0)
    raise ValueError(f"unknown residue shape {shape!r}")


def convolve(t: np.ndarray, signal: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """∫_0^t signal(tau) kernel(t - tau) dtau on the fine grid, trapezoid rule."""
    dt = t[1] - t[0]
    full = np.convolve(signal, kernel)[: len(t)] * dt
    # trapezoid: halve the two end samples of every integral
    return full - 0.5 * dt * (signal[0] * kernel[: len(t)] + signal * kernel[0])


def delayed(t: np.ndarray, curve: np.ndarray, delay_s: float) -> np.ndarray:
    """``curve`` shifted later by ``delay_s`` (zero before), by linear interpolation."""
    return np.interp(t - delay_s, t, curve, left=0.0)


def tissue_curve(
    t: np.ndarray,
    arterial: np.ndarray,
    cbf: float,
    cbv: float,
    delay_s: float,
    shape: ResidueShape = "exponential",
) -> np.ndarray:
    """Tissue concentration for CBF (ml/100 g/min), CBV (ml/100 g) and delay (s)."""
    if cbf <= 0 or cbv <= 0:
        return np.zeros_like(t)
    mtt = 60.0 * cbv / cbf
    flow_per_s = cbf / 6000.0  # ml / g / s
    undelayed = (RHO_G_PER_ML / K_H) * flow_per_s * convolve(t, arterial, residue(t, mtt, shape))
    return delayed(t, undelayed, delay_s)


def venous_curve(
    t: np.ndarray,
    arterial: np.ndarray,
    delay_s: float,
    dispersion_s: float,
    area_ratio: float = 1.0,
) -> np.ndarray:
    """Outflow: the arterial curve delayed, dispersed by an exponential transit kernel.

    Tracer is conserved, so the venous area equals the arterial area
    (``area_ratio`` 1): later, lower and broader, but no tracer lost.
    """
    kernel = np.exp(-t / dispersion_s) / dispersion_s
    return area_ratio * delayed(t, convolve(t, arterial, kernel), delay_s)


def sample(t: np.ndarray, curve: np.ndarray, times_s: np.ndarray) -> np.ndarray:
    """Values of a fine-grid curve at the frame times."""
    return np.interp(times_s, t, curve)
