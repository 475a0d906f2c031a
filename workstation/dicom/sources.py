"""Find the files an import reads: single files, folders walked recursively, zip members.

A generator, so a folder of 100,000 files is never listed in memory at once. What
cannot be read (a symbolic link loop, a dangling link, an unreadable folder, a name
that is not UTF-8) is yielded as a :class:`SkippedFile` with its reason, and the walk
goes on. Zip members come from :mod:`workstation.dicom.zip_source`.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from workstation.dicom.import_report import Candidate, Found, SkippedFile
from workstation.dicom.zip_source import ZipLimits, iter_zip_members


def iter_candidates(
    paths: Iterable[str | os.PathLike[str]], store: Path, zip_limits: ZipLimits
) -> Iterator[Found]:
    """Yield every file under ``paths`` in name order, or why it cannot be read."""
    for given in paths:
        path = os.path.abspath(given)
        problem = _broken_link(path)
        if problem:
            yield SkippedFile(_as_utf8(path), problem)
        elif os.path.isdir(path):
            yield from _walk(path, store, zip_limits, frozenset())
        elif os.path.lexists(path):
            yield from _file(path, store, zip_limits)
        else:
            yield SkippedFile(_as_utf8(path), "no such file or folder")


def _walk(
    folder: str, store: Path, zip_limits: ZipLimits, ancestors: frozenset[tuple[int, int]]
) -> Iterator[Found]:
    """Walk a folder; ``ancestors`` stops symbolic-link loops (not links to siblings)."""
    try:
        status = os.stat(folder)
        with os.scandir(folder) as scan:
            entries = sorted(scan, key=lambda entry: entry.name)
    except OSError as error:
        yield SkippedFile(_as_utf8(folder), f"cannot read the folder ({error.strerror})")
        return
    identity = (status.st_dev, status.st_ino)
    if identity in ancestors:
        return
    for entry in entries:
        problem = _broken_link(entry.path) if entry.is_symlink() else None
        if problem:
            yield SkippedFile(_as_utf8(entry.path), problem)
        elif entry.is_dir():
            yield from _walk(entry.path, store, zip_limits, ancestors | {identity})
        else:
            yield from _file(entry.path, store, zip_limits)


def _broken_link(path: str) -> str | None:
    """Why a symbolic link leads to no file (a loop, a missing target), or None."""
    if not os.path.islink(path):
        return None
    try:
        os.stat(path)
    except OSError as error:
        if error.errno == errno.ELOOP:
            return "symbolic link loop (the link leads back to itself)"
        if error.errno == errno.ENOENT:
            target = _as_utf8(os.readlink(path))
            return f"dangling symbolic link (its target {target} does not exist)"
        return f"cannot follow the symbolic link ({error.strerror})"
    return None


def _file(path: str, store: Path, zip_limits: ZipLimits) -> Iterator[Found]:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        yield SkippedFile(_as_utf8(path), "the file name is not valid UTF-8; rename it")
        return
    if path.lower().endswith(".zip"):
        yield from iter_zip_members(path, store, zip_limits)
    else:
        yield Candidate(path, path)


def _as_utf8(path: str) -> str:
    """The path with undecodable bytes replaced, safe to store (printing escapes the rest)."""
    return os.fsencode(path).decode("utf-8", "replace")
