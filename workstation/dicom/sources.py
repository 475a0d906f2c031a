"""Find the files an import reads: single files, folders walked recursively, zip members.

A generator, so a folder of 100,000 files is never listed in memory at once. Zip
members cannot be read in place by the viewer later, so each one is extracted into
a temporary file under the store; the importer moves the ones it keeps and the rest
are deleted as soon as the importer asks for the next file.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from workstation.dicom.import_report import SkippedFile

_ZIP_READ_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    RuntimeError,  # encrypted member
    NotImplementedError,  # compression method zipfile does not know
    EOFError,
    OSError,
    ValueError,
)


@dataclass(frozen=True)
class Candidate:
    """A file to read: ``label`` names it for the user, ``path`` is where its bytes are now."""

    label: str
    path: str
    #: A temporary extracted copy of a zip member: move it to keep it.
    extracted: bool = False


Found = Candidate | SkippedFile


def iter_candidates(paths: Iterable[str | os.PathLike[str]], store: Path) -> Iterator[Found]:
    """Yield every file under ``paths`` in name order, or why it cannot be read."""
    for given in paths:
        path = os.path.abspath(given)
        if os.path.isdir(path):
            yield from _walk(path, store, frozenset())
        elif os.path.lexists(path):
            yield from _file(path, store)
        else:
            yield SkippedFile(_printable(path), "no such file or folder")


def _walk(folder: str, store: Path, ancestors: frozenset[tuple[int, int]]) -> Iterator[Found]:
    """Walk a folder; ``ancestors`` stops symbolic-link loops (not links to siblings)."""
    try:
        status = os.stat(folder)
        with os.scandir(folder) as scan:
            entries = sorted(scan, key=lambda entry: entry.name)
    except OSError as error:
        yield SkippedFile(_printable(folder), f"cannot read the folder ({error.strerror})")
        return
    identity = (status.st_dev, status.st_ino)
    if identity in ancestors:
        return
    for entry in entries:
        if entry.is_dir():
            yield from _walk(entry.path, store, ancestors | {identity})
        else:
            yield from _file(entry.path, store)


def _file(path: str, store: Path) -> Iterator[Found]:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        yield SkippedFile(_printable(path), "the file name is not valid UTF-8; rename it")
        return
    if path.lower().endswith(".zip"):
        yield from _zip_members(path, store)
    else:
        yield Candidate(path, path)


def _zip_members(archive_path: str, store: Path) -> Iterator[Found]:
    try:
        archive = zipfile.ZipFile(archive_path)
    except _ZIP_READ_ERRORS as error:
        yield SkippedFile(archive_path, f"not a readable zip archive ({error})")
        return
    try:
        store.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        archive.close()
        yield SkippedFile(archive_path, f"cannot create the store {store} ({error.strerror})")
        return
    # Extract next to the store, so keeping a member is a rename, not a second copy.
    with archive, tempfile.TemporaryDirectory(dir=store, prefix=".unzip-") as staging:
        for index, member in enumerate(archive.infolist()):
            if member.is_dir():
                continue
            label = f"{archive_path}/{member.filename}"
            extracted = os.path.join(staging, f"{index}.member")
            try:
                with archive.open(member) as source, open(extracted, "wb") as target:
                    shutil.copyfileobj(source, target, 1 << 20)
            except _ZIP_READ_ERRORS as error:
                yield SkippedFile(label, f"cannot extract it from the zip archive ({error})")
            else:
                yield Candidate(label, extracted, extracted=True)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.remove(extracted)


def _printable(path: str) -> str:
    """The path with undecodable bytes replaced, safe to print and store."""
    return os.fsencode(path).decode("utf-8", "replace")
