"""Zip archives as an import source: members extracted one at a time, within limits.

An archive can claim anything: 1 MB that inflates to 1 GiB, members that overlap so
3 MB extract as 3 GiB, a million tiny members. The sizes the central directory
declares are checked against :class:`ZipLimits` before anything is extracted, and
each member is streamed to disk counting the bytes, never more than its header
declared, since headers can lie. A member lives in a staging folder in the store
(keeping it is then a rename) only until the importer asks for the next one. The
folder is locked while in use and removed afterwards, also after an error; what a
killed import left behind, :func:`remove_stale_staging` removes at the next import.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from workstation.dicom.import_report import Candidate, Found, SkippedFile
from workstation.model.user_text import byte_size

GIB = 1 << 30
STAGING_PREFIX = ".unzip-"
#: Members inflating to less than this are never refused for their ratio: a small
#: blank image compresses a thousandfold and harms nobody.
RATIO_EXEMPT_BYTES = 1 << 20
_CHUNK = 1 << 20
_LOCAL_HEADER_BYTES = 30
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
class ZipLimits:
    """How far a zip archive may expand; the defaults refuse zip bombs within seconds.

    DICOM inflates 2 to 10 times, so a ratio above ``max_ratio`` (per member, and for
    the archive as a whole) is a bomb, not a study.
    """

    max_expanded_bytes: int = 64 * GIB
    max_ratio: float = 100.0
    max_members: int = 100_000

    def __post_init__(self) -> None:
        if min(self.max_expanded_bytes, self.max_ratio, self.max_members) <= 0:
            raise ValueError("zip limits must be positive")


class _Refused(Exception):
    """A member whose stream gives more than its header declared."""


def iter_zip_members(archive_path: str, store: Path, limits: ZipLimits) -> Iterator[Found]:
    """Yield each member as a temporary file under ``store``, or why it is skipped."""
    try:
        archive = zipfile.ZipFile(archive_path)
    except _ZIP_READ_ERRORS as error:
        yield SkippedFile(archive_path, f"not a readable zip archive ({error})")
        return
    with archive:
        members = [member for member in archive.infolist() if not member.is_dir()]
        problem = _declared_problem(archive, members, limits)
        if problem:
            yield SkippedFile(archive_path, f"zip archive refused: {problem}")
            return
        try:
            store.mkdir(parents=True, exist_ok=True)
            staging = _locked_staging(store)
        except OSError as error:
            yield SkippedFile(archive_path, f"cannot extract into the store {store} ({error})")
            return
        with staging as folder:
            for index, member in enumerate(members):
                label = f"{archive_path}/{member.filename}"
                found = _extract(archive, member, label, folder, index, limits)
                yield found
                if isinstance(found, Candidate):  # the importer did not keep it
                    with contextlib.suppress(FileNotFoundError):
                        os.remove(found.path)


def _extract(
    archive: zipfile.ZipFile,
    member: zipfile.ZipInfo,
    label: str,
    folder: str,
    index: int,
    limits: ZipLimits,
) -> Found:
    """The member as a file in ``folder``, or why not (nothing is left of a failed one)."""
    problem = _ratio_problem(member.file_size, member.compress_size, limits)
    if problem:
        return SkippedFile(label, f"refused: {problem} (a zip bomb?)")
    target = os.path.join(folder, f"{index}.member")
    try:
        with archive.open(member) as source, open(target, "wb") as copy:
            _copy_declared(source, copy, member.file_size)
    except (_Refused, *_ZIP_READ_ERRORS) as error:
        with contextlib.suppress(FileNotFoundError):
            os.remove(target)
        return SkippedFile(label, f"cannot extract it from the zip archive ({error})")
    return Candidate(label, target, extracted=True)


def _copy_declared(source: BinaryIO, target: BinaryIO, declared: int) -> None:
    """Copy at most ``declared`` bytes; a stream that gives more has a forged header."""
    copied = 0
    while chunk := source.read(min(_CHUNK, declared - copied + 1)):
        copied += len(chunk)
        if copied > declared:
            raise _Refused(f"it inflates beyond the {declared} bytes its header declares")
        target.write(chunk)


def _declared_problem(
    archive: zipfile.ZipFile, members: list[zipfile.ZipInfo], limits: ZipLimits
) -> str | None:
    """Why the central directory alone shows the whole archive is a bomb, or None."""
    if len(members) > limits.max_members:
        return f"{len(members)} members, more than the limit of {limits.max_members}"
    if _overlapping(archive, members):
        return "members overlap, so the same bytes would be extracted many times (a zip bomb)"
    expanded = sum(member.file_size for member in members)
    if expanded > limits.max_expanded_bytes:
        return (
            f"it would expand to {byte_size(expanded)}, more than the limit of "
            f"{byte_size(limits.max_expanded_bytes)}"
        )
    return _ratio_problem(expanded, os.path.getsize(archive.filename), limits)


def _ratio_problem(expanded: int, compressed: int, limits: ZipLimits) -> str | None:
    """Why ``compressed`` bytes inflating to ``expanded`` is a bomb, or None."""
    if expanded <= RATIO_EXEMPT_BYTES or expanded <= limits.max_ratio * max(compressed, 1):
        return None
    return (
        f"it would expand {expanded / max(compressed, 1):.0f} times ({byte_size(compressed)} "
        f"to {byte_size(expanded)}), more than the limit of {limits.max_ratio:g} times"
    )


def _overlapping(archive: zipfile.ZipFile, members: list[zipfile.ZipInfo]) -> bool:
    """Whether a member's data runs into the next member or the central directory.

    The local header is at least 30 bytes plus the name, so the end computed here is
    never beyond the real one: an overlap found is a real overlap.
    """
    ordered = sorted(members, key=lambda member: member.header_offset)
    starts = [member.header_offset for member in ordered[1:]]
    starts.append(getattr(archive, "start_dir", os.path.getsize(archive.filename)))
    for member, next_start in zip(ordered, starts, strict=True):
        name_bytes = len(member.orig_filename.encode("utf-8", "surrogateescape"))
        end = member.header_offset + _LOCAL_HEADER_BYTES + name_bytes + member.compress_size
        if end > next_start:
            return True
    return False


@contextlib.contextmanager
def _locked_staging(store: Path) -> Iterator[str]:
    """A new staging folder in ``store``, locked for as long as it is in use."""
    for _ in range(5):
        folder = tempfile.mkdtemp(dir=store, prefix=STAGING_PREFIX)
        handle = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # another import is removing it as stale: take a new one
            os.close(handle)
            continue
        if not os.path.isdir(folder):  # removed just before the lock was ours
            os.close(handle)
            continue
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)
            os.close(handle)
        return
    raise OSError(f"no staging folder could be locked in {store}")


def remove_stale_staging(store: Path) -> None:
    """Remove the staging folders no running import holds (left by a killed one)."""
    try:
        with os.scandir(store) as scan:
            stale = [e.path for e in scan if e.name.startswith(STAGING_PREFIX) and e.is_dir()]
    except OSError:
        return  # no store yet
    for folder in stale:
        try:
            handle = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            continue
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            shutil.rmtree(folder, ignore_errors=True)
        except BlockingIOError:
            pass  # an import is using it now
        finally:
            os.close(handle)
