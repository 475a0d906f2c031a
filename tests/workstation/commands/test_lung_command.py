"""``halong lung``: lung.json schema, valid SEG and SR that agree with it, follow-up, bad input."""

from __future__ import annotations

import json
import math
from pathlib import Path

import highdicom as hd
import numpy as np
import pytest
from pydicom.sr.codedict import codes
from support.dicom_validation import dciodvfy_errors, dsrdump

from ai.phantoms import NoduleSpec, make_chest_ct
from workstation.dicom.image_writer import SeriesInfo, write_volume

SHAPE, SPACING = (120, 320, 320), (0.9, 0.9, 1.5)
SEED = 97_001  # not a training seed (those are 10 000-10 999 and 20 000-20 999)
NODULE_KEYS = {
    "id": int,
    "center_lps_mm": list,
    "bbox_lps_mm": list,
    "volume_mm3": float,
    "long_axis_mm": float,
    "short_axis_mm": float,
    "mean_diameter_mm": float,
    "mean_hu": float,
    "type": str,
    "solid_core_mm": float,
    "probability": float,
    "juxtapleural": bool,
    "lung_rads": str,
    "prior": (dict, type(None)),
}


@pytest.fixture(scope="module")
def studies(tmp_path_factory) -> dict[str, Path]:
    """A current and a prior chest CT of one synthetic patient, a year apart.

    Nodule A grows from 7 to 9 mm, B (ground glass) stays, C is new, D has resolved.
    The prior is shifted by 6 mm, as a patient lies differently on another day.
    """
    root = tmp_path_factory.mktemp("lung-cli")
    # placed with the vessels present, so no large vessel touches a nodule (as in the
    # phantom's own placement); the same seed gives the same chest in all three scans
    probe = make_chest_ct(
        SEED,
        SHAPE,
        SPACING,
        nodules=[
            NoduleSpec("solid", 9.0),
            NoduleSpec("ground-glass", 12.0),
            NoduleSpec("solid", 7.0),
            NoduleSpec("solid", 8.0),
        ],
    )
    where = [n.center_lps_mm for n in probe.nodules]
    current = make_chest_ct(
        SEED,
        SHAPE,
        SPACING,
        nodules=[
            NoduleSpec("solid", 9.0, center_lps_mm=where[0]),
            NoduleSpec("ground-glass", 12.0, center_lps_mm=where[1]),
            NoduleSpec("solid", 7.0, center_lps_mm=where[2]),
        ],
    )
    prior = make_chest_ct(
        SEED,
        SHAPE,
        SPACING,
        nodules=[
            NoduleSpec("solid", 7.0, center_lps_mm=where[0]),
            NoduleSpec("ground-glass", 12.0, center_lps_mm=where[1]),
            NoduleSpec("solid", 8.0, center_lps_mm=where[3]),
        ],
    )
    prior.volume.origin = tuple(np.add(prior.volume.origin, (6.0, 0.0, 0.0)))
    patient = {"patient_id": "LUNG-1", "patient_name": "Lung^Test"}
    write_volume(
        current.volume,
        root / "current",
        SeriesInfo(**patient, study_date="20250301"),
        shuffle_names=True,
    )
    write_volume(prior.volume, root / "prior", SeriesInfo(**patient, study_date="20240301"))
    (root / "truth.json").write_text(json.dumps({"centres": where}))
    return {"root": root, "current": root / "current", "prior": root / "prior"}


@pytest.fixture(scope="module")
def run_once(studies, tmp_path_factory):
    """One ``halong lung`` run with a prior, shared by the output tests."""
    from workstation.cli import main

    out = tmp_path_factory.mktemp("lung-out")
    status = main(
        [
            "lung",
            str(studies["current"]),
            "--out",
            str(out),
            "--prior",
            str(studies["prior"]),
            "--risk",
            "high",
        ]
    )
    assert status == 0
    return out, json.loads((out / "lung.json").read_text())


def test_lung_json_follows_the_schema(run_once):
    _, document = run_once
    assert set(document) >= {
        "series_uid",
        "lung_rads",
        "fleischner",
        "timings_s",
        "algorithm",
        "nodules",
    }
    assert set(document["lung_rads"]) == {"category", "management"}
    assert document["lung_rads"]["category"] in {"1", "2", "3", "4A", "4B", "4X"}
    assert set(document["algorithm"]) >= {"name", "version", "device"}
    assert document["algorithm"]["device"] in ("cpu",) or document["algorithm"][
        "device"
    ].startswith("cuda")
    assert document["ai_generated"] is True and document["verification"] == "UNVERIFIED"
    assert document["fleischner"]["risk"] == "high" and document["fleischner"]["recommendation"]
    for stage in ("load", "lung_mask", "candidates", "classification", "segmentation", "total"):
        assert document["timings_s"][stage] >= 0
    assert [n["id"] for n in document["nodules"]] == list(range(1, len(document["nodules"]) + 1))
    for nodule in document["nodules"]:
        for key, kind in NODULE_KEYS.items():
            assert isinstance(nodule[key], kind), (key, nodule[key])
        assert len(nodule["center_lps_mm"]) == 3 and np.array(nodule["bbox_lps_mm"]).shape == (2, 3)
        assert nodule["type"] in ("solid", "part-solid", "ground-glass")
        assert (
            nodule["mean_diameter_mm"]
            == round((nodule["long_axis_mm"] + nodule["short_axis_mm"]) / 2, 1)
            or abs(
                nodule["mean_diameter_mm"] - (nodule["long_axis_mm"] + nodule["short_axis_mm"]) / 2
            )
            <= 0.1
        )
        assert 0.0 <= nodule["probability"] <= 1.0


def test_follow_up_finds_growth_new_and_resolved_nodules(run_once, studies):
    _, document = run_once
    centres = json.loads((studies["root"] / "truth.json").read_text())["centres"]

    def nodule_at(centre):
        near = [n for n in document["nodules"] if math.dist(n["center_lps_mm"], centre) < 4.0]
        assert len(near) == 1, (centre, document["nodules"])
        return near[0]

    grown, stable, new = (nodule_at(c) for c in centres[:3])
    assert grown["prior"]["status"] == "growing" and grown["lung_rads"] == "4B"
    v1, v2 = math.pi / 6 * 7.0**3, math.pi / 6 * 9.0**3
    expected_vdt = 365 * math.log(2) / math.log(v2 / v1)
    assert grown["prior"]["interval_days"] == 365
    assert grown["prior"]["volume_doubling_time_days"] == pytest.approx(expected_vdt, rel=0.3)
    assert grown["prior"]["volume_change_percent"] == pytest.approx(100 * (v2 / v1 - 1), rel=0.3)
    assert stable["type"] == "ground-glass" and stable["prior"]["status"] == "stable"
    assert stable["lung_rads"] == "2"
    assert new["prior"]["status"] == "new" and new["lung_rads"] == "4A"  # new solid 6 to < 8 mm
    (resolved,) = document["prior"]["resolved_nodules"]
    assert math.dist(resolved["center_lps_mm"], centres[3]) < 4.0
    assert document["prior"]["registration"]["translation_mm"][0] == pytest.approx(6.0, abs=1.5)
    assert document["lung_rads"]["category"] == "4B"


def test_seg_and_sr_are_valid_and_give_the_same_volumes(run_once):
    out, document = run_once
    seg_path, sr_path = out / "nodules-seg.dcm", out / "lung-sr.dcm"
    assert dciodvfy_errors(seg_path, "Segmentation") == []
    assert dciodvfy_errors(sr_path, "Comprehensive3DSR") == []
    dump = dsrdump(sr_path)
    assert "Verification Flag   : UNVERIFIED" in dump and "Halong lung nodule CAD" in dump

    seg = hd.seg.segread(seg_path)
    voxels = seg.get_volume(combine_segments=True)
    voxel_mm3 = abs(np.linalg.det(voxels.affine[:3, :3]))
    by_id = {n["id"]: n for n in document["nodules"]}
    assert seg.get_segment_numbers() == sorted(by_id)
    for number, nodule in by_id.items():
        assert np.count_nonzero(voxels.array == number) * voxel_mm3 == pytest.approx(
            nodule["volume_mm3"], abs=0.1
        )
        assert seg.get_segment_description(number).tracking_uid == nodule["tracking_uid"]

    sr = hd.sr.srread(sr_path)
    assert sr.VerificationFlag == "UNVERIFIED"
    groups = sr.content.get_volumetric_roi_measurement_groups()
    assert len(groups) == len(by_id)
    for group in groups:
        nodule = next(n for n in document["nodules"] if n["tracking_uid"] == group.tracking_uid)
        assert group.tracking_identifier == f"Nodule {nodule['id']}"
        (volume,) = group.get_measurements(name=codes.SCT.Volume)
        assert volume.value == pytest.approx(nodule["volume_mm3"], abs=0.1)
        assert group.referenced_segment.referenced_sop_instance_uid == seg.SOPInstanceUID


def test_a_series_uid_from_the_database(halong, studies, tmp_path):
    assert halong("import", studies["current"]).status == 0
    series_uid = halong("series", "--json").json()[0]["series_uid"]
    result = halong("lung", series_uid, "--out", tmp_path / "out")
    assert result.status == 0, result.err
    document = json.loads((tmp_path / "out" / "lung.json").read_text())
    assert document["series_uid"] == series_uid and document["nodules"]
    assert "Lung-RADS" in result.out


def _one_error_line(result) -> str:
    assert result.status == 2, (result.out, result.err)
    lines = [line for line in result.err.splitlines() if line.startswith("halong")]
    assert len(lines) == 1, result.err
    assert "Traceback" not in result.err
    return lines[0]


def test_bad_input_gives_one_clear_line(halong, tmp_path, studies):
    assert "nothing does not exist" in _one_error_line(
        halong("lung", tmp_path / "nothing", "--out", tmp_path / "o")
    )
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "notes.txt").write_text("not DICOM")
    assert "notes.txt: not a DICOM file" in _one_error_line(
        halong("lung", junk, "--out", tmp_path / "o")
    )
    assert "no series with UID" in _one_error_line(
        halong("lung", "1.2.3.4", "--out", tmp_path / "o")
    )
    missing = halong(
        "lung", studies["current"], "--out", tmp_path / "o", "--bundle", tmp_path / "nope"
    )
    assert "bundle folder does not exist" in _one_error_line(missing)
    broken = tmp_path / "broken-bundle"
    (broken / "configs").mkdir(parents=True)
    (broken / "configs" / "metadata.json").write_text("{}")
    (broken / "configs" / "inference.json").write_text('{"network_def": {}}')
    assert "no weights" in _one_error_line(
        halong("lung", studies["current"], "--out", tmp_path / "o", "--bundle", broken)
    )


def test_a_scan_without_air_is_not_a_chest_ct(halong, tmp_path):
    from workstation.model.volume import Volume

    block = Volume(np.full((8, 32, 32), 40, np.int16), spacing=(1.0, 1.0, 2.0), modality="CT")
    write_volume(block, tmp_path / "block")
    assert "not a chest CT" in _one_error_line(
        halong("lung", tmp_path / "block", "--out", tmp_path / "o")
    )
