"""Synthetic CT perfusion (and MR DSC) stroke studies with known perfusion maps.

The head has a left-hemisphere MCA infarct: a core (CBF 6 % of normal, CBV
40 %, Tmax 14 s), a severely hypoperfused rim (CBF 45 %, CBV 110 %, Tmax 12 s)
and a milder penumbra (CBF 70 %, CBV 100 %, Tmax 8 s); normal grey and white
matter have Tmax 0.5 s and 1 s. Every class is at least 2 s away from the
usual 6 s and 10 s Tmax thresholds. White matter is about 85 % of the normal
tissue, so the usual core reference (median CBF of tissue with Tmax < 4 s) is
white matter's 25 ml/100 g/min: the core (grey 3.6, white 1.5) is at most
15 % of it and every other class at least 45 %, far from the rCBF < 30 % core
threshold, so a correct algorithm reproduces the truth volumes. Tmax is the
delay: every residue function used peaks at 0.

Units: CBF ml/100 g/min, CBV ml/100 g, MTT and Tmax s, volumes ml; curves in
HU enhancement (CT) or mM (MR). See ``kinetics`` for the tracer model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ai.phantoms import kinetics
from ai.phantoms.grid import AxialGrid
from ai.phantoms.head_anatomy import (
    AIR,
    CORE,
    CSF,
    GREY,
    MILD,
    NORMAL,
    SCALP,
    SEVERE,
    SKULL,
    WHITE,
    HeadModel,
    build_head,
)
from ai.phantoms.perfusion_signal import (
    anatomy_rng,
    ct_voxels,
    dsc_attenuation,
    lookup,
    mr_voxels,
    noise_rng,
)
from workstation.model.volume import Volume

#: (CBF ml/100 g/min, CBV ml/100 g, Tmax s) of healthy tissue.
NORMAL_PERFUSION = {GREY: (60.0, 4.0, 0.5), WHITE: (25.0, 2.0, 1.0)}
#: Ischaemic zone -> (CBF factor, CBV factor, Tmax s).
ZONE_PERFUSION = {MILD: (0.7, 1.0, 8.0), SEVERE: (0.45, 1.1, 12.0), CORE: (0.06, 0.4, 14.0)}

#: Baseline (unenhanced) HU per tissue class; blood is 40 HU.
TISSUE_HU = {AIR: -1000.0, SCALP: 20.0, SKULL: 1000.0, CSF: 5.0, GREY: 40.0, WHITE: 30.0}
BLOOD_HU = 40.0
#: Baseline MR (T2*-weighted EPI) signal per class, arbitrary units.
TISSUE_S0 = {AIR: 0.0, SCALP: 350.0, SKULL: 30.0, CSF: 900.0, GREY: 600.0, WHITE: 480.0}
BLOOD_S0 = 300.0

AIF_ALPHA = 3.0
AIF_BETA_S = 1.5
VOF_DELAY_S = 4.0
VOF_DISPERSION_S = 3.0


@dataclass
class PerfusionPhantom:
    """A 4D perfusion study and its ground truth (maps are 0 outside parenchyma)."""

    volume: Volume  # 4D int16, frame_times in s
    cbf: np.ndarray  # float32 ml/100 g/min
    cbv: np.ndarray  # float32 ml/100 g
    mtt: np.ndarray  # float32 s
    tmax: np.ndarray  # float32 s (= arrival delay)
    brain_mask: np.ndarray  # intracranial: parenchyma + CSF + intracranial vessels
    parenchyma_mask: np.ndarray  # grey + white matter, no vessels: where the maps are defined
    csf_mask: np.ndarray
    vessel_mask: np.ndarray  # any voxel touched by an artery or the sinus
    core_mask: np.ndarray
    penumbra_mask: np.ndarray  # Tmax > 6 s minus core
    tmax_gt6_mask: np.ndarray
    tmax_gt10_mask: np.ndarray
    core_ml: float
    penumbra_ml: float
    hypoperfusion_ml: float  # Tmax > 6 s
    tmax_gt10_ml: float
    #: Arterial concentration per frame (curve_unit): the input every tissue curve is made
    #: from, found undiluted in the centre voxel of the right ICA (``aif_index_zyx``).
    aif_curve: np.ndarray
    #: Venous concentration per frame in the sagittal sinus: later, lower and broader, with
    #: the AIF's area (tracer is conserved), so larger than any partial-volume artery curve.
    vof_curve: np.ndarray
    aif_index_zyx: tuple[int, int, int]
    vof_index_zyx: tuple[int, int, int]
    aif_lps_mm: tuple[float, float, float]
    vof_lps_mm: tuple[float, float, float]
    curve_unit: str  # "HU" (CT enhancement) or "mM" (MR)
    baseline_frames: int  # frames before the bolus arrives
    seed: int
    constants: dict[str, float | str] = field(default_factory=dict)

    @property
    def frame_times(self) -> np.ndarray:
        return np.asarray(self.volume.frame_times)


@dataclass
class _Simulation:
    """Noise-free tissue concentrations and truth shared by the CT and MR renderings."""

    grid: AxialGrid
    head: HeadModel
    frame_times: np.ndarray
    tissue_concentration: np.ndarray  # (t, z, y, x) float32, parenchyma only
    aif: np.ndarray
    vof: np.ndarray
    maps: dict[str, np.ndarray]
    constants: dict[str, float | str]


def make_ctp_head(
    seed: int = 0,
    shape: tuple[int, int, int] = (16, 128, 128),
    spacing: tuple[float, float, float] = (1.6, 1.6, 5.0),
    n_frames: int = 40,
    frame_interval_s: float = 1.6,
    noise_hu: float = 5.0,
    residue: kinetics.ResidueShape = "exponential",
    aif_peak_hu: float = 400.0,
    bolus_arrival_s: float = 6.0,
    infarct: bool = True,
) -> PerfusionPhantom:
    """A CT perfusion study: int16 HU frames every ``frame_interval_s`` from t = 0."""
    sim = _simulate(
        seed,
        AxialGrid(shape, spacing),
        frame_times=np.arange(n_frames) * float(frame_interval_s),
        residue=residue,
        aif_peak=aif_peak_hu,
        bolus_arrival_s=bolus_arrival_s,
        infarct=infarct,
    )
    head = sim.head
    share = head.tissue_share
    hu = sim.tissue_concentration * share
    hu += head.artery_fraction * sim.aif.astype(np.float32)[:, None, None, None]
    hu += head.sinus_fraction * sim.vof.astype(np.float32)[:, None, None, None]
    hu += lookup(TISSUE_HU, head.tissue) * share + np.float32(BLOOD_HU) * (1 - share)
    voxels = ct_voxels(hu, noise_hu, noise_rng(seed))
    volume = sim.grid.volume(
        voxels,
        "CT",
        frame_times=sim.frame_times,
        attributes={
            "SeriesDescription": f"Halong synthetic CT perfusion phantom (seed {seed})",
            "BodyPartExamined": "HEAD",
            "ContrastBolusAgent": "iodinated contrast",
        },
    )
    return _phantom(sim, volume, "HU", seed)


def make_mr_dsc_head(
    seed: int = 0,
    shape: tuple[int, int, int] = (16, 128, 128),
    spacing: tuple[float, float, float] = (1.6, 1.6, 5.0),
    n_frames: int = 50,
    frame_interval_s: float = 1.5,
    noise_sd: float = 5.0,
    echo_time_ms: float = 30.0,
    relaxivity_per_s_per_mmol_l: float = 40.0,
    aif_peak_mmol_l: float = 6.0,
    residue: kinetics.ResidueShape = "exponential",
    bolus_arrival_s: float = 8.0,
    infarct: bool = True,
) -> PerfusionPhantom:
    """The same head as a gradient-echo DSC series: S = S0 exp(-TE k C).

    k (``relaxivity_per_s_per_mmol_l``) turns concentration (mM) into ΔR2*
    (1/s). Vessel voxels with partial volume mix signals, not concentrations;
    arteries saturate as in real DSC. Rician noise of ``noise_sd``.
    """
    sim = _simulate(
        seed,
        AxialGrid(shape, spacing),
        frame_times=np.arange(n_frames) * float(frame_interval_s),
        residue=residue,
        aif_peak=aif_peak_mmol_l,
        bolus_arrival_s=bolus_arrival_s,
        infarct=infarct,
    )
    head = sim.head
    k = relaxivity_per_s_per_mmol_l
    s0 = lookup(TISSUE_S0, head.tissue)
    signal = s0 * head.tissue_share * dsc_attenuation(sim.tissue_concentration, echo_time_ms, k)
    for fraction, curve in ((head.artery_fraction, sim.aif), (head.sinus_fraction, sim.vof)):
        decay = dsc_attenuation(curve, echo_time_ms, k)[:, None, None, None]
        signal += np.float32(BLOOD_S0) * fraction * decay
    voxels = mr_voxels(signal, noise_sd, noise_rng(seed))
    volume = sim.grid.volume(
        voxels,
        "MR",
        frame_times=sim.frame_times,
        attributes={
            "SeriesDescription": f"Halong synthetic DSC perfusion phantom (seed {seed})",
            "BodyPartExamined": "HEAD",
            "EchoTime": float(echo_time_ms),
            "ContrastBolusAgent": "gadolinium",
        },
    )
    sim.constants.update(
        echo_time_ms=echo_time_ms, relaxivity_per_s_per_mmol_l=relaxivity_per_s_per_mmol_l
    )
    return _phantom(sim, volume, "mM", seed)


def _simulate(
    seed: int,
    grid: AxialGrid,
    *,
    frame_times: np.ndarray,
    residue: kinetics.ResidueShape,
    aif_peak: float,
    bolus_arrival_s: float,
    infarct: bool,
) -> _Simulation:
    """Anatomy, truth maps and noise-free concentration curves of every voxel."""
    n_frames = len(frame_times)
    if n_frames < 2 or frame_times[1] <= frame_times[0]:
        raise ValueError("a perfusion series needs at least two frames and a positive interval")
    head = build_head(grid, anatomy_rng(seed), infarct)
    t = kinetics.fine_time_grid(frame_times[-1])
    arterial = kinetics.gamma_variate(t, bolus_arrival_s, AIF_ALPHA, AIF_BETA_S, aif_peak)
    venous = kinetics.venous_curve(t, arterial, VOF_DELAY_S, VOF_DISPERSION_S)

    parenchyma = head.parenchyma
    classes = np.zeros(grid.shape, dtype=np.int16)  # 0: no tissue curve
    curves = [np.zeros(n_frames)]
    maps = {name: np.zeros(grid.shape, dtype=np.float32) for name in ("cbf", "cbv", "mtt", "tmax")}
    for tissue, (cbf0, cbv0, tmax0) in NORMAL_PERFUSION.items():
        for zone in (NORMAL, MILD, SEVERE, CORE):
            cbf_factor, cbv_factor, tmax = ZONE_PERFUSION.get(zone, (1.0, 1.0, tmax0))
            cbf, cbv = cbf0 * cbf_factor, cbv0 * cbv_factor
            where = parenchyma & (head.tissue == tissue) & (head.zone == zone)
            classes[where] = len(curves)
            curve = kinetics.tissue_curve(t, arterial, cbf, cbv, tmax, residue)
            curves.append(kinetics.sample(t, curve, frame_times))
            for name, value in (
                ("cbf", cbf),
                ("cbv", cbv),
                ("mtt", 60.0 * cbv / cbf),
                ("tmax", tmax),
            ):
                maps[name][where] = value
    table = np.asarray(curves, dtype=np.float32)  # (class, t)
    concentration = np.moveaxis(table[classes], -1, 0)  # (t, z, y, x)
    constants: dict[str, float | str] = {
        "rho_g_per_ml": kinetics.RHO_G_PER_ML,
        "k_h": kinetics.K_H,
        "residue": residue,
        "aif_alpha": AIF_ALPHA,
        "aif_beta_s": AIF_BETA_S,
        "aif_peak": aif_peak,
        "bolus_arrival_s": bolus_arrival_s,
        "vof_delay_s": VOF_DELAY_S,
        "vof_dispersion_s": VOF_DISPERSION_S,
        "fine_dt_s": kinetics.FINE_DT_S,
    }
    return _Simulation(
        grid=grid,
        head=head,
        frame_times=frame_times,
        tissue_concentration=np.ascontiguousarray(concentration),
        aif=kinetics.sample(t, arterial, frame_times),
        vof=kinetics.sample(t, venous, frame_times),
        maps=maps,
        constants=constants,
    )


def _phantom(sim: _Simulation, volume: Volume, unit: str, seed: int) -> PerfusionPhantom:
    head, grid = sim.head, sim.grid
    parenchyma = head.parenchyma
    core = parenchyma & (head.zone == CORE)
    gt6 = parenchyma & (head.zone >= MILD)
    gt10 = parenchyma & (head.zone >= SEVERE)
    penumbra = gt6 & ~core

    def ml(mask: np.ndarray) -> float:
        return float(mask.sum()) * grid.voxel_volume_mm3 / 1000.0

    def lps(index_zyx: tuple[int, int, int]) -> tuple[float, float, float]:
        k, j, i = index_zyx
        x, y, z = grid.index_to_world(np.array([i, j, k]))
        return float(x), float(y), float(z)

    arrival = float(sim.constants["bolus_arrival_s"])
    return PerfusionPhantom(
        volume=volume,
        cbf=sim.maps["cbf"],
        cbv=sim.maps["cbv"],
        mtt=sim.maps["mtt"],
        tmax=sim.maps["tmax"],
        brain_mask=head.intracranial,
        parenchyma_mask=parenchyma,
        csf_mask=(head.tissue == CSF) & ~head.vessels,
        vessel_mask=head.vessels,
        core_mask=core,
        penumbra_mask=penumbra,
        tmax_gt6_mask=gt6,
        tmax_gt10_mask=gt10,
        core_ml=ml(core),
        penumbra_ml=ml(penumbra),
        hypoperfusion_ml=ml(gt6),
        tmax_gt10_ml=ml(gt10),
        aif_curve=sim.aif,
        vof_curve=sim.vof,
        aif_index_zyx=head.aif_index_zyx,
        vof_index_zyx=head.vof_index_zyx,
        aif_lps_mm=lps(head.aif_index_zyx),
        vof_lps_mm=lps(head.vof_index_zyx),
        curve_unit=unit,
        baseline_frames=int(np.sum(sim.frame_times < arrival)),
        seed=seed,
        constants=sim.constants,
    )
