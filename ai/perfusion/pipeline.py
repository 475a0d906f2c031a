"""One perfusion analysis, from a 4D CT or MR DSC volume to maps, volumes and triage.

``run_perfusion(request, progress, cancel)`` is the plain function the CLI and
the UI both call (the UI on a worker thread). Stages, each timed:

1. ``baseline``: bolus arrival from the most enhancing voxels; the frames
   before it are the baseline.
2. ``motion``: frames moved against the first are registered back.
3. ``masks``: intracranial space, tissue, CSF and vessels.
4. ``aif_vof``: arterial and venous curves (automatic, or at the user's points),
   partial-volume scaling of the AIF by the VOF.
5. ``maps``: CBF, CBV, MTT, Tmax, TTP (``maps`` and ``deconvolution``).
6. ``lesions``: core (relative CBF for CT; ADC when an ADC map is given),
   Tmax > 6 s and > 10 s, volumes.
7. ``report``: QC flags and the DEFUSE 3 / DAWN decisions.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy import ndimage

from ai.perfusion.arterial_input import (
    ArterialSettings,
    NoArterialInput,
    VascularCurve,
    VascularInput,
    candidate_count,
    select_vascular_input,
    with_partial_volume_scale,
)
from ai.perfusion.brain_mask import (
    BrainMasks,
    MaskSettings,
    ct_brain_masks,
    mr_brain_masks,
    mr_head,
)
from ai.perfusion.concentration import (
    TimeGrid,
    baseline_slice,
    bolus_arrival_frame,
    ct_concentration,
    mr_concentration,
    on_time_grid,
    uniform_time_grid,
)
from ai.perfusion.deconvolution import DeconvolutionSettings
from ai.perfusion.lesions import (
    LesionMasks,
    LesionSettings,
    LesionVolumes,
    adc_lesions,
    ct_lesions,
    hypoperfusion_masks,
)
from ai.perfusion.maps import MapSettings, PerfusionMaps, compute_maps
from ai.perfusion.motion import MotionReport, MotionSettings, correct_motion
from ai.perfusion.mr import adc_on_grid, echo_time_s
from ai.perfusion.qc import QcFlag, QcReport, QcSettings, quality_flags
from ai.perfusion.result import ALGORITHM_NAME, ALGORITHM_VERSION, CurveResult, PerfusionResult
from ai.perfusion.triage import (
    ClinicalInputs,
    DawnRule,
    Defuse3Rule,
    ImagingValues,
    dawn,
    defuse3,
)
from workstation.model.progress import CancelToken, Progress, check, no_progress
from workstation.model.volume import Volume

#: Fewer frames than this cannot show a baseline, a bolus and its washout.
MIN_FRAMES = 10
#: Fraction of voxels, the most enhancing, whose median curve times the bolus arrival.
ARRIVAL_VOXEL_FRACTION = 0.0005
#: Distance from bone and air (mm) inside which arrival candidates are not searched.
ARRIVAL_EDGE_MARGIN_MM = 4.0


class PerfusionInputError(ValueError):
    """The input cannot be analysed; the message tells the user why, in one line."""


@dataclass(frozen=True)
class PerfusionSettings:
    """Every setting of the analysis, grouped by stage; the defaults are the validated ones."""

    motion: MotionSettings = field(default_factory=MotionSettings)
    masks: MaskSettings = field(default_factory=MaskSettings)
    arterial: ArterialSettings = field(default_factory=ArterialSettings)
    deconvolution: DeconvolutionSettings = field(default_factory=DeconvolutionSettings)
    maps: MapSettings = field(default_factory=MapSettings)
    lesions: LesionSettings = field(default_factory=LesionSettings)
    qc: QcSettings = field(default_factory=QcSettings)
    defuse3: Defuse3Rule = field(default_factory=Defuse3Rule)
    dawn: DawnRule = field(default_factory=DawnRule)


@dataclass
class PerfusionRequest:
    """A 4D CT/MR volume to analyse; optionally an ADC map, clinical values, AIF/VOF points."""

    volume: Volume
    adc: Volume | None = None
    clinical: ClinicalInputs = field(default_factory=ClinicalInputs)
    #: User-chosen arterial / venous voxel (LPS mm); None to find them automatically.
    aif_lps_mm: Sequence[float] | None = None
    vof_lps_mm: Sequence[float] | None = None
    settings: PerfusionSettings = field(default_factory=PerfusionSettings)


class _Stopwatch:
    def __init__(self, progress: Progress, cancel: CancelToken | None, stages: int) -> None:
        self.timings: dict[str, float] = {}
        self.progress = progress
        self.cancel = cancel
        self.stages = stages
        self._name = ""
        self._start = 0.0

    def start(self, name: str, message: str) -> None:
        self.stop()
        check(self.cancel)
        self.progress(len(self.timings), self.stages, message)
        self._name, self._start = name, time.perf_counter()

    def stop(self) -> None:
        if self._name:
            self.timings[self._name] = time.perf_counter() - self._start
            self._name = ""


@dataclass
class _Signal:
    """Raw signal curves ``(T, ...)`` -> concentration (CT HU enhancement or MR ΔR2*)."""

    modality: str
    baseline: slice
    echo_time_s: float

    @property
    def unit(self) -> str:
        return "HU" if self.modality == "CT" else "ΔR2* 1/s"

    def __call__(self, signal: np.ndarray) -> np.ndarray:
        if self.modality == "CT":
            return ct_concentration(signal, self.baseline)
        return mr_concentration(signal, self.baseline, self.echo_time_s)


def _modality(volume: Volume, notes: list[str]) -> str:
    if volume.modality in ("CT", "MR"):
        return volume.modality
    first = np.asarray(volume.voxels[0], dtype=np.float64)
    finite = first[np.isfinite(first)]
    guess = "CT" if finite.size and float(finite.min()) < -200 else "MR"
    notes.append(f"modality not recorded: taken as {guess} from the values")
    return guess


def _validate(volume: Volume) -> None:
    if not volume.is_4d:
        raise PerfusionInputError("a perfusion study is 4D (frames over time); this is a 3D image")
    frames = volume.voxels.shape[0]
    if frames < MIN_FRAMES:
        raise PerfusionInputError(
            f"only {frames} frames: a perfusion study needs at least {MIN_FRAMES}"
        )
    if np.any(np.diff(volume.frame_times) <= 0):
        raise PerfusionInputError("frame times do not increase; check the frame interval")


#: What a voxel with NaN or infinite samples is replaced by, so every mask leaves it out.
_INVALID_FILL = {"CT": -1000.0, "MR": 0.0}


def _exclude_invalid(volume: Volume, modality: str) -> tuple[Volume, int]:
    """The volume with every voxel that has a NaN or infinite sample set to background
    (air for CT, no signal for MR), and how many voxels that was.

    Refuses a volume where no voxel is valid: there is nothing to analyse.
    """
    voxels = volume.voxels
    if np.issubdtype(voxels.dtype, np.integer):
        return volume, 0  # integers are always finite
    invalid = ~np.isfinite(voxels).all(axis=0)
    count = int(invalid.sum())
    if count == 0:
        return volume, 0
    if count == invalid.size:
        raise PerfusionInputError(
            "every voxel holds NaN or infinite values: the series has no image data to analyse"
        )
    cleaned = np.where(invalid[None], np.asarray(_INVALID_FILL[modality], voxels.dtype), voxels)
    return volume.with_voxels(cleaned), count


def _invalid_flag(count: int) -> QcFlag:
    return QcFlag(
        "invalid_voxels",
        count > 0,
        f"{count} voxel(s) with NaN or infinite values left out of every map and volume"
        if count
        else "every voxel finite",
        float(count),
        0.0,
    )


def _bolus_baseline(volume: Volume, modality: str) -> slice:
    """Baseline frames: those before the bolus reaches the arteries.

    Arteries are the earliest-peaking of the most enhancing voxels.
    Only voxels well inside soft tissue are searched (``ARRIVAL_EDGE_MARGIN_MM``
    from bone and air): a moving bone or skin edge changes by hundreds of units
    too, at the moment the head moves rather than when the bolus arrives.
    """
    voxels = volume.voxels
    first = voxels[0].astype(np.float32)
    if modality == "CT":
        soft = (first > -100.0) & (first < 150.0)
        change = voxels.max(axis=0).astype(np.float32) - first
    else:
        soft = mr_head(first)
        change = (first - voxels.min(axis=0)) / np.maximum(first, 1.0)
    margin = max(1, round(ARRIVAL_EDGE_MARGIN_MM / min(volume.spacing[:2])))
    inner = ndimage.binary_erosion(soft, np.ones((1, 3, 3), bool), iterations=margin)
    candidates = np.flatnonzero(inner) if inner.any() else np.arange(change.size)
    count = min(len(candidates), max(20, int(ARRIVAL_VOXEL_FRACTION * change.size)))
    top = candidates[np.argpartition(change.ravel()[candidates], -count)[-count:]]
    curves = voxels.reshape(voxels.shape[0], -1)[:, top].astype(np.float32)
    if modality == "MR":
        curves = -curves
    # the earliest-peaking tenth are arteries; veins (the larger share in a tall slab) come later
    peaks = np.argmax(curves, axis=0)
    earliest = curves[:, peaks <= np.percentile(peaks, 10)]
    arrival = bolus_arrival_frame(np.median(earliest, axis=1))
    if arrival < 1:
        raise PerfusionInputError("the bolus is already there in the first frame: no baseline")
    return baseline_slice(arrival)


def _peak_concentration(frames: np.ndarray, signal: _Signal) -> tuple[np.ndarray, np.ndarray]:
    """Baseline image and peak concentration per voxel, without converting every frame."""
    baseline = frames[signal.baseline].mean(axis=0, dtype=np.float32)
    if signal.modality == "CT":
        return baseline, frames.max(axis=0).astype(np.float32) - baseline
    lowest = np.maximum(frames.min(axis=0).astype(np.float32), 1e-3 * baseline)
    safe = np.maximum(baseline, 1e-6)
    return baseline, -np.log(np.maximum(lowest / safe, 1e-3)) / np.float32(signal.echo_time_s)


def _voxel_index(volume: Volume, lps_mm: Sequence[float]) -> np.ndarray:
    i, j, k = np.rint(volume.world_to_index(np.asarray(lps_mm, dtype=float))).astype(int)
    z, y, x = volume.shape_zyx
    if not (0 <= i < x and 0 <= j < y and 0 <= k < z):
        raise PerfusionInputError(f"the point {tuple(lps_mm)} (LPS mm) lies outside the images")
    return np.array([k, j, i])


def _vascular_input(
    request: PerfusionRequest,
    frames: np.ndarray,
    masks: BrainMasks,
    peak: np.ndarray,
    signal: _Signal,
    baseline_image: np.ndarray,
    times: np.ndarray,
) -> VascularInput:
    settings = request.settings.arterial
    flat_frames = frames.reshape(frames.shape[0], -1)
    inside = np.flatnonzero(masks.intracranial)
    count = min(candidate_count(len(inside), settings), len(inside))
    if count == 0:
        raise PerfusionInputError("no intracranial voxels found to search for the arterial input")
    top = inside[np.argpartition(peak.ravel()[inside], -count)[-count:]]
    curves = signal(flat_frames[:, top])
    saturated = None
    if signal.modality == "MR":
        lowest = flat_frames[:, top].min(axis=0)
        saturated = lowest < settings.saturation_fraction * baseline_image.ravel()[top]
    indices = np.column_stack(np.unravel_index(top, masks.intracranial.shape))
    try:
        automatic = select_vascular_input(curves, indices, times, settings, saturated)
    except NoArterialInput as error:
        raise PerfusionInputError(str(error)) from None
    aif, vof = automatic.aif, automatic.vof
    for kind, point in (("aif", request.aif_lps_mm), ("vof", request.vof_lps_mm)):
        if point is None:
            continue
        z, y, x = _voxel_index(request.volume, point)
        chosen = VascularCurve.average(
            kind, np.array([[z, y, x]]), signal(frames[:, z, y, x][:, None]), times, False
        )
        aif, vof = (chosen, vof) if kind == "aif" else (aif, chosen)
    if aif.peak <= 0:
        raise PerfusionInputError("the chosen arterial voxel does not enhance")
    return with_partial_volume_scale(aif, vof, settings, automatic.notes)


def _lesions(
    request: PerfusionRequest, maps: PerfusionMaps, modality: str, notes: list[str]
) -> LesionMasks:
    settings = request.settings.lesions
    voxel_ml = request.volume.voxel_volume_mm3 / 1000.0
    if request.adc is not None:
        adc, unit = adc_on_grid(request.adc, request.volume)
        notes.append(f"core from the ADC map (read as {unit})")
        return adc_lesions(maps, adc, voxel_ml, settings)
    if modality == "CT":
        return ct_lesions(maps, voxel_ml, settings)
    notes.append("MR without an ADC map: no core volume (give --adc)")
    hypoperfusion, severe = hypoperfusion_masks(maps, voxel_ml, settings)
    return LesionMasks(None, hypoperfusion, severe, None, None)


def _baseline_noise(curve: np.ndarray, baseline: slice) -> float:
    """Standard deviation of a curve before the bolus (0 when too few frames to tell)."""
    values = curve[baseline]
    return float(np.std(values, ddof=1)) if len(values) >= 3 else 0.0


def run_perfusion(
    request: PerfusionRequest,
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
) -> PerfusionResult:
    """Analyse one perfusion study (see the module doc)."""
    volume = request.volume
    settings = request.settings
    notes: list[str] = []
    _validate(volume)
    modality = _modality(volume, notes)
    volume, invalid = _exclude_invalid(volume, modality)
    echo_time = echo_time_s(volume) if modality == "MR" else None
    if modality == "MR" and echo_time is None:
        notes.append("no echo time recorded: ΔR2* is given times TE (maps are unaffected)")
    watch = _Stopwatch(progress, cancel, stages=7)

    watch.start("baseline", "finding the bolus arrival")
    baseline = _bolus_baseline(volume, modality)
    if baseline.stop < 2:
        notes.append("only one frame before the bolus: the baseline is noisy")
    signal = _Signal(modality, baseline, echo_time or 1.0)
    time_grid: TimeGrid = uniform_time_grid(volume.frame_times)
    if time_grid.resampled:
        notes.append(f"irregular frame times: resampled every {time_grid.interval_s:.3g} s")
    times = np.asarray(volume.frame_times, dtype=float) - float(volume.frame_times[0])

    watch.start("motion", "checking head motion")
    frames, motion = correct_motion(volume, baseline, settings.motion, cancel=cancel)

    watch.start("masks", "finding brain tissue")
    baseline_image, peak = _peak_concentration(frames, signal)
    if modality == "CT":
        masks = ct_brain_masks(baseline_image, peak, settings.masks)
    else:
        masks = mr_brain_masks(baseline_image, peak, settings.masks)
    if masks.tissue.sum() < 100:
        raise PerfusionInputError("no brain tissue found: is this a head perfusion series?")

    watch.start("aif_vof", "choosing the arterial and venous curves")
    vascular = _vascular_input(request, frames, masks, peak, signal, baseline_image, times)
    notes.extend(vascular.notes)
    arterial = on_time_grid(vascular.arterial_input[:, None], times, time_grid)[:, 0]
    if float(arterial.sum()) <= 0:
        raise PerfusionInputError("the arterial curve does not rise above its baseline")

    watch.start("maps", "computing perfusion maps")
    maps = compute_maps(
        frames,
        masks.tissue,
        volume.spacing,
        lambda curves: on_time_grid(signal(curves), times, time_grid),
        arterial,
        time_grid,
        settings.maps,
        settings.deconvolution,
        cancel,
    )

    watch.start("lesions", "measuring core and hypoperfusion")
    lesions = _lesions(request, maps, modality, notes)
    volumes = LesionVolumes.of(lesions, volume.voxel_volume_mm3 / 1000.0)

    watch.start("report", "quality checks and triage")
    imaging = ImagingValues(
        volumes.core_ml, volumes.hypoperfusion_ml, volumes.mismatch_ml, volumes.mismatch_ratio
    )
    flags = quality_flags(
        motion, vascular, _baseline_noise(vascular.aif.curve, baseline), modality, settings.qc
    )
    flags.append(_invalid_flag(invalid))
    qc = QcReport(flags, motion.max_displacement_mm, notes)
    thresholds = settings.lesions.to_json()
    thresholds["reference_cbf_ml_100g_min"] = (
        round(lesions.reference_cbf, 2) if lesions.reference_cbf is not None else None
    )
    thresholds["core_source"] = lesions.core_source
    result = PerfusionResult(
        modality=modality,
        volumes=volumes,
        lesions=lesions,
        maps=maps,
        thresholds=thresholds,
        aif=CurveResult.of(vascular.aif, volume, signal.unit, vascular.partial_volume_scale),
        vof=CurveResult.of(vascular.vof, volume, signal.unit) if vascular.vof else None,
        qc=qc,
        defuse3=defuse3(imaging, request.clinical, settings.defuse3),
        dawn=dawn(imaging, request.clinical, settings.dawn),
        algorithm=_algorithm(settings, maps.device),
        input=_describe_input(volume, modality, time_grid, baseline, motion),
    )
    watch.stop()
    result.timings_s = watch.timings
    progress(watch.stages, watch.stages, "perfusion analysis done")
    return result


def _algorithm(settings: PerfusionSettings, device: str) -> dict[str, object]:
    return {
        "name": ALGORITHM_NAME,
        "version": ALGORITHM_VERSION,
        "ai_generated": True,
        "device": device,
        "deconvolution": asdict(settings.deconvolution),
        "maps": asdict(settings.maps),
    }


def _describe_input(
    volume: Volume, modality: str, grid: TimeGrid, baseline: slice, motion: MotionReport
) -> dict[str, object]:
    return {
        "modality": modality,
        "frames": int(volume.voxels.shape[0]),
        "shape_zyx": list(volume.shape_zyx),
        "spacing_mm": [round(s, 4) for s in volume.spacing],
        "frame_interval_s": round(grid.interval_s, 4),
        "frame_times_resampled": grid.resampled,
        "baseline_frames": int(baseline.stop),
        "motion_corrected_frames": motion.corrected_frames,
        "series_uid": volume.provenance.series_uid,
        "study_uid": volume.provenance.study_uid,
        "source": volume.provenance.source,
    }
