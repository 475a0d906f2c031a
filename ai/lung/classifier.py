"""False-positive reduction: a 3D CNN (a MONAI bundle) scores each candidate's patch.

The shipped bundle lives in ``resources/models/lung_nodule_fpr``; a user may point at
another folder with the same layout. Besides ``network_def``, the bundle's
``inference.json`` declares how patches are cut (:class:`PatchSpec` keys) and the
operating ``threshold``; a bundle without them is not a patch classifier and is
refused with a message that says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ai.lung.candidates import Candidate
from ai.lung.patches import PatchSpec, sample_patches, volume_tensor
from ai.models.bundle import INFERENCE, Bundle, BundleError, load_bundle
from workstation.model.progress import CancelToken, Progress, check, no_progress
from workstation.model.volume import Volume

if TYPE_CHECKING:
    import torch

BUNDLE_NAME = "lung_nodule_fpr"
BATCH = 128
#: Candidates scoring at least this are scored again on mirrored patches.
TTA_FLOOR = 0.5


def shipped_bundle_path() -> Path:
    """The bundle that ships with Halong (trained by ai/lung/train_classifier.py)."""
    return Path(str(resources.files("resources").joinpath("models", BUNDLE_NAME)))


class NoduleClassifier:
    """A loaded patch-classifier bundle: candidates in, nodule probabilities out."""

    def __init__(self, bundle: Bundle) -> None:
        try:
            self.spec = PatchSpec.from_json(bundle.inference)
            self.threshold = float(bundle.inference.get("threshold", 0.5))
        except (KeyError, TypeError, ValueError) as error:
            raise BundleError(
                f"{bundle.root / INFERENCE} does not describe a nodule patch classifier "
                f"(Halong needs patch_size, patch_min_fov_mm, patch_fov_per_radius and "
                f"hu_window; problem: {error}). Detection bundles such as "
                "lung_nodule_ct_detection are not supported for false-positive reduction."
            ) from error
        self.bundle = bundle

    @classmethod
    def load(
        cls, root: str | Path | None = None, device: torch.device | None = None
    ) -> NoduleClassifier:
        """The shipped bundle, or the one in ``root``."""
        return cls(load_bundle(root or shipped_bundle_path(), device))

    @property
    def device(self) -> torch.device:
        return self.bundle.device

    def score(
        self,
        volume: Volume,
        candidates: Sequence[Candidate],
        progress: Progress = no_progress,
        cancel: CancelToken | None = None,
    ) -> np.ndarray:
        """Nodule probability of each candidate, in order."""
        if not candidates:
            return np.zeros(0)
        centres = np.array([c.center_zyx for c in candidates], dtype=float)
        fovs = self.spec.fov_mm(np.array([c.radius_mm for c in candidates]))
        return self.score_points(volume, centres, fovs, progress, cancel)

    def score_points(
        self,
        volume: Volume,
        centers_zyx: np.ndarray,
        fovs_mm: np.ndarray,
        progress: Progress = no_progress,
        cancel: CancelToken | None = None,
    ) -> np.ndarray:
        """Probabilities for patches at native (z, y, x) centres with the given fields of view."""
        import torch

        tensor = volume_tensor(volume.voxels, self.device)
        scores = []
        with torch.inference_mode():
            for start in range(0, len(centers_zyx), BATCH):
                check(cancel)
                stop = start + BATCH
                patches = sample_patches(
                    tensor, volume.spacing, centers_zyx[start:stop], fovs_mm[start:stop], self.spec
                )
                scores.append(self.predict(patches))
                progress(min(stop, len(centers_zyx)), len(centers_zyx), "scoring candidates")
        return np.concatenate(scores)

    def predict(self, patches: torch.Tensor) -> np.ndarray:
        """Probabilities for a batch of prepared patches (n, 1, s, s, s).

        Patches the network finds at all likely (``TTA_FLOOR``) are scored again mirrored
        left-right, front-back and both, and the log-odds averaged: a nodule is a nodule
        in a mirror, an accident of one view is not, which sharpens the ranking where the
        operating threshold lies.
        """
        import torch

        patches = patches.to(self.device)
        with torch.inference_mode():
            logit = self._logit(patches)
            likely = torch.nonzero(torch.sigmoid(logit) >= TTA_FLOOR).flatten()
            if len(likely):
                subset = patches[likely]
                views = [subset.flip(4), subset.flip(3), subset.flip(3, 4)]
                total = logit[likely] + sum(self._logit(view) for view in views)
                logit[likely] = total / (1 + len(views))
        return torch.sigmoid(logit).float().cpu().numpy()

    def _logit(self, patches: torch.Tensor) -> torch.Tensor:
        """Log-odds of 'nodule' (one-logit or two-class networks)."""
        output = self.bundle.network(patches).reshape(len(patches), -1).float()
        if output.shape[1] == 1:
            return output[:, 0]
        return output[:, 1] - output[:, 0]
