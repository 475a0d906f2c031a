"""Fixtures for the UI tests: a temp home and settings, small CT/MR studies, the window.

Every test gets its own ``$HALONG_HOME`` and ``$HALONG_SETTINGS_DIR``; the window
fixture fails the test when a background thread survives the window's close.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QCoreApplication, QEvent

SPHERE_HU = 300
AIR_HU = -1000
BODY_HU = 40


@dataclass(frozen=True)
class WrittenSeries:
    """A generated series on disk and what the browser should show for it."""

    folder: Path
    series_uid: str
    study_uid: str
    patient_name: str
    patient_id: str
    description: str
    accession: str
    modality: str
    shape: tuple[int, int, int]


def phantom(shape: tuple[int, int, int], modality: str) -> np.ndarray:
    """A body ellipse with a bright sphere: a slice is never blank, in any orientation."""
    z, y, x = np.indices(shape, dtype=np.float32)
    nz, ny, nx = shape
    body = ((x - nx / 2) / (0.45 * nx)) ** 2 + ((y - ny / 2) / (0.4 * ny)) ** 2 <= 1
    sphere = (x - nx / 2) ** 2 + (y - ny / 2) ** 2 + ((z - nz / 2) * 2) ** 2 <= (nx / 5) ** 2
    if modality == "CT":
        voxels = np.where(body, BODY_HU, AIR_HU)
        voxels = np.where(sphere, SPHERE_HU, voxels)
    else:
        voxels = np.where(body, 400, 0) + np.where(sphere, 600, 0)
    return voxels.astype(np.int16)


def write_series(
    folder: Path,
    *,
    patient_name: str,
    patient_id: str,
    description: str,
    accession: str,
    modality: str = "CT",
    shape: tuple[int, int, int] = (40, 64, 64),
    study_uid: str | None = None,
    number: int = 1,
) -> WrittenSeries:
    from workstation.dicom.image_writer import SeriesInfo, write_volume
    from workstation.model.volume import Volume

    info = SeriesInfo(
        patient_name=patient_name,
        patient_id=patient_id,
        study_description=description,
        accession_number=accession,
        series_description=f"{description} AXIAL",
        series_number=number,
    )
    if study_uid:
        info.study_uid = study_uid
    volume = Volume(phantom(shape, modality), spacing=(0.7, 0.7, 1.5), modality=modality)
    write_volume(volume, folder, info)
    return WrittenSeries(
        folder,
        info.series_uid,
        info.study_uid,
        patient_name,
        patient_id,
        description,
        accession,
        modality,
        shape,
    )


@pytest.fixture(scope="session")
def studies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, WrittenSeries]:
    """Two patients: a chest CT (64x64x40) and a brain MR (48x48x20)."""
    root = tmp_path_factory.mktemp("studies")
    return {
        "chest": write_series(
            root / "chest",
            patient_name="Nguyen^Lan",
            patient_id="PAT-100",
            description="CT CHEST LDCT",
            accession="ACC-100",
        ),
        "brain": write_series(
            root / "brain",
            patient_name="Tran^Minh",
            patient_id="PAT-200",
            description="MR BRAIN STROKE",
            accession="ACC-200",
            modality="MR",
            shape=(20, 48, 48),
        ),
    }


@pytest.fixture
def gui_env(halong_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temp ``$HALONG_HOME`` and a temp QSettings folder; returns the home.

    The settings start with the single-view layout: one view renders faster than four
    under Xvfb's software OpenGL (the 2x2 layout is covered by the screenshot test).
    """
    settings = tmp_path / "settings"
    monkeypatch.setenv("HALONG_SETTINGS_DIR", str(settings))
    settings.mkdir()
    (settings / "Halong.ini").write_text("[viewer]\nlayout=1x1\n")
    return halong_home


@pytest.fixture
def imported(gui_env: Path, studies: dict[str, WrittenSeries]) -> dict[str, WrittenSeries]:
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


def _unattended(window) -> None:
    window.interactive = False


@pytest.fixture
def make_window(qtbot, gui_env: Path) -> Iterator[Callable]:
    """Build main windows on the temp home; each must end with no background thread alive."""
    from workstation.home import resolve_home
    from workstation.ui.main_window import MainWindow

    windows = []

    def make():
        window = MainWindow(resolve_home())
        windows.append(window)
        # unattended at teardown: no "save your decisions?" question when it closes them
        qtbot.addWidget(window, before_close_func=_unattended)
        with qtbot.waitSignal(window.browser.refreshed, timeout=10_000):
            window.show()
        return window

    yield make
    for window in windows:
        window.close()
        assert window.background_threads() == 0
        # Delete now, while Xvfb is still up: render windows destroyed at interpreter
        # exit, after pytest-xvfb stopped the display, make Xlib exit with status 1.
        window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


@pytest.fixture
def window(make_window: Callable):
    return make_window()
