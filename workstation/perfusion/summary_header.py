"""Who and when a perfusion summary is about: read from the source images, never typed.

The summary reaches phones and the PACS on its own, so it names its patient and study
and says how long the result took: from the last image when the caller knows when that
arrived (the triage node), else the analysis' own duration (``halong perfusion``).
"""

from __future__ import annotations

from dataclasses import dataclass

from workstation.perfusion.inputs import SourceStudy
from workstation.reporting.summary_identity import SummarySubject, age_string, subject_of

__all__ = ["ResultTime", "SummarySubject", "age_string", "summary_subject"]


@dataclass(frozen=True)
class ResultTime:
    """How long the result took, and from what."""

    seconds: float
    #: True: from the last image of the study; False: the analysis' own duration.
    since_last_image: bool


def summary_subject(source: SourceStudy) -> SummarySubject:
    """The subject the source study's reference header states."""
    return subject_of(source.reference, made_up=source.made_up)
