"""DICOM Parametric Maps of quantitative AI maps (CBF, CBV, MTT, Tmax, TTP), with highdicom.

One multi-frame instance per map, float pixel data in the map's own unit,
described by a Real World Value Mapping (quantity and UCUM unit), on the
geometry of the volume the map was computed on (one frame per slice), in the
source images' frame of reference, and referencing those source images.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset
from pydicom.sr.coding import Code
from pydicom.uid import generate_uid

from workstation.dicom.contributing_equipment import MANUFACTURER
from workstation.dicom.secondary_capture import DerivedSeries
from workstation.model.volume import Volume


@dataclass(frozen=True)
class MapQuantity:
    """What a map's values mean: label, explanation, quantity and unit codes, display window."""

    label: str  # at most 16 characters
    explanation: str
    quantity: Code
    unit: Code
    window: tuple[float, float]  # (lowest, highest) shown


_CBV_UNIT = Code("ml/[100]g", "UCUM", "milliliter per 100 gram")
_SECOND = Code("s", "UCUM", "second")
PERFUSION_QUANTITIES = {
    "cbf": MapQuantity(
        "CBF",
        "Cerebral blood flow",
        Code("113055", "DCM", "Regional Cerebral Blood Flow"),
        Code("ml/[100]g/min", "UCUM", "milliliter per 100 gram per minute"),
        (0.0, 80.0),
    ),
    "cbv": MapQuantity(
        "CBV",
        "Cerebral blood volume",
        Code("113056", "DCM", "Regional Cerebral Blood Volume"),
        _CBV_UNIT,
        (0.0, 8.0),
    ),
    "mtt": MapQuantity(
        "MTT", "Mean transit time", Code("113052", "DCM", "Mean Transit Time"), _SECOND, (0.0, 16.0)
    ),
    "tmax": MapQuantity("Tmax", "Tmax", Code("113084", "DCM", "Tmax"), _SECOND, (0.0, 12.0)),
    "ttp": MapQuantity(
        "TTP", "Time to peak", Code("113069", "DCM", "Time To Peak"), _SECOND, (0.0, 40.0)
    ),
}


def write_parametric_map(
    values: np.ndarray,
    geometry: Volume,
    path: str | Path,
    quantity: MapQuantity,
    sources: list[Dataset],
    series: DerivedSeries,
    instance_number: int,
) -> Path:
    """Write a float map ``(z, y, x)`` on ``geometry``'s grid as a Parametric Map instance."""
    import highdicom as hd

    values = np.ascontiguousarray(values, dtype=np.float32)
    if values.shape != geometry.shape_zyx:
        raise ValueError(f"map of shape {values.shape} is not on the grid {geometry.shape_zyx}")
    finite = values[np.isfinite(values)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    mapping = hd.pm.RealWorldValueMapping(
        lut_label=quantity.label,
        lut_explanation=quantity.explanation,
        unit=quantity.unit,
        value_range=(low, max(high, low + 1e-3)),
        quantity_definition=quantity.quantity,
    )
    direction = geometry.direction
    sx, sy, sz = geometry.spacing
    positions = [
        hd.PlanePositionSequence(
            hd.CoordinateSystemNames.PATIENT,
            [float(v) for v in geometry.index_to_world(np.array([0.0, 0.0, k]))],
        )
        for k in range(values.shape[0])
    ]
    lowest, highest = quantity.window
    parametric_map = hd.pm.ParametricMap(
        source_images=sources,
        pixel_array=values,
        series_instance_uid=series.series_uid,
        series_number=series.series_number,
        sop_instance_uid=generate_uid(),
        instance_number=instance_number,
        manufacturer=MANUFACTURER,
        manufacturer_model_name="Halong perfusion",
        software_versions=series.software_version,
        device_serial_number="0",
        contains_recognizable_visual_features=False,
        real_world_value_mappings=[mapping],
        content_description=f"{quantity.explanation} (AI-generated)"[:64],
        content_label=quantity.label.upper().replace(" ", "_")[:16],
        pixel_measures=hd.PixelMeasuresSequence(
            pixel_spacing=(float(sy), float(sx)),
            slice_thickness=float(sz),
            spacing_between_slices=float(sz),
        ),
        plane_orientation=hd.PlaneOrientationSequence(
            hd.CoordinateSystemNames.PATIENT,
            [float(v) for v in (*direction[:, 0], *direction[:, 1])],
        ),
        plane_positions=positions,
        voi_lut_transformations=[
            hd.VOILUTTransformation(
                window_center=(lowest + highest) / 2,
                window_width=highest - lowest,
            )
        ],
    )
    parametric_map.SeriesDescription = series.series_description
    parametric_map.DerivationDescription = series.derivation[:1024]
    parametric_map.Laterality = ""  # unknown: the map covers both hemispheres
    path = Path(path)
    parametric_map.save_as(path, enforce_file_format=True)
    return path
