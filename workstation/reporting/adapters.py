"""How a capability plugs its results into reports, without reporting knowing it.

Reporting is generic: it reads result folders, lets the physician decide on findings,
renders, signs and sends. What a ``lung.json`` or a ``perfusion.json`` means is told
by the capability's :class:`ResultAdapter`, registered as an entry point of the group
``halong.result_adapters`` (see ``pyproject.toml``): a new capability is a new package
and one line there, and no module of :mod:`workstation.reporting` changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from workstation.model.report import AIFinding, Algorithm

if TYPE_CHECKING:
    from workstation.model.report import Report
    from workstation.reporting.results import ResultSet
    from workstation.reporting.templates import Labels

ENTRY_POINT_GROUP = "halong.result_adapters"


class AdapterError(Exception):
    """No capability knows the result, or a capability is installed wrongly."""


class ResultAdapter(Protocol):
    """One capability's results, as reporting needs them."""

    #: The capability's one word, e.g. ``lung``; also the template's result kind.
    kind: str
    #: The file the engine writes, e.g. ``lung.json``.
    result_file: str
    #: The JSON schema in ``resources/schemas`` the result must pass.
    schema: str
    #: The ``AIFinding.kind`` values this adapter makes.
    finding_kinds: tuple[str, ...]
    #: Those recomputed from the accepted findings (exam-level categories).
    exam_finding_kinds: tuple[str, ...]

    def series_uid(self, document: Mapping[str, Any]) -> str:
        """The series the result was computed on."""

    def findings(
        self, document: Mapping[str, Any], algorithm: Algorithm, labels: Labels
    ) -> Iterable[AIFinding]:
        """The result as findings a physician accepts or rejects, all pending (or as a
        named reader already decided in a review the result records)."""

    def refreshed(self, findings: Sequence[AIFinding], labels: Labels) -> tuple[AIFinding, ...]:
        """``findings`` with every exam-level finding recomputed from the accepted ones."""

    def category(self, finding: AIFinding, labels: Labels) -> str:
        """The category column of the report's findings table (may be empty)."""

    def conclusion_line(self, finding: AIFinding, labels: Labels) -> str:
        """The line an accepted finding gives the impression ("" for none)."""

    def recommendation(self, finding: AIFinding, labels: Labels) -> str:
        """The line an accepted finding gives the recommendations ("" for none)."""

    def summary_box(self, finding: AIFinding, labels: Labels) -> tuple[str, list[str]] | None:
        """A boxed summary (heading, lines) the PDF prints for the finding, or None."""

    def write_report_dicom(
        self,
        report: Report,
        result: ResultSet,
        out_dir: Path,
        names: Mapping[str, str],
        database_path: Path | None,
        previous_sr: Sequence[Path],
    ) -> dict[str, Path]:
        """The physician-verified DICOM objects of the accepted findings (maybe none)."""


@cache
def adapters() -> tuple[ResultAdapter, ...]:
    """Every installed capability's adapter, loaded once, in name order."""
    found = []
    for point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda p: p.name):
        try:
            found.append(point.load())
        except Exception as error:  # a broken plug-in is named, never a traceback
            raise AdapterError(f"result adapter {point.name!r} cannot be loaded: {error}") from None
    if not found:
        raise AdapterError(
            f"no result adapters installed (entry points {ENTRY_POINT_GROUP!r}): "
            "reinstall Halong (pip install -e .)"
        )
    return tuple(found)


def adapter_for_folder(folder: Path) -> ResultAdapter:
    """The adapter whose result file ``folder`` holds."""
    for adapter in adapters():
        if (folder / adapter.result_file).is_file():
            return adapter
    names = " or ".join(adapter.result_file for adapter in adapters())
    raise AdapterError(f"{folder}: no {names} found")


def adapter_for_finding(finding: AIFinding) -> ResultAdapter | None:
    """The adapter that made ``finding`` (None for a kind no installed capability makes)."""
    for adapter in adapters():
        if finding.kind in adapter.finding_kinds:
            return adapter
    return None


def refreshed_findings(findings: Sequence[AIFinding], labels: Labels) -> tuple[AIFinding, ...]:
    """Every capability's exam-level findings recomputed from the accepted ones."""
    for adapter in adapters():
        findings = adapter.refreshed(findings, labels)
    return tuple(findings)
