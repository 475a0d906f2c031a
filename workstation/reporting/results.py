"""AI result folders as findings a physician can accept, whatever the capability.

A result folder holds what one analysis wrote: its result file (``lung.json``,
``perfusion.json``; the capability's :class:`~workstation.reporting.adapters.ResultAdapter`
says which and what it means), its DICOM objects and pictures, and the sealed
``manifest.json`` the report gate checks. Every finding starts ``pending`` and carries
the algorithm's name and version from the result file.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workstation.model.report import AIFinding, Algorithm, Measurement
from workstation.reporting.adapters import AdapterError, ResultAdapter, adapter_for_folder
from workstation.reporting.result_schema import ResultSchemaError, require_valid
from workstation.reporting.templates import Labels


class ResultError(Exception):
    """A result folder holds no result we can read."""


@dataclass(frozen=True)
class ResultSet:
    """What one engine wrote into one folder."""

    folder: Path
    adapter: ResultAdapter
    document: Mapping[str, Any]
    algorithm: Algorithm
    findings: tuple[AIFinding, ...]

    @property
    def kind(self) -> str:
        return self.adapter.kind

    @property
    def result_path(self) -> Path:
        return self.folder / self.adapter.result_file

    @property
    def modality(self) -> str:
        return str(self.document.get("modality") or "CT")

    @property
    def series_uid(self) -> str:
        return self.adapter.series_uid(self.document)

    @property
    def dicom_files(self) -> list[Path]:
        """The DICOM objects the engine wrote (beside the result file or in ``dicom/``)."""
        return sorted([*self.folder.glob("*.dcm"), *self.folder.glob("dicom/*.dcm")])

    @property
    def images(self) -> list[Path]:
        """PNG pictures the engine drew (e.g. perfusion ``summary.png``)."""
        return sorted(self.folder.glob("*.png"))


def load_results(folder: str | Path, labels: Labels) -> ResultSet:
    """Read the result file in ``folder`` and turn it into pending findings."""
    folder = Path(folder)
    try:
        adapter = adapter_for_folder(folder)
    except AdapterError as error:
        raise ResultError(str(error)) from None
    path = folder / adapter.result_file
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise ResultError(f"{path}: the result file cannot be read ({error})") from None
    if not isinstance(document, Mapping):
        raise ResultError(f"{path} does not hold a result (not a JSON object)")
    try:  # a field the report uses that is missing or malformed is named, never a traceback
        require_valid(document, adapter.schema, str(path))
    except ResultSchemaError as error:
        raise ResultError(str(error)) from None
    algorithm = _algorithm(document, default_name=f"halong-{adapter.kind}")
    try:
        findings = tuple(adapter.findings(document, algorithm, labels))
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        message = f"{path} is not a {adapter.kind} result Halong can read ({error})"
        raise ResultError(message) from None
    return ResultSet(folder, adapter, document, algorithm, findings)


def _algorithm(document: Mapping[str, Any], default_name: str) -> Algorithm:
    algorithm = document.get("algorithm") or {}
    if not isinstance(algorithm, Mapping):
        algorithm = {}
    return Algorithm(
        name=str(algorithm.get("name") or default_name),
        version=str(algorithm.get("version") or "unknown"),
        device=str(algorithm.get("device") or ""),
    )


def number(value: Any) -> float | None:
    """A float from a JSON value; ``"inf"``/``"Infinity"``/``null`` ratios included."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.inf if str(value).strip().lower() in {"∞", "infinite"} else None


def measurements_of(
    record: Mapping[str, Any], units: Mapping[str, str], labels: Labels
) -> Iterable[Measurement]:
    """The numbers of ``record`` named in ``units`` (key -> UCUM unit), in that order."""
    for key, unit in units.items():
        value = number(record.get(key))
        if value is not None:
            yield Measurement(key, labels.measurement(key), value, unit)


def format_value(value: float, labels: Labels, digits: int = 1) -> str:
    return labels["infinite"] if math.isinf(value) else f"{value:.{digits}f}"
