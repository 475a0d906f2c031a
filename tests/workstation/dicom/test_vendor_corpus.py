"""The real vendor corpus (../shared/data/dicom-variety): every file imports or says why,
and every transfer syntax of dcm_qa_ts decodes to the pixels dcm2niix found."""

from __future__ import annotations

import os
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from workstation.dicom.loader import load_paths

pytestmark = pytest.mark.realdata

VARIETY = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "dicom-variety"
#: dcm_qa_ts holds one Siemens EPI mosaic: 35 slices of 64 × 64 in a 6 × 6 grid.
MOSAIC_TILE, MOSAIC_COLUMNS, MOSAIC_SLICES = 64, 6, 35


@pytest.fixture
def variety() -> Path:
    if not VARIETY.is_dir():
        pytest.skip(f"real data not found at {VARIETY}")
    return VARIETY


def _files(folder: Path) -> list[str]:
    return [os.path.join(d, name) for d, _, names in os.walk(folder) for name in names]


def test_the_whole_corpus_imports_and_every_skip_has_a_reason(halong, variety):
    result = halong("import", "--json", variety)  # the fixture fails on any traceback

    assert result.status == 0
    summary = result.json()
    files = _files(variety)
    assert summary["imported"] + summary["already_indexed"] + len(summary["skipped"]) == len(files)
    assert summary["imported"] >= 60
    assert {s["path"] for s in summary["skipped"]} <= set(files)
    assert all(len(s["reason"]) > 5 for s in summary["skipped"])
    reasons = {Path(s["path"]).name: s["reason"] for s in summary["skipped"]}
    assert reasons["1.nii"] == "not a DICOM file"


def test_the_whole_corpus_loads_without_raising_and_says_why_files_are_left_out(variety):
    result = load_paths([variety])

    assert len(result.volumes) >= 10
    assert all(len(skipped.reason) > 5 for skipped in result.skipped)


def _slices_as_dcm2niix_writes_them(mosaic: np.ndarray) -> np.ndarray:
    """The mosaic cut into its slices, as NIfTI [x, y, z] with y flipped (dcm2niix's way)."""
    size = MOSAIC_TILE
    tiles = [
        mosaic[row * size : (row + 1) * size, column * size : (column + 1) * size]
        for row, column in (divmod(i, MOSAIC_COLUMNS) for i in range(MOSAIC_SLICES))
    ]
    return np.stack(tiles, axis=-1).transpose(1, 0, 2)[:, ::-1]


@pytest.mark.parametrize("number", range(1, 10))
def test_every_transfer_syntax_of_dcm_qa_ts_decodes_as_dcm2niix_did(variety, number):
    folder = variety / "dcm_qa_ts"

    result = load_paths([folder / "In" / f"{number}.dcm"])

    assert result.skipped == [] and result.notes == []
    (volume,) = result.volumes
    reference = np.asarray(nib.load(folder / "Ref" / f"{number}.nii").dataobj)
    np.testing.assert_array_equal(_slices_as_dcm2niix_writes_them(volume.voxels[0]), reference)
