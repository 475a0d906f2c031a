"""A result folder's manifest: the SHA-256 of every file an analysis wrote, sealed.

Engines (and a reader's review, which names the reader) write ``manifest.json`` last;
the report gate reads it back before anything is signed. A file whose bytes changed,
a listed file that is gone, or a manifest not sealed by this installation's key is
refused: an edited ``lung.json`` can never reach a signed report. The seal is an
HMAC-SHA256 over the manifest's canonical JSON with the key the data folder keeps
(:meth:`workstation.home.HalongHome.result_seal_key`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
SCHEMA = 1


class ManifestError(Exception):
    """A result folder's files do not match what its manifest says was written."""


@dataclass(frozen=True)
class Manifest:
    """What was written into one result folder, by whom and when."""

    folder: Path
    written_by: str
    written_at: str
    #: File name (relative, POSIX) -> SHA-256 hex digest.
    files: Mapping[str, str]

    def paths(self, suffix: str = "") -> list[Path]:
        """The listed files (only those ending in ``suffix``), in name order."""
        return [self.folder / name for name in sorted(self.files) if name.endswith(suffix)]


def _digest(path: Path) -> str:
    hasher = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            hasher.update(block)
    return hasher.hexdigest()


def _canonical(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def _seal(body: Mapping[str, Any], key: bytes) -> str:
    return hmac.new(key, _canonical(body), hashlib.sha256).hexdigest()


def write_manifest(folder: Path, files: Iterable[Path], key: bytes, written_by: str) -> Path:
    """Hash ``files`` (all inside ``folder``) and write the sealed ``manifest.json``.

    ``written_by`` names the writer: the engine and its version, or the reader whose
    review this is. Refuses a file outside the folder (a manifest covers its folder).
    """
    folder = Path(folder)
    listed = {}
    for path in files:
        relative = Path(path).resolve().relative_to(folder.resolve()).as_posix()
        listed[relative] = _digest(Path(path))
    body = {
        "schema": SCHEMA,
        "written_by": written_by,
        "written_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "files": listed,
    }
    document = {**body, "seal": _seal(body, key)}
    path = folder / MANIFEST
    path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def read_manifest(folder: Path, key: bytes) -> Manifest:
    """The folder's manifest, once every listed file matches it and its seal is ours."""
    folder = Path(folder)
    path = folder / MANIFEST
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        body = {name: document[name] for name in ("schema", "written_by", "written_at", "files")}
        seal = str(document["seal"])
        files = {str(name): str(digest) for name, digest in dict(body["files"]).items()}
    except FileNotFoundError:
        raise ManifestError(
            f"{folder} has no {MANIFEST}: it was not written by Halong's analysis (or by an "
            "older version); run the analysis again"
        ) from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise ManifestError(f"{path} cannot be read") from None
    if not hmac.compare_digest(seal, _seal(body, key)):
        raise ManifestError(
            f"{path} was not written by this Halong installation, or was changed since"
        )
    for name, digest in files.items():
        listed = folder / name
        if not listed.is_file():
            raise ManifestError(f"{listed} is listed in the manifest but missing")
        if not hmac.compare_digest(_digest(listed), digest):
            raise ManifestError(
                f"{listed} was changed after the analysis wrote it (its SHA-256 no longer "
                "matches the manifest): run the analysis again, or make edits in the review"
            )
    return Manifest(folder, str(body["written_by"]), str(body["written_at"]), files)
