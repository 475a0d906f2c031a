"""Import sources under attack: symbolic link loops, zip bombs, lying zip headers, kills."""

from __future__ import annotations

import fcntl
import os
import random
import zipfile
from pathlib import Path

import pytest
from pydicom.data import get_testdata_file
from support.hostile_files import deflate_bomb_zip, overlapping_zip

from workstation.dicom import importer
from workstation.dicom.database import Database
from workstation.dicom.import_report import SkippedFile
from workstation.dicom.importer import ImportRequest, import_paths
from workstation.dicom.sources import iter_candidates
from workstation.dicom.zip_source import ZipLimits

CT_SMALL = Path(get_testdata_file("CT_small.dcm"))


@pytest.fixture
def db(tmp_path):
    with Database.open(tmp_path / "home" / "halong.sqlite") as database:
        yield database


@pytest.fixture
def store(tmp_path) -> Path:
    return tmp_path / "home" / "store"


def _import(db, store, *paths, **limits):
    return import_paths(db, ImportRequest(paths, store, zip_limits=ZipLimits(**limits)))


def _left_in(store: Path) -> list[str]:
    """Whatever the store holds besides instances and their folders: staging, partial files."""
    if not store.exists():
        return []
    return sorted(
        str(path.relative_to(store))
        for path in store.rglob("*")
        if path.name.startswith(".unzip-") or (path.is_file() and path.suffix != ".dcm")
    )


def test_symbolic_link_loops_and_dangling_links_are_skipped_with_a_reason(tmp_path):
    folder = tmp_path / "links"
    folder.mkdir()
    (folder / "real.dcm").write_bytes(CT_SMALL.read_bytes())
    (folder / "x").symlink_to(folder / "y")
    (folder / "y").symlink_to(folder / "x")
    (folder / "dangling").symlink_to(tmp_path / "nowhere")

    found = list(iter_candidates([folder, folder / "x"], tmp_path / "store", ZipLimits()))

    loop = "symbolic link loop (the link leads back to itself)"
    assert [(Path(f.path).name, getattr(f, "reason", "")) for f in found] == [
        ("dangling", f"dangling symbolic link (its target {tmp_path / 'nowhere'} does not exist)"),
        ("real.dcm", ""),
        ("x", loop),
        ("y", loop),
        ("x", loop),
    ]


def test_a_zip_bomb_is_refused_before_anything_is_extracted(db, store, tmp_path):
    bomb = deflate_bomb_zip(tmp_path / "bomb.zip", "bomb.dcm", expanded_mib=1024)
    ratio = (1 << 30) / bomb.stat().st_size
    assert bomb.stat().st_size < 1.1e6 and ratio > 900  # 1 GiB in about 1 MB

    report = _import(db, store, bomb)

    assert report.skipped == [
        SkippedFile(
            str(bomb),
            f"zip archive refused: it would expand {ratio:.0f} times (1.0 MiB to 1.0 GiB), "
            "more than the limit of 100 times",
        )
    ]
    assert _left_in(store) == []


def test_a_zip_header_that_lies_about_the_size_is_stopped(db, store, tmp_path):
    lying = deflate_bomb_zip(tmp_path / "lying.zip", "lie.dcm", expanded_mib=64, declared_size=4096)
    with zipfile.ZipFile(lying) as archive:  # the headers claim an innocent 4 KiB
        assert archive.getinfo("lie.dcm").file_size == 4096

    report = _import(db, store, lying)

    (skipped,) = report.skipped
    assert skipped.path == f"{lying}/lie.dcm"
    assert skipped.reason.startswith("cannot extract it from the zip archive (Bad CRC-32")
    assert _left_in(store) == []


def test_one_bomb_member_is_refused_and_the_rest_of_the_archive_imported(db, store, tmp_path):
    archive_path = tmp_path / "study.zip"
    with zipfile.ZipFile(archive_path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(CT_SMALL, "IM1")
        archive.writestr("noise", random.Random(1).randbytes(200_000))  # keeps the archive sane
        with archive.open("zeros", "w") as member:
            for _ in range(8):
                member.write(bytes(1 << 20))

    report = _import(db, store, archive_path)

    assert report.imported == 1
    reasons = {Path(s.path).name: s.reason for s in report.skipped}
    assert reasons["zeros"].startswith("refused: it would expand")
    assert reasons["zeros"].endswith("more than the limit of 100 times (a zip bomb?)")
    assert reasons["noise"] == "not a DICOM file"
    assert _left_in(store) == []


def test_overlapping_members_are_refused(db, store, tmp_path):
    overlap = overlapping_zip(tmp_path / "overlap.zip", random.Random(2).randbytes(100_000), 50)
    with zipfile.ZipFile(overlap) as archive:
        assert sum(m.file_size for m in archive.infolist()) > 40 * overlap.stat().st_size

    (skipped,) = _import(db, store, overlap).skipped

    assert skipped.reason == (
        "zip archive refused: members overlap, so the same bytes would be extracted many "
        "times (a zip bomb)"
    )


def test_the_limits_on_members_and_size_are_the_requests(db, store, tmp_path):
    archive_path = tmp_path / "three.zip"
    with zipfile.ZipFile(archive_path, "w") as archive:
        for name in ("a", "b", "c"):
            archive.writestr(name, bytes(1000))

    (members,) = _import(db, store, archive_path, max_members=2).skipped
    (size,) = _import(db, store, archive_path, max_expanded_bytes=2999).skipped

    assert members.reason == "zip archive refused: 3 members, more than the limit of 2"
    assert size.reason == (
        "zip archive refused: it would expand to 2.9 KiB, more than the limit of 2.9 KiB"
    )
    assert len(_import(db, store, archive_path, max_expanded_bytes=3000).skipped) == 3
    with pytest.raises(ValueError, match="positive"):
        ZipLimits(max_ratio=0)


def test_a_failure_during_extraction_leaves_nothing_in_the_store(db, store, tmp_path, monkeypatch):
    archive_path = tmp_path / "study.zip"
    with zipfile.ZipFile(archive_path, "w") as archive:
        archive.write(CT_SMALL, "IM1")
        archive.write(CT_SMALL, "IM2")

    def broken(path):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(importer, "read_instance", broken)
    with pytest.raises(RuntimeError):
        _import(db, store, archive_path)

    assert store.is_dir() and _left_in(store) == []


def test_staging_left_by_a_killed_import_is_removed_and_a_running_ones_kept(db, store, tmp_path):
    stale = store / ".unzip-killed"
    stale.mkdir(parents=True)
    (stale / "0.member").write_bytes(b"half a member")
    running = store / ".unzip-running"
    running.mkdir()
    handle = os.open(running, os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(handle, fcntl.LOCK_EX)  # what a running import holds
    try:
        _import(db, store, CT_SMALL)
        assert not stale.exists()
        assert running.is_dir()
    finally:
        os.close(handle)
    _import(db, store, CT_SMALL)
    assert not running.exists()
