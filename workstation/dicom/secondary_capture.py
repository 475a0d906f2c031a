"""Colour Secondary Capture images of AI results (summaries, map renderings) for the PACS.

Built with highdicom from a source image of the study, so patient, study and
frame of reference match the images they were derived from; each is marked as
derived, with burned-in annotation, and described as AI-generated.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from workstation.dicom.contributing_equipment import MANUFACTURER


@dataclass(frozen=True)
class DerivedSeries:
    """Identity of a series of derived objects written for one study."""

    series_uid: str
    series_number: int
    series_description: str
    #: Free text recorded as the derivation description (what made it, and that it is AI).
    derivation: str
    software_version: str


def new_derived_series(
    series_number: int, description: str, derivation: str, software_version: str
) -> DerivedSeries:
    return DerivedSeries(generate_uid(), series_number, description, derivation, software_version)


def source_image_references(sources: list[Dataset]) -> list[Dataset]:
    """Source Image Sequence items pointing at the images a result was derived from."""
    items = []
    for source in sources:
        item = Dataset()
        item.ReferencedSOPClassUID = source.SOPClassUID
        item.ReferencedSOPInstanceUID = source.SOPInstanceUID
        items.append(item)
    return items


def write_secondary_capture(
    rgb: np.ndarray,
    path: str | Path,
    reference: Dataset,
    series: DerivedSeries,
    instance_number: int,
    sources: list[Dataset] | None = None,
) -> Path:
    """Write an RGB image ``(rows, columns, 3)`` uint8 as a Secondary Capture instance."""
    import highdicom as hd

    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"a colour secondary capture needs (rows, columns, 3), got {rgb.shape}")
    image = hd.sc.SCImage.from_ref_dataset(
        ref_dataset=reference,
        pixel_array=rgb,
        photometric_interpretation=hd.PhotometricInterpretationValues.RGB,
        bits_allocated=8,
        coordinate_system=hd.CoordinateSystemNames.PATIENT,
        series_instance_uid=series.series_uid,
        sop_instance_uid=generate_uid(),
        series_number=series.series_number,
        instance_number=instance_number,
        manufacturer=MANUFACTURER,
        patient_orientation=("L", "P"),
        transfer_syntax_uid=ExplicitVRLittleEndian,
    )
    image.SeriesDescription = series.series_description
    image.ImageType = ["DERIVED", "SECONDARY"]
    image.BurnedInAnnotation = "YES"
    image.DerivationDescription = series.derivation[:1024]
    image.SoftwareVersions = series.software_version
    image.Laterality = ""  # unknown: the images show both hemispheres
    if sources:
        image.SourceImageSequence = source_image_references(sources)
    path = Path(path)
    image.save_as(path, enforce_file_format=True)
    return path
