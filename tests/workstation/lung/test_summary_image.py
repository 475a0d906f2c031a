"""summary.png of a lung result, held to the phantom's truth: the slice through the most
suspicious nodule's centre, its outline where the nodule is, the patient's right on the
image's left, the numbers and identity it states, sealed in the manifest."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ai.phantoms import NoduleSpec, make_chest_ct
from workstation.dicom.image_writer import SeriesInfo, write_volume
from workstation.dicom.series_input import load_series, resolve_input
from workstation.lung.analysis import LungSettings, analyse
from workstation.lung.outputs import write_lung_outputs
from workstation.lung.summary_image import (
    OUTLINE_RGB,
    SUMMARY_IMAGE,
    LungSummary,
    render_lung_summary,
)
from workstation.model.manifest import read_manifest
from workstation.model.volume import Volume
from workstation.reporting.templates import load_labels

SHAPE, SPACING = (100, 256, 256), (1.0, 1.0, 1.5)
SEED = 97_211  # not a training seed (those are 10 000-10 999 and 20 000-20 999)
KEY = b"summary-image-test"
PATIENT = {"patient_id": "LUNG-KEY-1", "patient_name": "Hoang^Van Nam"}
STUDY_DATE = "20250301"
#: Lung-RADS v2022 at baseline: solid >= 15 mm is 4B; ground glass under 30 mm is 2.
SOLID_MM, GROUND_GLASS_MM = 20.0, 24.0
#: Where the outline may lie off the truth (mm): the engine's centre and the outline's
#: two-pixel thickness.
CENTRE_TOLERANCE_MM, AXIS_TOLERANCE_MM = 1.5, 2.5


@dataclasses.dataclass(frozen=True)
class Run:
    out: Path
    written: dict
    result: object
    loaded: object
    #: The solid nodule on the patient's right (4B) and the larger ground glass on the
    #: left (2): the picture must show the solid one, though it is the smaller.
    solid: object
    ground_glass: object


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Run:
    root = tmp_path_factory.mktemp("lung-summary")
    phantom = make_chest_ct(
        SEED,
        SHAPE,
        SPACING,
        nodules=[
            NoduleSpec("solid", SOLID_MM, side="right"),
            NoduleSpec("ground-glass", GROUND_GLASS_MM, side="left"),
        ],
    )
    write_volume(phantom.volume, root / "ct", SeriesInfo(**PATIENT, study_date=STUDY_DATE))
    database = root / "halong.sqlite"
    loaded = load_series(resolve_input(str(root / "ct"), database), database)
    result = analyse(loaded, LungSettings(), database)
    written = write_lung_outputs(result, loaded, root / "out", KEY)
    solid, ground_glass = phantom.nodules
    return Run(root / "out", written, result, loaded, solid, ground_glass)


def _picture(run: Run) -> np.ndarray:
    with Image.open(run.out / SUMMARY_IMAGE) as image:
        assert image.mode == "RGB"
        return np.asarray(image)


def _rendered(run: Run, volume: Volume | None = None, result=None) -> LungSummary:
    header = run.loaded.source_datasets()[0]
    return render_lung_summary(result or run.result, volume or run.loaded.volume, header)


def _outline_pixels(rgb: np.ndarray, where) -> np.ndarray:
    """(row, column) on the picture of every outline-coloured pixel inside ``where``."""
    part = rgb[where.top : where.top + where.height, where.left : where.left + where.width]
    found = np.argwhere(np.all(part == OUTLINE_RGB, axis=-1))
    return found + np.array([where.top, where.left])


def _expected_pixel(volume: Volume, centre_lps, panel) -> tuple[float, float]:
    """Where a point shows on the slice in radiological orientation: the field of view's
    patient-right edge at the panel's left, its anterior edge at the top."""
    columns, rows = volume.shape_zyx[2], volume.shape_zyx[1]
    edges = [(i, j, 0.0) for i in (-0.5, columns - 0.5) for j in (-0.5, rows - 0.5)]
    corners = np.array([volume.index_to_world(np.array(edge)) for edge in edges])
    right_x, anterior_y = corners[:, 0].min(), corners[:, 1].min()
    x_fraction = (centre_lps[0] - right_x) / (columns * volume.spacing[0])
    y_fraction = (centre_lps[1] - anterior_y) / (rows * volume.spacing[1])
    return panel.top + y_fraction * panel.height, panel.left + x_fraction * panel.width


def test_summary_png_is_written_sealed_and_phone_sized(run: Run) -> None:
    assert run.written["summary"] == run.out / SUMMARY_IMAGE
    manifest = read_manifest(run.out, KEY)  # raises unless every listed file matches
    assert SUMMARY_IMAGE in manifest.files
    assert _picture(run).shape == (700, 1000, 3)


def test_it_shows_the_slice_through_the_most_suspicious_nodules_centre(run: Run) -> None:
    volume = run.loaded.volume
    picture = _picture(run)
    summary = _rendered(run)
    assert np.array_equal(summary.rgb, picture)  # the saved picture is this rendering

    # the solid 4B nodule, not the larger ground glass (Lung-RADS 2)
    shown = next(n for n in run.result.nodules if n.id == summary.nodule_id)
    assert math.dist(shown.measurements.center_lps_mm, run.solid.center_lps_mm) < 4.0
    assert shown.measurements.long_axis_mm < run.ground_glass.long_axis_mm
    true_k = volume.world_to_index(np.array(run.solid.center_lps_mm))[2]
    assert abs(summary.slice_index - true_k) <= 1.0
    assert abs(summary.z_mm - run.solid.center_lps_mm[2]) <= SPACING[2]
    assert f"z = {summary.z_mm:.1f} mm" in summary.texts["slice_position"]

    outline = _outline_pixels(picture, summary.panel)
    assert len(outline) > 0
    scale = summary.panel.width / (volume.shape_zyx[2] * volume.spacing[0])  # px per mm
    row, column = _expected_pixel(volume, run.solid.center_lps_mm, summary.panel)
    assert np.linalg.norm(outline.mean(axis=0) - (row, column)) <= CENTRE_TOLERANCE_MM * scale
    for extent in np.ptp(outline, axis=0) + 1:  # across the sphere's central section
        assert abs(extent / scale - run.solid.long_axis_mm) <= AXIS_TOLERANCE_MM
    assert len(_outline_pixels(picture, summary.inset)) > len(outline)  # magnified


def test_the_patients_right_is_on_the_image_left(run: Run) -> None:
    assert run.solid.center_lps_mm[0] < run.ground_glass.center_lps_mm[0]  # LPS: right is -x
    summary = _rendered(run)
    panel = summary.panel
    outline = _outline_pixels(summary.rgb, panel)
    assert len(outline) > 0  # an empty outline would pass the side check below
    assert np.all(outline[:, 1] < panel.left + panel.width / 2)
    assert (summary.texts["left_side"], summary.texts["right_side"]) == ("R", "L")

    # the same chest stored with its columns running right to left: still shown so
    volume = run.loaded.volume
    columns = volume.shape_zyx[2]
    mirrored = dataclasses.replace(
        volume,
        voxels=volume.voxels[:, :, ::-1].copy(),
        origin=tuple(volume.index_to_world(np.array([columns - 1.0, 0.0, 0.0]))),
        direction=volume.direction @ np.diag([-1.0, 1.0, 1.0]),
    )

    def mirror(nodule):
        z, y, x = nodule.mask.box
        box = (z, y, slice(columns - x.stop, columns - x.start))
        mask = dataclasses.replace(nodule.mask, box=box, mask=nodule.mask.mask[:, :, ::-1])
        return dataclasses.replace(nodule, mask=mask)

    result = dataclasses.replace(run.result, nodules=[mirror(n) for n in run.result.nodules])
    flipped = _rendered(run, mirrored, result)
    outline = _outline_pixels(flipped.rgb, flipped.panel)
    row, column = _expected_pixel(mirrored, run.solid.center_lps_mm, flipped.panel)
    scale = flipped.panel.width / (columns * volume.spacing[0])
    assert np.linalg.norm(outline.mean(axis=0) - (row, column)) <= CENTRE_TOLERANCE_MM * scale
    assert np.all(outline[:, 1] < panel.left + panel.width / 2)


def test_it_names_the_patient_and_states_the_nodule_and_exam(run: Run) -> None:
    summary = _rendered(run)  # the default language: Vietnamese
    vi = load_labels("vi")
    texts = summary.texts
    assert texts["patient_name"] == "Hoang Van Nam"
    assert PATIENT["patient_id"] in texts["identity"] and "2025-03-01" in texts["identity"]
    assert texts["ai_label"] == vi["perfusion_image"]["ai_not_reviewed"]
    assert run.result.algorithm.name in texts["ai_footer"]
    assert texts["exam_lung_rads"] == "Lung-RADS 4B"  # solid >= 15 mm at baseline
    assert vi["nodule_types"]["solid"] in texts["nodule"]
    long_axis = float(texts["axes"].split(": ")[1].split(" mm")[0])
    assert abs(long_axis - run.solid.long_axis_mm) <= 1.0
    volume_mm3 = float(texts["volume"].split(": ")[1].split(" mm")[0])
    assert volume_mm3 == pytest.approx(run.solid.volume_mm3, rel=0.10)
    assert "phổi phải" in texts["location"]  # right lung

    english = render_lung_summary(
        run.result, run.loaded.volume, run.loaded.source_datasets()[0], "en"
    )
    assert english.texts["ai_label"] == "AI-generated, not reviewed"
    assert "not reviewed by a physician" in english.texts["ai_footer"]
    assert "right lung" in english.texts["location"]


def test_no_summary_without_nodules(run: Run, tmp_path: Path) -> None:
    empty = dataclasses.replace(run.result, nodules=[], fleischner=None)
    written = write_lung_outputs(empty, run.loaded, tmp_path, KEY)
    assert "summary" not in written and not (tmp_path / SUMMARY_IMAGE).exists()
    assert SUMMARY_IMAGE not in read_manifest(tmp_path, KEY).files
