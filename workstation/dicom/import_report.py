"""What an import reads and what became of each file, in a form the CLI and the UI can show."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from workstation.model.user_text import printable


@dataclass(frozen=True)
class Candidate:
    """A file to read: ``label`` names it for the user, ``path`` is where its bytes are now."""

    label: str
    path: str
    #: A temporary extracted copy of a zip member: move it to keep it.
    extracted: bool = False


@dataclass(frozen=True)
class SkippedFile:
    """A file (or zip member, ``archive.zip/member``) that was not indexed, and why."""

    path: str
    reason: str

    def line(self) -> str:
        """``path: reason`` safe to print: names from disks and archives may hold escapes."""
        return f"{printable(self.path)}: {printable(self.reason)}"


#: What a source yields: a file to read, or why one cannot be.
Found = Candidate | SkippedFile


@dataclass
class ImportReport:
    """Counts per outcome; every file seen lands in exactly one of them."""

    imported: int = 0
    already_indexed: int = 0
    skipped: list[SkippedFile] = field(default_factory=list)
    #: The user stopped the import; what was read before that is indexed.
    cancelled: bool = False

    @property
    def files_seen(self) -> int:
        return self.imported + self.already_indexed + len(self.skipped)

    @property
    def found_images(self) -> bool:
        """Whether anything usable was found (new or already indexed)."""
        return self.imported + self.already_indexed > 0

    def to_json(self) -> dict[str, Any]:
        return {
            "imported": self.imported,
            "already_indexed": self.already_indexed,
            "skipped": [asdict(skipped) for skipped in self.skipped],
            "cancelled": self.cancelled,
        }
