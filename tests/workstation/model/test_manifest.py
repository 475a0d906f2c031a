"""Result manifests: every byte the engine wrote, sealed with the installation's key."""

from __future__ import annotations

import json

import pytest

from workstation.home import HalongHome
from workstation.model.manifest import ManifestError, read_manifest, write_manifest


@pytest.fixture
def folder(tmp_path):
    result = tmp_path / "result"
    (result / "dicom").mkdir(parents=True)
    (result / "lung.json").write_text('{"nodules": []}')
    (result / "dicom" / "a.dcm").write_bytes(b"DICM" * 100)
    return result


def test_an_unchanged_folder_reads_back(folder, tmp_path):
    key = HalongHome(tmp_path / "home").result_seal_key()
    files = [folder / "lung.json", folder / "dicom" / "a.dcm"]
    write_manifest(folder, files, key, "engine 1.0")
    manifest = read_manifest(folder, key)
    assert manifest.written_by == "engine 1.0"
    assert manifest.paths(".dcm") == [folder / "dicom" / "a.dcm"]


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        (lambda f: (f / "lung.json").write_text('{"nodules": [1]}'), "was changed after"),
        (lambda f: (f / "dicom" / "a.dcm").unlink(), "listed in the manifest but missing"),
        (lambda f: (f / "manifest.json").unlink(), "has no manifest.json"),
        (lambda f: (f / "manifest.json").write_text("{"), "cannot be read"),
    ],
)
def test_any_change_is_refused(folder, tmp_path, tamper, expected):
    key = HalongHome(tmp_path / "home").result_seal_key()
    write_manifest(folder, [folder / "lung.json", folder / "dicom" / "a.dcm"], key, "engine")
    tamper(folder)
    with pytest.raises(ManifestError, match=expected):
        read_manifest(folder, key)


def test_a_manifest_sealed_elsewhere_or_edited_is_refused(folder, tmp_path):
    mine, theirs = (HalongHome(tmp_path / n).result_seal_key() for n in ("mine", "theirs"))
    assert mine != theirs and len(mine) == 32
    write_manifest(folder, [folder / "lung.json"], theirs, "engine")
    with pytest.raises(ManifestError, match="not written by this Halong installation"):
        read_manifest(folder, mine)
    write_manifest(folder, [folder / "lung.json"], mine, "engine")
    document = json.loads((folder / "manifest.json").read_text())
    document["written_by"] = "review by someone else"
    (folder / "manifest.json").write_text(json.dumps(document))
    with pytest.raises(ManifestError, match="not written by this Halong installation"):
        read_manifest(folder, mine)


def test_the_key_is_made_once_and_readable_by_its_owner_only(tmp_path):
    home = HalongHome(tmp_path / "home")
    key = home.result_seal_key()
    assert home.result_seal_key() == key
    (path,) = (home.root / "keys").iterdir()
    assert path.stat().st_mode & 0o077 == 0


def test_a_file_outside_the_folder_is_not_listed(folder, tmp_path):
    outside = tmp_path / "elsewhere.json"
    outside.write_text("{}")
    with pytest.raises(ValueError):
        write_manifest(folder, [outside], b"k" * 32, "engine")
