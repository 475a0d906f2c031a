"""Bounded fuzzing of what every file goes through: the header reader, pixel reading and
assembly. Hypothesis damages real files (pydicom's test data in several transfer
syntaxes) byte by byte; no damage may escape as an exception: a bad file is a skip with
its reason. ``benchmarks/fuzz_import.py`` runs the same over 10,000 mutants."""

from __future__ import annotations

from pathlib import Path

import pydicom.data
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workstation.dicom.headers import UnusableFile, read_instance
from workstation.dicom.loader import load_paths

SHIPPED = Path(pydicom.data.__file__).parent / "test_files"
REPO_ROOT = Path(__file__).resolve().parents[3]
#: Images in native (little and big endian, implicit), RLE, JPEG, JPEG-LS, JPEG 2000 and
#: deflate encodings, colour, and multi-frame RLE.
SEEDS = [
    "CT_small.dcm",
    "MR_small_implicit.dcm",
    "MR_small_bigendian.dcm",
    "MR_small_RLE.dcm",
    "MR_small_jp2klossless.dcm",
    "MR_small_jpeg_ls_lossless.dcm",
    "JPEG-lossy.dcm",
    "image_dfl.dcm",
    "SC_rgb_rle_2frame.dcm",
    "rtdose_rle.dcm",
]
#: One damage: where (fraction of the file), what, and a byte to use.
DAMAGES = st.lists(
    st.tuples(
        st.floats(0.0, 1.0, allow_nan=False),
        st.sampled_from(["flip", "zero", "ff", "cut", "repeat", "huge", "byte"]),
        st.integers(0, 255),
    ),
    min_size=1,
    max_size=4,
)


def _seed(name: str) -> bytes:
    path = SHIPPED / name
    if not path.is_file():
        pytest.skip(f"pydicom test file {name} not shipped with this pydicom")
    return path.read_bytes()


def _damaged(data: bytes, damages: list[tuple[float, str, int]]) -> bytes:
    buffer = bytearray(data)
    for where, kind, value in damages:
        if len(buffer) < 8:
            break
        at = min(len(buffer) - 4, int(where * len(buffer)))
        if kind == "flip":
            buffer[at] ^= 1 << (value % 8)
        elif kind == "zero":
            buffer[at : at + 1 + value] = bytes(len(buffer[at : at + 1 + value]))
        elif kind == "ff":
            buffer[at : at + 1 + value] = b"\xff" * len(buffer[at : at + 1 + value])
        elif kind == "cut":
            del buffer[at:]
        elif kind == "repeat":
            buffer[at:at] = buffer[at : at + 1 + value]
        elif kind == "huge":
            buffer[at : at + 4] = b"\xff\xff\xff\x7f"
        else:
            buffer[at] = value
    return bytes(buffer)


def _read_like_halong(path: Path) -> None:
    try:
        read_instance(path)
    except UnusableFile:
        return
    load_paths([path])  # skips what it cannot use, never raises for one bad file


@pytest.mark.filterwarnings("ignore::UserWarning")  # pydicom warns about each odd value
@pytest.mark.parametrize("seed", SEEDS)
@settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(damages=DAMAGES)
def test_no_damage_escapes_as_an_exception(tmp_path, seed, damages):
    path = tmp_path / "damaged.dcm"
    path.write_bytes(_damaged(_seed(seed), damages))
    _read_like_halong(path)


@pytest.mark.realdata
def test_a_damaged_per_frame_orientation_is_a_skip_with_its_reason(tmp_path):
    """Found by benchmarks/fuzz_import.py: an Enhanced multi-frame file whose per-frame
    ImageOrientationPatient is damaged raised ValueError from deep in assembly."""
    source = REPO_ROOT.parent / "shared" / "data" / "dicom-variety" / "pydicom-data" / "liver.dcm"
    if not source.is_file():
        pytest.skip(f"real data not found at {source}")
    data = source.read_bytes()
    target = b"0.000000e+00"
    assert target in data  # a value of the per-frame orientation, as the file writes it
    damaged = tmp_path / "liver-damaged.dcm"
    damaged.write_bytes(data.replace(target, b"0.000000e\xab00", 1))
    result = load_paths([damaged])
    assert result.volumes == []
    (skip,) = result.skipped
    assert "unreadable per-frame geometry" in skip.reason
