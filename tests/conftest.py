"""Fixtures shared by every test package."""

from __future__ import annotations

import gc
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from support.studies import WrittenSeries, write_two_patients

REPO_ROOT = Path(__file__).resolve().parents[1]
#: The real chest CT beside the project (TCIA Lung-PET-CT-Dx, CC BY 4.0); never copied in.
LUNG_PET_CT_DX = REPO_ROOT.parent / "shared" / "data" / "lung-pet-ct-dx"


def pytest_sessionstart(session: pytest.Session) -> None:
    """Where real parts are required (CI), stop before a run that would only skip them."""
    from support import real_parts

    absent = real_parts.absent_commands()
    if real_parts.required() and absent:
        raise pytest.UsageError(
            f"{real_parts.REQUIRE_VARIABLE} is set but these are missing: {', '.join(absent)}"
            " (bash scripts/system-packages.sh installs them)"
        )


@pytest.fixture
def lung_pet_ct_dx() -> Path:
    """The real-data folder; the test is skipped when it is absent."""
    if not LUNG_PET_CT_DX.is_dir():
        pytest.skip(f"real data not found at {LUNG_PET_CT_DX}")
    return LUNG_PET_CT_DX


@dataclass(frozen=True)
class CliResult:
    """What one ``halong`` run returned and printed."""

    status: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture
def halong_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh ``$HALONG_HOME`` for this test only."""
    home = tmp_path / "halong-home"
    monkeypatch.setenv("HALONG_HOME", str(home))
    return home


@pytest.fixture
def halong(halong_home: Path, capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run ``halong ARGS...`` in-process; no output may ever contain a traceback."""
    from workstation.cli import main

    def run(*args: object) -> CliResult:
        status = main([str(arg) for arg in args])
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err, out + err
        return CliResult(status, out, err)

    return run


@dataclass(frozen=True)
class KnownSeries:
    """A generated CT series and every value the index should show for it."""

    info: Any  # workstation.dicom.image_writer.SeriesInfo
    slices: int
    spacing: tuple[float, float, float]  # x (columns), y (rows), z (slices), mm
    rows: int = 8
    columns: int = 6


def _known_series() -> tuple[KnownSeries, ...]:
    from workstation.dicom.image_writer import SeriesInfo

    root = "1.2.826.0.1.3680043.10.511"  # fixed UIDs, so tests can name them
    lan = {"patient_id": "PAT-A", "patient_name": "Nguyễn^Thị Lan", "patient_sex": "F"}
    lan |= {"patient_birth_date": "19580312"}
    minh = {"patient_id": "PAT-B", "patient_name": "Tran^Minh", "patient_sex": "M"}
    minh |= {"patient_birth_date": "19700101"}
    chest = {"study_uid": f"{root}.1", "study_date": "20240105", "study_time": "101500"}
    chest |= {"study_description": "CT CHEST LDCT", "accession_number": "ACC-1"}
    follow_up = {"study_uid": f"{root}.2", "study_date": "20250110", "study_time": "083000"}
    follow_up |= {"study_description": "CT CHEST FOLLOW-UP", "accession_number": "ACC-2"}
    head = {"study_uid": f"{root}.3", "study_date": "20240620", "study_time": "221000"}
    head |= {"study_description": "CT HEAD STROKE", "accession_number": "ACC-3"}

    def series(person, study, number, description, body_part, slices, spacing):
        info = SeriesInfo(
            **person,
            **study,
            series_uid=f"{study['study_uid']}.{number}",
            series_number=number,
            series_description=description,
            body_part=body_part,
            frame_of_reference_uid=f"{study['study_uid']}.0",
        )
        return KnownSeries(info, slices, spacing)

    return (
        series(lan, chest, 2, "LUNG 1.25", "CHEST", 4, (0.6, 0.8, 1.25)),
        series(lan, chest, 3, "MEDIASTINUM 2.0", "CHEST", 3, (0.5, 0.5, 2.0)),
        series(lan, follow_up, 2, "LUNG 1.25", "CHEST", 2, (0.7, 0.7, 1.25)),
        series(minh, head, 1, "HEAD AXIAL", "HEAD", 5, (0.45, 0.45, 5.0)),
    )


@pytest.fixture
def known_series(tmp_path: Path) -> tuple[Path, tuple[KnownSeries, ...]]:
    """A folder of small generated CT series (2 patients, 3 studies, 4 series, 14 files)."""
    import numpy as np

    from workstation.dicom.image_writer import write_volume
    from workstation.model.volume import Volume

    folder = tmp_path / "known-series"
    known = _known_series()
    for index, series in enumerate(known):
        voxels = np.zeros((series.slices, series.rows, series.columns), np.int16)
        volume = Volume(voxels, spacing=series.spacing, origin=(-20.0, 10.0, 5.0), modality="CT")
        write_volume(volume, folder / f"series-{index}", series.info)
    return folder, known


@pytest.fixture(scope="session")
def studies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, WrittenSeries]:
    """Two patients on disk: a chest CT and a brain MR (see support.studies)."""
    return write_two_patients(tmp_path_factory.mktemp("studies"))


@pytest.fixture
def imported(halong_home: Path, studies: dict[str, WrittenSeries]) -> dict[str, WrittenSeries]:
    """The studies indexed into the temp home's database."""
    from workstation.dicom.database import Database
    from workstation.dicom.importer import ImportRequest, import_paths
    from workstation.home import resolve_home

    home = resolve_home()
    with Database.open(home.database_path) as db:
        folders = [series.folder for series in studies.values()]
        report = import_paths(db, ImportRequest(folders, home.store))
    assert report.imported == sum(s.shape[0] for s in studies.values())
    return studies


@pytest.fixture(autouse=True)
def _delete_closed_qt_widgets():
    """Delete widgets that pytest-qt closed with deleteLater now, while X is still up.

    Render windows destroyed at interpreter exit, after pytest-xvfb stopped Xvfb, make
    Xlib end the process with status 1 although every test passed. Tests that never
    imported Qt pay nothing.
    """
    yield
    if "PySide6.QtCore" in sys.modules:
        from PySide6.QtCore import QCoreApplication, QEvent

        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        gc.collect()
