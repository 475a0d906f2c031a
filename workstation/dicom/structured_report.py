"""TID 1500 Measurement Reports (Comprehensive 3D SR) of segmented findings, via highdicom.

One volumetric ROI group per finding, each pointing at its segment in a SEG object,
with its tracking identifier (human-readable ID and UID, shared with the SEG and with
later studies), finding type and site, measurements (value, unit, and the algorithm
that measured it) and qualitative evaluations. The observation context names the
device (the algorithm) as observer.

AI output is written unverified (``VerificationFlag`` UNVERIFIED). A report a physician
has checked is written with a :class:`Verifier`: the flag becomes VERIFIED and the
verifying observer and organisation are recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import highdicom as hd
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code
from pydicom.uid import generate_uid

from workstation.dicom.contributing_equipment import MANUFACTURER
from workstation.model.report import Algorithm

EXAM_ASSESSMENT = "Examination assessment"
#: SNOMED CT "CT of chest".
CT_CHEST = Code("169069000", "SCT", "CT of chest")


@dataclass(frozen=True)
class Quantity:
    """A numeric measurement: concept, value and UCUM unit (optionally a derivation)."""

    name: Code
    value: float
    unit: Code
    derivation: Code | None = None


@dataclass(frozen=True)
class Evaluation:
    """A coded finding about the ROI (e.g. composition: part solid)."""

    name: Code
    value: Code


@dataclass(frozen=True)
class Finding:
    """One segmented finding reported as a volumetric ROI group."""

    segment_number: int
    tracking_id: str
    tracking_uid: str
    finding_type: Code = codes.SCT.Nodule
    finding_site: Code | None = None
    quantities: Sequence[Quantity] = field(default_factory=tuple)
    evaluations: Sequence[Evaluation] = field(default_factory=tuple)


@dataclass(frozen=True)
class Verifier:
    """The physician who verified the report, and where."""

    name: str  # DICOM person name, e.g. "Nguyen^Lan"
    organization: str


def write_measurement_report(
    source_images: Sequence[Dataset],
    segmentation: Dataset | None,
    findings: Sequence[Finding],
    path: str | Path,
    algorithm: Algorithm,
    *,
    verifier: Verifier | None = None,
    assessment: Sequence[Evaluation] = (),
    series_number: int = 901,
    series_description: str = "Measurement report",
    institution: str | None = None,
) -> hd.sr.Comprehensive3DSR:
    """Write a Comprehensive 3D SR (TID 1500) for ``findings`` segmented in ``segmentation``.

    ``assessment`` holds evaluations of the whole examination (e.g. its Lung-RADS
    category); they go into a measurement group of their own, which is also how a
    report says that nothing was found (``segmentation`` may then be None).
    """
    if findings and segmentation is None:
        raise ValueError("findings need the segmentation their ROIs refer to")
    if not findings and not assessment:
        raise ValueError("a measurement report needs findings or an assessment of the exam")
    algorithm_id = hd.sr.AlgorithmIdentification(name=algorithm.name, version=algorithm.version)
    device = hd.sr.ObserverContext(
        observer_type=codes.DCM.Device,
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=generate_uid(entropy_srcs=[algorithm.name, algorithm.version]),
            name=algorithm.name,
            manufacturer_name=MANUFACTURER,
            model_name=algorithm.version,
        ),
    )
    groups: list = [_group(f, segmentation, algorithm_id) for f in findings] if segmentation else []
    if assessment:
        groups.append(
            hd.sr.MeasurementsAndQualitativeEvaluations(
                tracking_identifier=hd.sr.TrackingIdentifier(
                    uid=generate_uid(), identifier=EXAM_ASSESSMENT
                ),
                algorithm_id=algorithm_id,
                qualitative_evaluations=[
                    hd.sr.QualitativeEvaluation(e.name, e.value) for e in assessment
                ],
            )
        )
    report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(observer_device_context=device),
        procedure_reported=CT_CHEST,
        imaging_measurements=groups,
    )
    sr = hd.sr.Comprehensive3DSR(
        evidence=[*source_images, *([segmentation] if segmentation is not None else [])],
        content=report,
        series_instance_uid=generate_uid(),
        series_number=series_number,
        sop_instance_uid=generate_uid(),
        instance_number=1,
        manufacturer=MANUFACTURER,
        is_complete=True,
        is_final=verifier is not None,
        is_verified=verifier is not None,
        verifying_observer_name=verifier.name if verifier else None,
        verifying_organization=verifier.organization if verifier else None,
        institution_name=institution,
    )
    sr.SeriesDescription = series_description[:64]
    sr.save_as(Path(path), enforce_file_format=True)
    return sr


def _group(
    finding: Finding, segmentation: Dataset, algorithm_id: hd.sr.AlgorithmIdentification
) -> hd.sr.VolumetricROIMeasurementsAndQualitativeEvaluations:
    measurements = [
        hd.sr.Measurement(
            name=q.name,
            value=float(q.value),
            unit=q.unit,
            derivation=q.derivation,
            algorithm_id=algorithm_id,
        )
        for q in finding.quantities
    ]
    evaluations = [hd.sr.QualitativeEvaluation(e.name, e.value) for e in finding.evaluations]
    sites = [hd.sr.FindingSite(finding.finding_site)] if finding.finding_site else None
    return hd.sr.VolumetricROIMeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(
            uid=finding.tracking_uid, identifier=finding.tracking_id
        ),
        referenced_segment=hd.sr.ReferencedSegment(
            sop_class_uid=segmentation.SOPClassUID,
            sop_instance_uid=segmentation.SOPInstanceUID,
            segment_number=finding.segment_number,
            source_series=hd.sr.SourceSeriesForSegmentation(
                segmentation.ReferencedSeriesSequence[0].SeriesInstanceUID
            ),
        ),
        finding_type=finding.finding_type,
        finding_category=codes.SCT.MorphologicallyAbnormalStructure,
        finding_sites=sites,
        algorithm_id=algorithm_id,
        measurements=measurements or None,
        qualitative_evaluations=evaluations or None,
    )
