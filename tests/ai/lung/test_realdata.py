"""The real chest CT (TCIA Lung-PET-CT-Dx, subject A0002): the annotated tumour is found.

Both reconstructions (sharp B70f, soft B40f) of the same 8 mm acquisition; the tumour
counts as found when a reported nodule's centre lies inside the annotation box of the
slice it falls on. The other findings are printed (run with ``-s``) for the record.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from ai.lung.pipeline import LungRequest, analyse_chest_ct
from workstation.dicom.loader import load_paths

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


def _boxes(root: Path) -> dict[str, tuple[int, int, int, int]]:
    """Annotation box (xmin, ymin, xmax, ymax) in pixels, per SOP Instance UID."""
    boxes = {}
    for path in (root / "annotations" / "A0002").glob("*.xml"):
        text = path.read_text()
        values = [
            int(re.search(f"<{k}>(\\d+)</{k}>", text).group(1))
            for k in ("xmin", "ymin", "xmax", "ymax")
        ]
        boxes[path.stem] = tuple(values)
    return boxes


@pytest.mark.parametrize("kernel", ["B70f", "B40f"])
def test_the_annotated_tumour_is_found(lung_pet_ct_dx, kernel):
    (folder,) = [p for p in (lung_pet_ct_dx / "Lung_Dx-A0002").glob("*/*") if kernel in p.name]
    (volume,) = load_paths([folder]).volumes
    result = analyse_chest_ct(LungRequest(volume))
    boxes = _boxes(lung_pet_ct_dx)
    inside = []
    print(f"\n{kernel}: Lung-RADS {result.lung_rads.category}, {len(result.nodules)} nodule(s)")
    for nodule in result.nodules:
        m = nodule.measurements
        i, j, k = volume.world_to_index(np.array(m.center_lps_mm))
        box = boxes.get(
            volume.provenance.sop_instance_uids[int(np.clip(round(k), 0, volume.shape_zyx[0] - 1))]
        )
        hit = box is not None and box[0] <= i <= box[2] and box[1] <= j <= box[3]
        inside.append(hit)
        print(
            f"  #{nodule.id} {'TUMOUR ' if hit else ''}{m.type} {m.mean_diameter_mm:.1f} mm "
            f"{m.volume_mm3:.0f} mm3 p={nodule.probability:.3f} {nodule.location.side} "
            f"slice {k:.1f} ({i:.0f}, {j:.0f}) Lung-RADS {nodule.lung_rads.category}"
        )
    assert any(inside), "no reported nodule has its centre inside the tumour annotation"
