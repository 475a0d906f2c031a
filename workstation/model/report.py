"""The radiology report: what the physician writes, accepts and signs.

Qt-free and immutable: every change returns a new :class:`Report`, so the editor,
the draft journal and the renderers share one value and nobody edits it behind
their back. The rules the law and the hospital care about live here, once:

* a report is a draft until the reading physician finalises it; a final report is
  never edited again: a correction is a new version (``amended``) that names the
  version it replaces;
* nothing AI-made enters a final report unless a physician accepted it: finalising
  drops every AI finding that is not accepted, and :func:`require_releasable` lets
  every output (PDF, SR, FHIR, HL7) refuse a report that breaks the rule;
* AI content keeps the algorithm's name and version, so outputs can label it;
* diagnoses are ICD-10 codes of the WHO edition (what Vietnam's health records use);
* a final report states findings and an impression: empty text is never signed.
"""

from __future__ import annotations

import dataclasses
import math
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum
from typing import Any, Self

_ICD10_PATTERN = re.compile(r"^[A-Z][0-9]{2}(\.[0-9]{1,2})?$")


class ReportStatus(StrEnum):
    DRAFT = "draft"
    FINAL = "final"
    #: A final version that corrects an earlier final version.
    AMENDED = "amended"


class Decision(StrEnum):
    """What the physician decided about one AI finding."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class ReportLockedError(Exception):
    """Raised on any attempt to change a report that is no longer a draft."""


class ReportRuleError(Exception):
    """Raised when a report would break a reporting rule (e.g. an unaccepted AI finding)."""


#: Vietnam's time (no daylight saving): how reports show and stamp local times.
LOCAL_TIMEZONE = timezone(timedelta(hours=7), "UTC+07:00")


def now_utc() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def local_time(moment: datetime) -> datetime:
    """``moment`` in the hospital's local time (naive values are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(LOCAL_TIMEZONE)


@dataclass(frozen=True)
class Algorithm:
    """The AI that produced a finding: named on every output that shows it."""

    name: str
    version: str
    device: str = ""

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}".strip()


@dataclass(frozen=True)
class Measurement:
    """One number with its UCUM unit (``mm3``, ``mm``, ``mL``, ``1`` for ratios).

    ``value`` may be ``math.inf`` (a mismatch ratio with no core): outputs that
    cannot carry infinity say so instead of inventing a number.
    """

    key: str
    label: str
    value: float
    unit: str

    @property
    def is_finite(self) -> bool:
        return math.isfinite(self.value)


@dataclass(frozen=True)
class AIFinding:
    """One thing an AI engine found, waiting for (or carrying) a physician's decision.

    ``data`` is the engine's own record (one item of ``lung.json``'s ``nodules``, or
    the volumes of ``perfusion.json``), kept so DICOM writers can rebuild their
    objects from exactly what was accepted.
    """

    finding_id: str
    kind: str
    title: str
    algorithm: Algorithm
    measurements: tuple[Measurement, ...] = ()
    summary: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)
    decision: Decision = Decision.PENDING
    decided_by: str = ""
    decided_at: datetime | None = None

    @property
    def accepted(self) -> bool:
        return self.decision is Decision.ACCEPTED


@dataclass(frozen=True)
class Icd10Code:
    """A WHO ICD-10 code such as ``I63.9``, ``R91`` or ``C34.1``."""

    code: str
    display: str

    def __post_init__(self) -> None:
        if not _ICD10_PATTERN.match(self.code):
            raise ValueError(f"not an ICD-10 code: {self.code!r}")


@dataclass(frozen=True)
class Physician:
    """The reading physician; ``identifier`` is e.g. the practising licence number."""

    name: str
    identifier: str = ""


@dataclass(frozen=True)
class Patient:
    patient_id: str
    name: str  # DICOM PN form, ``Family^Given``
    birth_date: str = ""  # YYYYMMDD
    sex: str = ""  # M, F, O or empty
    issuer: str = ""


@dataclass(frozen=True)
class SeriesRef:
    series_uid: str
    modality: str
    number: int | None = None
    description: str = ""
    instance_count: int = 0


@dataclass(frozen=True)
class Study:
    study_uid: str
    accession_number: str = ""
    study_date: str = ""  # YYYYMMDD
    study_time: str = ""  # HHMMSS
    modality: str = ""
    description: str = ""
    series: tuple[SeriesRef, ...] = ()
    study_id: str = ""  # DICOM Study ID (0020,0010), as the scanner set it


#: Fields a physician may change while the report is a draft.
EDITABLE_FIELDS = frozenset(
    {"indication", "technique", "findings_text", "impression", "recommendations", "icd10"}
)


@dataclass(frozen=True)
class Report:
    """One version of a radiology report; a new one is a draft."""

    patient: Patient
    study: Study
    template_id: str
    language: str
    exam_code: str  # LOINC code of the exam
    exam_display: str
    institution: str = ""
    indication: str = ""
    technique: str = ""
    findings_text: str = ""
    impression: str = ""
    recommendations: str = ""
    icd10: tuple[Icd10Code, ...] = ()
    ai_findings: tuple[AIFinding, ...] = ()
    status: ReportStatus = ReportStatus.DRAFT
    #: Unique to this version.
    report_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    #: Shared by every version of the same report.
    set_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    version: int = 1
    #: ``report_id`` of the final version this one corrects.
    replaces: str = ""
    amendment_reason: str = ""
    physician: Physician | None = None
    created_at: datetime = field(default_factory=now_utc)
    finalized_at: datetime | None = None

    # -- state -----------------------------------------------------------------------------

    @property
    def is_draft(self) -> bool:
        return self.status is ReportStatus.DRAFT

    def finding(self, finding_id: str) -> AIFinding:
        for finding in self.ai_findings:
            if finding.finding_id == finding_id:
                return finding
        raise KeyError(f"no AI finding {finding_id!r} in this report")

    @property
    def accepted_findings(self) -> tuple[AIFinding, ...]:
        return tuple(finding for finding in self.ai_findings if finding.accepted)

    # -- draft changes ---------------------------------------------------------------------

    def _require_draft(self) -> None:
        if not self.is_draft:
            raise ReportLockedError(
                f"report {self.report_id} version {self.version} is {self.status.value}: "
                "it cannot be changed; amend it to make a new version"
            )

    def edit(self, **changes: Any) -> Self:
        """A copy with the given text fields changed (drafts only)."""
        self._require_draft()
        unknown = set(changes) - EDITABLE_FIELDS
        if unknown:
            raise ReportRuleError(f"not editable: {', '.join(sorted(unknown))}")
        if "icd10" in changes:
            changes["icd10"] = tuple(changes["icd10"])
        return dataclasses.replace(self, **changes)

    def decide(
        self, finding_id: str, decision: Decision, physician: str, at: datetime | None = None
    ) -> Self:
        """Record the physician's decision on one AI finding (drafts only)."""
        self._require_draft()
        if not physician.strip():
            raise ReportRuleError("a decision on an AI finding needs the physician's name")
        target = self.finding(finding_id)
        decided = dataclasses.replace(
            target,
            decision=Decision(decision),
            decided_by=physician,
            decided_at=None if decision is Decision.PENDING else (at or now_utc()),
        )
        findings = tuple(decided if f is target else f for f in self.ai_findings)
        return dataclasses.replace(self, ai_findings=findings)

    def accept(self, finding_id: str, physician: str, at: datetime | None = None) -> Self:
        return self.decide(finding_id, Decision.ACCEPTED, physician, at)

    def reject(self, finding_id: str, physician: str, at: datetime | None = None) -> Self:
        return self.decide(finding_id, Decision.REJECTED, physician, at)

    # -- lifecycle -------------------------------------------------------------------------

    def finalize(self, physician: Physician, at: datetime | None = None) -> Self:
        """The final (or amended) version: locked, with only the accepted AI findings."""
        self._require_draft()
        if not physician.name.strip():
            raise ReportRuleError("a final report needs the reading physician")
        if not self.icd10:
            raise ReportRuleError("a final report needs at least one ICD-10 code")
        for name, heading in (("findings_text", "findings"), ("impression", "an impression")):
            if not has_content(getattr(self, name)):
                raise ReportRuleError(
                    f"a final report needs {heading}: the text is empty (only headings)"
                )
        final = dataclasses.replace(
            self,
            ai_findings=self.accepted_findings,
            status=ReportStatus.AMENDED if self.replaces else ReportStatus.FINAL,
            physician=physician,
            finalized_at=at or now_utc(),
        )
        require_releasable(final)
        return final

    def amend(self, reason: str, at: datetime | None = None) -> Self:
        """A new draft version that corrects this final one and points back at it."""
        if self.is_draft:
            raise ReportRuleError("only a final report can be amended; edit the draft instead")
        if not reason.strip():
            raise ReportRuleError("an amendment needs a reason")
        return dataclasses.replace(
            self,
            status=ReportStatus.DRAFT,
            report_id=uuid.uuid4().hex,
            version=self.version + 1,
            replaces=self.report_id,
            amendment_reason=reason,
            created_at=at or now_utc(),
            finalized_at=None,
        )

    # -- JSON ------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return _encode(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        values = dict(data)
        values["patient"] = Patient(**values["patient"])
        study = dict(values["study"])
        study["series"] = tuple(SeriesRef(**s) for s in study.get("series", ()))
        values["study"] = Study(**study)
        values["icd10"] = tuple(Icd10Code(**c) for c in values.get("icd10", ()))
        values["ai_findings"] = tuple(_finding_from_dict(f) for f in values.get("ai_findings", ()))
        values["status"] = ReportStatus(values["status"])
        if values.get("physician"):
            values["physician"] = Physician(**values["physician"])
        values["created_at"] = _parse_time(values["created_at"])
        values["finalized_at"] = _parse_time(values.get("finalized_at"))
        return cls(**values)


def has_content(text: str) -> bool:
    """Whether ``text`` says something: a template's bare headings ("Lungs: ") do not."""
    return any(line.partition(":")[2 if ":" in line else 0].strip() for line in text.splitlines())


def require_releasable(report: Report) -> None:
    """Refuse a report that must not leave the workstation: a draft, or unaccepted AI."""
    if report.is_draft:
        raise ReportRuleError("a draft report cannot be released; finalise and sign it first")
    unaccepted = [f.finding_id for f in report.ai_findings if not f.accepted]
    if unaccepted:
        raise ReportRuleError(f"AI findings not accepted by a physician: {', '.join(unaccepted)}")


def _finding_from_dict(data: Mapping[str, Any]) -> AIFinding:
    values = dict(data)
    values["algorithm"] = Algorithm(**values["algorithm"])
    values["measurements"] = tuple(
        Measurement(**{**m, "value": float(m["value"])}) for m in values.get("measurements", ())
    )
    values["decision"] = Decision(values["decision"])
    values["decided_at"] = _parse_time(values.get("decided_at"))
    return AIFinding(**values)


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _encode(value: Any) -> Any:
    """JSON-ready: datetimes as ISO text, enums as values, infinity as a string."""
    if isinstance(value, dict):
        return {key: _encode(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)  # 'inf': float('inf') reads it back
    return value
