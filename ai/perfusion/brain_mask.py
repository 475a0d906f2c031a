"""Where the maps are computed: brain tissue without bone, air, CSF or large vessels.

CT (from the unenhanced baseline image and the peak enhancement):

* bone: baseline above ``bone_hu``; the intracranial space is what the skull
  encloses, slice by slice, minus the bone, eroded by one voxel against partial
  volume with bone;
* CSF: intracranial voxels darker than ``csf_hu`` (CSF is 0-15 HU, white
  matter 25-30, grey 35-45); calcification and haemorrhage above ``tissue_max_hu``;
* vessels: peak enhancement above ``vessel_enhancement_hu`` (tissue enhances by
  a few HU, arteries and sinuses by hundreds).

MR DSC (from the baseline signal S0 and the peak ΔR2*):

* the head is S0 above a quarter of its 99th percentile; bone gives no signal,
  so in each slice the brain is the component at the head's centre (the scalp
  is a ring around it), holes filled;
* CSF is bright on T2*-weighted EPI: S0 above ``mr_csf_ratio`` x the median;
* vessels: peak ΔR2* above ``mr_vessel_ratio`` x the median tissue peak, or
  S0 below half the median (blood-filled, susceptibility-dark voxels).

The baseline image is lightly smoothed in-plane before thresholds, so single
noisy voxels do not flip class.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage


@dataclass(frozen=True)
class MaskSettings:
    """Thresholds of the tissue classes (HU for CT, ratios for MR)."""

    bone_hu: float = 150.0
    csf_hu: float = 18.0
    tissue_max_hu: float = 65.0
    vessel_enhancement_hu: float = 60.0
    mr_csf_ratio: float = 1.4
    mr_vessel_ratio: float = 5.0
    #: Sigma (voxels, in-plane) of the smoothing applied to the baseline image.
    baseline_smoothing_voxels: float = 0.75


@dataclass
class BrainMasks:
    """Boolean ``(z, y, x)`` masks; ``tissue`` is where maps and volumes are computed."""

    intracranial: np.ndarray
    tissue: np.ndarray
    csf: np.ndarray
    vessels: np.ndarray


def _smoothed(image: np.ndarray, sigma: float) -> np.ndarray:
    image = np.asarray(image, dtype=np.float32)
    if sigma <= 0:
        return image
    return ndimage.gaussian_filter(image, sigma=(0, sigma, sigma))


def _largest_component(mask: np.ndarray) -> np.ndarray:
    labels, count = ndimage.label(mask)
    if count == 0:
        return mask
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    return labels == int(np.argmax(sizes))


def _central_component(plane: np.ndarray) -> np.ndarray:
    """The component holding the plane's centre of mass (else the largest), holes filled."""
    labels, count = ndimage.label(plane)
    if count == 0:
        return plane
    j, i = np.rint(ndimage.center_of_mass(plane)).astype(int)
    label = labels[j, i]
    if label == 0:
        sizes = np.bincount(labels.ravel())
        sizes[0] = 0
        label = int(np.argmax(sizes))
    return ndimage.binary_fill_holes(labels == label)


def fill_slices(mask: np.ndarray) -> np.ndarray:
    """Holes filled slice by slice (a head is closed in-plane, not always in z)."""
    return np.stack([ndimage.binary_fill_holes(plane) for plane in mask])


def mr_head(signal: np.ndarray) -> np.ndarray:
    """Voxels of an MR image bright enough to be head (a quarter of its 99th percentile)."""
    return signal > 0.25 * np.percentile(signal, 99)


def ct_brain_masks(
    baseline_hu: np.ndarray, peak_enhancement_hu: np.ndarray, settings: MaskSettings
) -> BrainMasks:
    """Masks of a CT perfusion study (see the module doc)."""
    baseline = _smoothed(baseline_hu, settings.baseline_smoothing_voxels)
    bone = baseline > settings.bone_hu
    sealed = np.stack([ndimage.binary_closing(plane, iterations=2) for plane in bone])
    enclosed = fill_slices(sealed) & ~sealed
    enclosed = np.stack([ndimage.binary_erosion(plane) for plane in enclosed])
    intracranial = _largest_component(enclosed) if enclosed.any() else enclosed
    vessels = intracranial & (peak_enhancement_hu > settings.vessel_enhancement_hu)
    csf = intracranial & (baseline < settings.csf_hu) & ~vessels
    tissue = intracranial & ~csf & ~vessels & (baseline <= settings.tissue_max_hu)
    return BrainMasks(intracranial=intracranial, tissue=tissue, csf=csf, vessels=vessels)


def mr_brain_masks(
    baseline_signal: np.ndarray, peak_delta_r2: np.ndarray, settings: MaskSettings
) -> BrainMasks:
    """Masks of an MR DSC study (see the module doc)."""
    baseline = _smoothed(baseline_signal, settings.baseline_smoothing_voxels)
    head = mr_head(baseline)
    intracranial = np.stack([_central_component(plane) for plane in head])
    median_signal = float(np.median(baseline[intracranial])) if intracranial.any() else 0.0
    csf = intracranial & (baseline > settings.mr_csf_ratio * median_signal)
    candidate = intracranial & ~csf
    median_peak = float(np.median(peak_delta_r2[candidate])) if candidate.any() else 0.0
    vessels = candidate & (
        (peak_delta_r2 > settings.mr_vessel_ratio * max(median_peak, 1e-6))
        | (baseline < 0.5 * median_signal)
    )
    tissue = candidate & ~vessels
    return BrainMasks(intracranial=intracranial, tissue=tissue, csf=csf, vessels=vessels)
