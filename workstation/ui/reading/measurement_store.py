"""Measurements kept per study, as JSON under the Halong home folder.

``<home>/measurements/<study UID>.json`` holds the study's measurements in the
form :meth:`Measurement.to_dict` gives. Writes are atomic (a temporary file in
the same folder, then a rename), so a crash never leaves half a file. Qt-free.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from workstation.model.durable import write_atomically
from workstation.model.measurements import Measurement

FORMAT_VERSION = 1
_SAFE_NAME = re.compile(r"[0-9.]{1,64}")


class MeasurementFileError(Exception):
    """A measurements file that cannot be read or written; the message says which and why."""


class MeasurementStore:
    """Reads and writes the measurement files in ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path_for(self, study_key: str) -> Path:
        """The file of one study: its UID as the name, a hash for anything else."""
        if _SAFE_NAME.fullmatch(study_key):
            name = study_key
        else:
            name = "key-" + hashlib.sha1(study_key.encode("utf-8", "replace")).hexdigest()
        return self.folder / f"{name}.json"

    def load(self, study_key: str) -> list[Measurement]:
        """The study's measurements; none when nothing was saved yet."""
        path = self.path_for(study_key)
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as error:
            raise MeasurementFileError(
                f"cannot read the measurements in {path}: {error}"
            ) from error
        try:
            return [Measurement.from_dict(item) for item in document["measurements"]]
        except (KeyError, TypeError, ValueError) as error:
            raise MeasurementFileError(
                f"the measurements file {path} is damaged ({type(error).__name__}: {error})"
            ) from error

    def save(self, study_key: str, measurements: list[Measurement]) -> Path:
        """Replace the study's file atomically with ``measurements``."""
        path = self.path_for(study_key)
        document = {
            "format_version": FORMAT_VERSION,
            "study": study_key,
            "measurements": [measurement.to_dict() for measurement in measurements],
        }
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            write_atomically(path, json.dumps(document, indent=2).encode("utf-8"))
        except OSError as error:
            raise MeasurementFileError(
                f"cannot save the measurements to {path}: {error}"
            ) from error
        return path
