"""Contributing Equipment items naming the AI that helped make a DICOM object.

IHE AI Results asks every object derived from AI output to name the algorithm in
the Contributing Equipment Sequence (0018,A001): manufacturer, model (the
algorithm's name), software version, when it contributed and what it did. The
purpose of reference is "Processing Equipment" (DCM 109102, CID 7005).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from workstation.model.report import Algorithm, local_time

#: The Manufacturer every object Halong writes names.
MANUFACTURER = "Halong"


def code_item(value: str, scheme: str, meaning: str) -> Dataset:
    """A code sequence item (CodeValue, CodingSchemeDesignator, CodeMeaning)."""
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = scheme
    item.CodeMeaning = meaning
    return item


def contributing_equipment_item(
    algorithm: Algorithm, when: datetime, description: str = "AI-assisted analysis"
) -> Dataset:
    """One item for ``algorithm``, contributing at ``when``."""
    item = Dataset()
    item.Manufacturer = MANUFACTURER
    item.ManufacturerModelName = algorithm.name[:64]
    item.SoftwareVersions = algorithm.version[:64]
    item.ContributionDateTime = local_time(when).strftime("%Y%m%d%H%M%S%z")
    item.ContributionDescription = description[:1024]
    purpose = code_item("109102", "DCM", "Processing Equipment")
    item.PurposeOfReferenceCodeSequence = Sequence([purpose])
    return item


def add_contributing_equipment(
    dataset: Dataset, algorithms: Iterable[Algorithm], when: datetime, description: str
) -> None:
    """Set (0018,A001) on ``dataset`` to one item per distinct algorithm; none: no attribute."""
    unique = list(dict.fromkeys(algorithms))
    if unique:
        dataset.ContributingEquipmentSequence = Sequence(
            [contributing_equipment_item(a, when, description) for a in unique]
        )
