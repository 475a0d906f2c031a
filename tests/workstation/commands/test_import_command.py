"""``halong import`` / ``studies`` / ``series`` as a user runs them, bad input included."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from pydicom.data import get_testdata_files
from support.hostile_files import deflate_bomb_zip

PYDICOM_FILES = Path(get_testdata_files("CT_small.dcm")[0]).parent


def _files_under(path: Path) -> list[str]:
    """Every file the importer will see under ``path``, in the walk's sense."""
    if path.is_dir():
        return [os.path.join(d, name) for d, _, names in os.walk(path) for name in names]
    return [str(path)]


def _check_accounting(result, seen: list[str]) -> dict:
    """Every file seen is indexed, already indexed, or skipped with its path and a reason."""
    summary = result.json()
    assert summary["imported"] + summary["already_indexed"] + len(summary["skipped"]) == len(seen)
    seen_set = set(seen)
    for skipped in summary["skipped"]:
        assert skipped["path"] in seen_set or Path(skipped["path"]).parent.suffix == ".zip"
        assert len(skipped["reason"]) > 5
    return summary


def _reasons(summary: dict) -> dict[str, str]:
    return {Path(s["path"]).name: s["reason"] for s in summary["skipped"]}


def test_every_entry_of_the_pydicom_corpus_imports_without_a_traceback(halong):
    entries = [Path(name) for name in get_testdata_files()]
    assert any(entry.is_dir() for entry in entries)

    result = halong("import", "--json", *entries)

    assert result.status == 0
    summary = _check_accounting(result, [f for e in entries for f in _files_under(e)])
    assert summary["imported"] >= 40
    reasons = _reasons(summary)
    assert reasons["DICOMDIR"].startswith("DICOMDIR")
    assert reasons["rtplan.dcm"] == "not an image (RT Plan Storage)"
    assert reasons["README.txt"] == "not a DICOM file"


def test_the_pydicom_folder_imports_recursively_and_lists_every_skipped_file(halong):
    seen = _files_under(PYDICOM_FILES)

    first = halong("import", "--json", PYDICOM_FILES)
    second = halong("import", PYDICOM_FILES)

    summary = _check_accounting(first, seen)
    assert first.status == second.status == 0
    assert (
        f"0 new, {summary['imported'] + summary['already_indexed']} already indexed" in second.out
    )
    for skipped in summary["skipped"]:
        assert f"  {skipped['path']}: {skipped['reason']}\n" in second.out


def _corrupted_folder(folder: Path) -> dict[str, str]:
    """Damaged copies of CT_small.dcm and other junk; returns the expected reason for some."""
    folder.mkdir()
    original = (PYDICOM_FILES / "CT_small.dcm").read_bytes()
    (folder / "intact.dcm").write_bytes(original)
    for cut in (
        1,
        64,
        128,
        131,
        132,
        140,
        200,
        330,
        700,
        1200,
        len(original) // 2,
        len(original) - 1,
    ):
        (folder / f"cut-{cut}.dcm").write_bytes(original[:cut])
    rng = random.Random(20240611)
    for flip in range(40):
        damaged = bytearray(original)
        for _ in range(rng.randint(1, 12)):
            damaged[rng.randrange(132, 1500)] = rng.randrange(256)
        (folder / f"flipped-{flip}.dcm").write_bytes(bytes(damaged))
    # An unknown VR in these tags once escaped pydicom-based header reading as
    # NotImplementedError (big endian, so the fast native reader leaves it to pydicom).
    big_endian = (PYDICOM_FILES / "MR_small_bigendian.dcm").read_bytes()
    unknown_vr = {
        "MediaStorageSOPClassUID": b"\x02\x00\x02\x00",
        "SOPClassUID": b"\x00\x08\x00\x16",
        "SOPInstanceUID": b"\x00\x08\x00\x18",
    }
    for keyword, tag in unknown_vr.items():
        damaged = big_endian.replace(tag + b"UI", tag + b"Uh", 1)
        assert damaged != big_endian
        (folder / f"bad-vr-{keyword}.dcm").write_bytes(damaged)
    (folder / "empty.dcm").write_bytes(b"")
    (folder / "notes.txt").write_text("Patient called, will bring the CD tomorrow.\n")
    (folder / "fake.zip").write_bytes(b"PK\x03\x04 not really a zip")
    with zipfile.ZipFile(folder / "cd.zip", "w") as archive:
        archive.writestr("IMAGES/IM1", original)
        archive.writestr("IMAGES/IM2", original[:500])
        archive.writestr("DICOMDIR", (PYDICOM_FILES / "dicomdirtests" / "DICOMDIR").read_bytes())
    return {
        "empty.dcm": "empty file",
        "notes.txt": "not a DICOM file",
        "cut-1.dcm": "not a DICOM file",
        "IM1": "",  # the same instance as intact.dcm: already indexed, not skipped
    }


def test_damaged_files_are_each_reported_and_the_rest_still_imports(halong, tmp_path):
    folder = tmp_path / "damaged"
    expected = _corrupted_folder(folder)
    original = (PYDICOM_FILES / "CT_small.dcm").read_bytes()
    seen = [f for f in _files_under(folder) if not f.endswith("cd.zip")]
    seen += [f"{folder}/cd.zip/{name}" for name in ("IMAGES/IM1", "IMAGES/IM2", "DICOMDIR")]

    result = halong("import", "--json", folder)

    assert result.status == 0
    summary = _check_accounting(result, seen)
    reasons = _reasons(summary)
    assert summary["imported"] >= 1 and summary["already_indexed"] >= 1
    for name, reason in expected.items():
        assert reasons.get(name, "") == reason, name
    assert reasons["fake.zip"].startswith("not a readable zip archive")
    assert reasons["DICOMDIR"].startswith("DICOMDIR")
    assert reasons[f"cut-{len(original) // 2}.dcm"].startswith("truncated file")
    for tag in ("MediaStorageSOPClassUID", "SOPClassUID", "SOPInstanceUID"):
        assert reasons[f"bad-vr-{tag}.dcm"].startswith("unreadable header value")
    assert "IM2" in reasons


def test_exit_status_is_1_when_nothing_usable_was_found(halong, tmp_path):
    (tmp_path / "notes.txt").write_text("hello")

    result = halong("import", tmp_path / "notes.txt")

    assert result.status == 1
    assert f"{tmp_path / 'notes.txt'}: not a DICOM file" in result.out
    assert "No usable DICOM images were found." in result.out


def test_unexpected_errors_become_one_line_and_status_2(halong, monkeypatch, tmp_path):
    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("workstation.dicom.importer.import_paths", broken)
    result = halong("import", tmp_path)
    assert result.status == 2
    assert (
        result.err
        == "halong: error: unexpected RuntimeError: disk on fire (run with --debug for details)\n"
    )


def test_an_unusable_database_is_reported_with_status_2(halong, halong_home, tmp_path):
    halong_home.mkdir()
    (halong_home / "halong.sqlite").write_text("not a database" * 100)
    result = halong("studies")
    assert result.status == 2
    assert result.err.startswith("halong: error: cannot use the Halong database")


def test_usage_errors_exit_with_status_2(halong):
    assert halong("import").status == 2
    assert halong("no-such-command").status == 2
    assert halong("--help").status == 0


def test_studies_and_series_json_have_the_browser_fields(halong, known_series):
    folder, known = known_series
    assert halong("import", folder).out.startswith("14 new, 0 already indexed, 0 skipped.")

    studies = halong("studies", "--json").json()
    all_series = halong("series", "--json").json()
    chest = "1.2.826.0.1.3680043.10.511.1"
    chest_series = halong("series", chest, "--json").json()

    assert [s["study_uid"] for s in studies] == [
        f"1.2.826.0.1.3680043.10.511.{n}" for n in (2, 3, 1)
    ]
    study = next(s for s in studies if s["study_uid"] == chest)
    info = known[0].info
    assert study == {
        "study_uid": chest,
        "patient_id": info.patient_id,
        "patient_name": info.patient_name,
        "patient_birth_date": info.patient_birth_date,
        "patient_sex": info.patient_sex,
        "accession_number": info.accession_number,
        "study_date": info.study_date,
        "study_time": info.study_time,
        "study_description": info.study_description,
        "modalities": ["CT"],
        "series_count": 2,
        "instance_count": 7,
    }
    assert len(all_series) == 4
    assert [(s["series_number"], s["instance_count"]) for s in chest_series] == [(2, 4), (3, 3)]
    lung = chest_series[0]
    assert set(lung) == {
        "series_uid",
        "study_uid",
        "modality",
        "series_number",
        "series_description",
        "body_part",
        "frame_of_reference_uid",
        "instance_count",
        "frame_count",
        "rows",
        "columns",
        "pixel_spacing",
        "slice_thickness",
        "image_orientation",
    }
    assert (lung["rows"], lung["columns"], lung["pixel_spacing"]) == (8, 6, [0.8, 0.6])
    assert (lung["series_description"], lung["body_part"]) == ("LUNG 1.25", "CHEST")

    table = halong("studies").out
    assert "Nguyễn^Thị Lan" in table and "2024-01-05" in table and "CT CHEST LDCT" in table
    assert "HEAD AXIAL" in halong("series").out
    missing = halong("series", "1.2.3.4")
    assert missing.status == 1 and "No series indexed for study 1.2.3.4" in missing.out


def test_home_option_overrides_the_environment(halong, halong_home, tmp_path, known_series):
    folder, _ = known_series
    other = tmp_path / "other-home"
    assert halong("--home", other, "import", "--copy", folder / "series-0").status == 0
    assert len(halong("--home", other, "studies", "--json").json()) == 1
    assert halong("studies", "--json").json() == []
    assert len(list((other / "store").rglob("*.dcm"))) == 4
    assert (other / "halong.sqlite").is_file() and not (halong_home / "store").exists()


def test_the_cli_starts_without_heavy_imports():
    code = (
        "import sys, workstation.cli as cli; cli.build_parser();"
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'pydicom', 'numpy', 'torch', 'vtk', 'PySide6', 'monai', 'sqlite3', 'platformdirs'}))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert json.loads(output.stdout.replace("'", '"')) == []


@pytest.mark.realdata
def test_real_chest_ct_indexes_as_one_study_with_two_series(halong, lung_pet_ct_dx):
    result = halong("import", "--json", lung_pet_ct_dx)

    assert result.status == 0
    summary = result.json()
    assert (summary["imported"], summary["already_indexed"]) == (60, 0)
    assert all(s["reason"] == "not a DICOM file" for s in summary["skipped"])  # README, XML
    studies = halong("studies", "--json").json()
    series = halong("series", "--json").json()
    assert len(studies) == 1 and len({(s["patient_id"], s["patient_name"]) for s in studies}) == 1
    assert (studies[0]["series_count"], studies[0]["instance_count"]) == (2, 60)
    assert sorted(s["instance_count"] for s in series) == [30, 30]
    assert {s["study_uid"] for s in series} == {studies[0]["study_uid"]}
    assert all((s["rows"], s["columns"], s["slice_thickness"]) == (512, 512, 8.0) for s in series)
    assert {s["series_description"][-4:] for s in series} == {"B70f", "B40f"}


def test_first_ctrl_c_cancels_the_work_and_a_second_aborts():
    import signal

    from workstation.commands.console import cancel_on_interrupt
    from workstation.model.progress import CancelToken

    token = CancelToken()
    before = signal.getsignal(signal.SIGINT)  # SIG_IGN when started in the background
    with cancel_on_interrupt(token), pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGINT)
        assert token.cancelled
        os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is before  # put back as it was


def test_a_symbolic_link_loop_is_listed_and_the_real_files_indexed(halong, tmp_path):
    folder = tmp_path / "links"
    folder.mkdir()
    (folder / "real.dcm").write_bytes((PYDICOM_FILES / "CT_small.dcm").read_bytes())
    (folder / "x").symlink_to(folder / "y")
    (folder / "y").symlink_to(folder / "x")

    result = halong("import", folder)

    assert result.status == 0
    assert result.out.startswith("1 new, 0 already indexed, 2 skipped.")
    loop = "symbolic link loop (the link leads back to itself)"
    for name in ("x", "y"):
        assert f"  {folder / name}: {loop}\n" in result.out
    assert "1 instance" in result.out


def test_a_zip_bomb_is_refused_and_nothing_is_left_in_the_store(halong, halong_home, tmp_path):
    bomb = deflate_bomb_zip(tmp_path / "bomb.zip", "bomb.dcm", expanded_mib=1024)

    result = halong("import", bomb)

    assert result.status == 1
    assert f"  {bomb}: zip archive refused: it would expand " in result.out
    assert "more than the limit of 100 times" in result.out
    store = halong_home / "store"
    assert not store.exists() or list(store.iterdir()) == []


def test_the_zip_limits_are_options(halong, tmp_path):
    archive = tmp_path / "two.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("IM1", (PYDICOM_FILES / "CT_small.dcm").read_bytes())
        zipped.writestr("IM2", (PYDICOM_FILES / "MR_small.dcm").read_bytes())

    members = halong("import", "--json", "--zip-max-members", "1", archive).json()
    size = halong("import", "--json", "--zip-max-size", "10K", archive).json()
    allowed = halong("import", "--json", "--zip-max-size", "1M", archive).json()

    assert members["skipped"][0]["reason"].endswith("2 members, more than the limit of 1")
    assert size["skipped"][0]["reason"].endswith("more than the limit of 10.0 KiB")
    assert (allowed["imported"], allowed["skipped"]) == (2, [])
    for option, value in (("--zip-max-size", "huge"), ("--zip-max-ratio", "0")):
        refused = halong("import", option, value, archive)
        assert refused.status == 2
        assert refused.err.strip().splitlines()[-1].startswith("halong import: error: argument")


def test_names_from_archives_and_disks_are_printed_escaped(halong, tmp_path):
    hostile = "a\x1b[2J\nFAKE: 100 imported.dcm"
    archive = tmp_path / "cd.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr(hostile, "not an image")
    (tmp_path / "disk").mkdir()
    (tmp_path / "disk" / hostile).write_text("not an image either")

    result = halong("import", archive, tmp_path / "disk")

    escaped = "a\\x1b[2J\\nFAKE: 100 imported.dcm"
    assert f"  {archive}/{escaped}: not a DICOM file\n" in result.out
    assert f"  {tmp_path / 'disk'}/{escaped}: not a DICOM file\n" in result.out
    assert "\x1b" not in result.out
    assert not [line for line in result.out.splitlines() if line.startswith("FAKE")]
    raw = {s["path"] for s in halong("import", "--json", archive).json()["skipped"]}
    assert raw == {f"{archive}/{hostile}"}  # JSON keeps the name, escaped by JSON itself
