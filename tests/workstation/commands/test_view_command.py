"""``halong view``: a screenshot with every view drawn, and clear errors for bad input."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest


def _write_phantom_series(folder: Path) -> Path:
    """A 64x64x40 CT: an elliptic body (40 HU) in air with a 300 HU sphere at the centre."""
    from workstation.dicom.image_writer import SeriesInfo, write_volume
    from workstation.model.volume import Volume

    z, y, x = np.indices((40, 64, 64), dtype=np.float32)
    body = ((x - 32) / 29) ** 2 + ((y - 32) / 25) ** 2 <= 1
    sphere = (x - 32) ** 2 + (y - 32) ** 2 + ((z - 20) * 2) ** 2 <= 13**2
    voxels = np.where(sphere, 300, np.where(body, 40, -1000)).astype(np.int16)
    info = SeriesInfo(patient_name="View^Test", series_description="CT CHEST")
    write_volume(Volume(voxels, spacing=(0.7, 0.7, 1.5), modality="CT"), folder, info)
    return folder


def _run_view(home: Path, tmp_path: Path, *args: object) -> subprocess.CompletedProcess:
    environment = dict(os.environ, HALONG_HOME=str(home))
    environment["HALONG_SETTINGS_DIR"] = str(tmp_path / "settings")
    return subprocess.run(
        [sys.executable, "-m", "workstation.cli", "view", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        env=environment,
    )


@pytest.mark.gui
@pytest.mark.slow
def test_a_screenshot_shows_all_four_views_drawn(halong_home, tmp_path):
    from PySide6.QtGui import QImage

    folder = _write_phantom_series(tmp_path / "ct")
    out = tmp_path / "out.png"

    result = _run_view(
        halong_home, tmp_path, folder, "--layout", "2x2", "--preset", "lung",
        "--screenshot", out, "--size", "1000x700",
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1000, 700)
    regions = dict(
        (name, tuple(map(int, rect.split(","))))
        for name, rect in re.findall(r"(\w+)=([\d,]+)", result.stdout.split("views:")[1])
    )
    assert set(regions) == {"axial", "coronal", "sagittal", "3d"}
    pixels = _rgb(image)
    for name, (x, y, width, height) in regions.items():
        assert width > 150 and height > 150, name
        region = pixels[y : y + height, x : x + width].max(axis=2)
        lit = np.mean(region > 40)
        assert 0.05 < lit < 0.98, f"{name} view looks blank ({lit:.0%} lit)"
        assert region.std() > 20, name
    # The lung window (W 1500, L -600) shows the 40 HU body nearly white and air dark
    # grey; the default soft-tissue window would show the body mid-grey.
    x, y, width, height = regions["axial"]
    axial = pixels[y : y + height, x : x + width].astype(int)
    grey = axial.max(axis=2) - axial.min(axis=2) < 12  # not the coloured lines and texts
    values = axial.max(axis=2)[grey & (axial.max(axis=2) > 30)]
    assert np.mean(values > 200) > 0.3
    assert np.mean((values > 90) & (values < 180)) < 0.05


def _rgb(image) -> np.ndarray:
    from PySide6.QtGui import QImage

    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    stride = rgb.bytesPerLine()
    raw = np.frombuffer(rgb.constBits(), np.uint8, count=stride * rgb.height())
    rows = raw.reshape(rgb.height(), stride)[:, : rgb.width() * 3]
    return rows.reshape(rgb.height(), -1, 3).copy()  # the QImage's memory goes with it


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("/no/such/folder",), "/no/such/folder does not exist"),
        (("1.2.826.0.1.999",), "no series with UID 1.2.826.0.1.999"),
        ((".", "--size", "big"), "expected WIDTHxHEIGHT"),
        ((".", "--screenshot", "out.jpg"), "the screenshot is written as PNG"),
        ((".", "--screenshot", "/no/such/folder/out.png"), "folder for the screenshot"),
        ((".", "--layout", "3x3"), "invalid choice: '3x3'"),
    ],
)
def test_bad_input_fails_with_a_clear_message(halong, args, message):
    result = halong("view", *args)

    assert result.status == 2
    assert message in result.err


@pytest.mark.gui
def test_a_folder_without_images_exits_1_with_the_reason(halong_home, tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "letter.txt").write_text("not an image")

    out = tmp_path / "x.png"
    result = _run_view(halong_home, tmp_path, tmp_path / "empty", "--screenshot", out)

    assert result.returncode == 1
    assert "halong: error: no image volume could be built from empty" in result.stderr
    assert "letter.txt: not a DICOM file" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()
    log = (halong_home / "logs" / "halong.log").read_text()
    assert "letter.txt: not a DICOM file" in log  # what the user saw is also logged


@pytest.mark.gui
@pytest.mark.parametrize("command", [(), ("gui",)])
def test_a_bare_halong_and_halong_gui_open_the_window(halong_home, tmp_path, command):
    environment = dict(os.environ, HALONG_HOME=str(halong_home), HALONG_EXIT_AFTER_SHOW="1")
    environment["HALONG_SETTINGS_DIR"] = str(tmp_path / "settings")
    result = subprocess.run(
        [sys.executable, "-m", "workstation.cli", *command],
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
    )

    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"startup_s=\d+\.\d{3}", result.stdout.strip())
