"""Inter-frame head motion: detect it, correct it by rigid registration, report it.

Every frame is compared with the first (reference) frame on a copy reduced to
at most ``max_inplane_voxels`` in-plane, over the skull (CT: bone does not
enhance) or the surface of the head (MR: the brain's signal drops with the
bolus, the scalp edge against air does not). Frames that differ from the reference by more than
``detection_factor`` times the difference between unmoved baseline frames
(noise alone) are registered to it with a rigid 3D transform (SimpleITK,
mean squares for CT, correlation for MR, whose signal drops with the bolus).
Registrations that move the head by at least ``min_correction_mm`` are applied
to the full-resolution frame. Displacement is the largest movement of a corner
of the head's bounding box.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from ai.perfusion.brain_mask import fill_slices, mr_head
from workstation.model.progress import CancelToken, Progress, check, no_progress
from workstation.model.volume import Volume


@dataclass(frozen=True)
class MotionSettings:
    enabled: bool = True
    detection_factor: float = 2.0
    min_correction_mm: float = 0.3
    max_inplane_voxels: int = 128
    iterations: int = 50


@dataclass
class MotionReport:
    """Per-frame displacement (mm; 0 for frames found still) and what was done."""

    displacement_mm: list[float] = field(default_factory=list)
    registered_frames: list[int] = field(default_factory=list)
    corrected_frames: list[int] = field(default_factory=list)

    @property
    def max_displacement_mm(self) -> float:
        return max(self.displacement_mm, default=0.0)


def _reduced(frame: np.ndarray, factor: int) -> np.ndarray:
    """Every ``factor``-th voxel in-plane (the centre of each block), float32.

    Subsampling rather than averaging keeps detection cheap on 512 x 512
    frames; skull and scalp edges are far wider than the step.
    """
    start = factor // 2
    return frame[:, start::factor, start::factor].astype(np.float32)


def _motion_region(reference: np.ndarray, modality: str) -> np.ndarray:
    """Voxels whose value changes with motion but not with contrast.

    CT: bone. MR: a two-voxel shell at the head's surface (the brain's DSC
    signal drops with the bolus, the scalp edge against air does not).
    """
    if modality == "CT":
        return reference > 300.0
    head = fill_slices(mr_head(reference))
    inner = ndimage.binary_erosion(head, structure=np.ones((1, 3, 3), bool), iterations=2)
    return head & ~inner


def _image(voxels: np.ndarray, volume: Volume, factor: int):
    """A SimpleITK image of ``voxels`` on the volume's grid coarsened in-plane by ``factor``."""
    import SimpleITK as sitk

    image = sitk.GetImageFromArray(np.ascontiguousarray(voxels, dtype=np.float32))
    sx, sy, sz = volume.spacing
    image.SetSpacing((sx * factor, sy * factor, sz))
    shift = volume.direction @ np.array([sx, sy, 0.0]) * (factor // 2)
    image.SetOrigin(tuple(np.asarray(volume.origin) + shift))
    image.SetDirection(tuple(volume.direction.ravel()))
    return image


def _corners(image, mask: np.ndarray) -> np.ndarray:
    """LPS corners (8, 3) of the bounding box of ``mask`` (the head) on ``image``'s grid."""
    where = np.argwhere(mask)
    (z0, y0, x0), (z1, y1, x1) = where.min(axis=0), where.max(axis=0)
    return np.array(
        [
            image.TransformContinuousIndexToPhysicalPoint((float(i), float(j), float(k)))
            for i in (x0, x1)
            for j in (y0, y1)
            for k in (z0, z1)
        ]
    )


def _register(fixed, moving, mask, modality: str, iterations: int):
    import SimpleITK as sitk

    registration = sitk.ImageRegistrationMethod()
    if modality == "CT":
        registration.SetMetricAsMeanSquares()
    else:
        registration.SetMetricAsCorrelation()
    registration.SetMetricFixedMask(mask)
    registration.SetMetricSamplingStrategy(registration.RANDOM)
    registration.SetMetricSamplingPercentage(0.3, seed=1)
    registration.SetInterpolator(sitk.sitkLinear)
    registration.SetOptimizerAsRegularStepGradientDescent(
        learningRate=1.0, minStep=0.01, numberOfIterations=iterations, relaxationFactor=0.5
    )
    registration.SetOptimizerScalesFromPhysicalShift()
    initial = sitk.CenteredTransformInitializer(
        fixed, moving, sitk.Euler3DTransform(), sitk.CenteredTransformInitializerFilter.GEOMETRY
    )
    registration.SetInitialTransform(initial, inPlace=False)
    return registration.Execute(fixed, moving)


def correct_motion(
    volume: Volume,
    baseline: slice,
    settings: MotionSettings | None = None,
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
) -> tuple[np.ndarray, MotionReport]:
    """Frames ``(T, z, y, x)`` with moved frames registered back, and the report.

    Returns the volume's own voxel array (not a copy) when nothing moved.
    """
    import SimpleITK as sitk

    settings = settings or MotionSettings()
    voxels = volume.voxels
    n_frames = voxels.shape[0]
    report = MotionReport(displacement_mm=[0.0] * n_frames)
    if not settings.enabled or n_frames < 2:
        return voxels, report
    factor = max(1, -(-max(voxels.shape[-2:]) // settings.max_inplane_voxels))
    reference = _reduced(voxels[0], factor)
    region = _motion_region(reference, volume.modality)
    if region.sum() < 100:
        return voxels, report
    region_image = sitk.Cast(_image(region.astype(np.uint8), volume, factor), sitk.sitkUInt8)
    reduced = [reference] + [_reduced(voxels[t], factor) for t in range(1, n_frames)]
    scores = np.array(
        [float(np.sqrt(np.mean((r[region] - reference[region]) ** 2))) for r in reduced]
    )
    still = scores[1 : max(2, baseline.stop)]
    noise = float(np.median(still)) if len(still) else float(np.median(scores[1:]))
    suspects = [
        t for t in range(1, n_frames) if scores[t] > settings.detection_factor * max(noise, 1e-3)
    ]
    if not suspects:
        return voxels, report
    fixed = _image(reference, volume, factor)
    full_reference = _image(voxels[0], volume, 1)
    corners = _corners(fixed, region)
    corrected = voxels
    for done, t in enumerate(suspects):
        check(cancel)
        progress(done, len(suspects), "correcting head motion")
        transform = _register(
            fixed,
            _image(reduced[t], volume, factor),
            region_image,
            volume.modality,
            settings.iterations,
        )
        moved = np.array([transform.TransformPoint(tuple(c)) for c in corners])
        displacement = float(np.linalg.norm(moved - corners, axis=1).max())
        report.registered_frames.append(t)
        report.displacement_mm[t] = displacement
        if displacement < settings.min_correction_mm:
            continue
        if corrected is voxels:
            corrected = voxels.copy()
        background = float(voxels[0].min())
        resampled = sitk.Resample(
            _image(voxels[t], volume, 1), full_reference, transform, sitk.sitkLinear, background
        )
        frame = sitk.GetArrayFromImage(resampled)
        if np.issubdtype(corrected.dtype, np.integer):
            frame = np.rint(frame)
        corrected[t] = frame.astype(corrected.dtype)
        report.corrected_frames.append(t)
    return corrected, report
