"""Query and retrieve from a real Orthanc into the local database, through ``halong``.

The study is written with known voxel values and uploaded through Orthanc's own REST
API; after ``halong retrieve`` the database must list it with the right identity and
geometry, and its files, loaded from the store, must give back the same voxels.
"""

from __future__ import annotations

import numpy as np
import pytest

from workstation.dicom.database import Database
from workstation.dicom.image_writer import SeriesInfo, write_volume
from workstation.dicom.loader import load_paths
from workstation.model.volume import Volume

ROOT = "1.2.826.0.1.3680043.10.511.88"
WANTED = SeriesInfo(
    patient_id="PAT-R",
    patient_name="Lê^Văn Bình",
    study_uid=f"{ROOT}.1",
    series_uid=f"{ROOT}.1.1",
    study_date="20250314",
    accession_number="ACC-R1",
    study_description="CT HEAD STROKE",
)
OTHER = SeriesInfo(patient_id="PAT-S", study_uid=f"{ROOT}.2", series_uid=f"{ROOT}.2.1")


@pytest.fixture
def pacs_with_two_studies(orthanc, tmp_path):
    """Orthanc holding a 4-slice head CT with ramp voxels, and an unrelated study."""
    voxels = (np.arange(4 * 8 * 6, dtype=np.int16).reshape(4, 8, 6) * 7 - 100).astype(np.int16)
    wanted = Volume(voxels, spacing=(0.6, 0.8, 1.25), origin=(-20.0, 10.0, 5.0), modality="CT")
    other = Volume(np.zeros((2, 8, 6), np.int16), modality="CT")
    for path in write_volume(wanted, tmp_path / "wanted", WANTED):
        orthanc.upload(path)
    for path in write_volume(other, tmp_path / "other", OTHER):
        orthanc.upload(path)
    assert orthanc.instance_count() == 6
    return voxels


def _sources(how: str, orthanc, scp_port: int) -> tuple[list[str], list[str]]:
    """The options of ``halong query`` and of ``halong retrieve`` for one way of retrieving."""
    if how == "dicomweb":
        return ["--dicomweb", orthanc.dicomweb_url], ["--dicomweb", orthanc.dicomweb_url]
    return ["--pacs", orthanc.node], [
        "--pacs",
        orthanc.node,
        "--method",
        how,
        "--port",
        str(scp_port),
    ]


@pytest.mark.parametrize("how", ["move", "get", "dicomweb"])
def test_query_then_retrieve_brings_the_study_into_the_local_database(
    how, pacs_with_two_studies, orthanc, halong, halong_home, halong_scp_port
):
    query_source, retrieve_source = _sources(how, orthanc, halong_scp_port)
    found = halong("query", *query_source, "--patient-id", "PAT-R", "--json")
    assert found.status == 0, found.err
    (study,) = found.json()
    assert (study["study_uid"], study["study_date"]) == (WANTED.study_uid, "20250314")
    assert (study["accession_number"], study["patient_name"]) == ("ACC-R1", "Lê^Văn Bình")

    result = halong("retrieve", WANTED.study_uid, *retrieve_source, "--json")

    assert result.status == 0, result.out + result.err
    assert result.json()["received"] == 4 and result.json()["imported"] == 4
    with Database.open(halong_home / "halong.sqlite") as db:
        (record,) = db.studies()  # the other study stayed on the PACS
        (series,) = db.series(WANTED.study_uid)
        paths = [instance.path for instance in db.instances(series.series_uid)]
    assert (record.study_uid, record.patient_id, record.instance_count) == (
        WANTED.study_uid,
        "PAT-R",
        4,
    )
    assert (series.rows, series.columns, series.pixel_spacing) == (8, 6, (0.8, 0.6))
    assert all(path.startswith(str(halong_home / "store")) for path in paths)
    (volume,) = load_paths(paths).volumes
    np.testing.assert_array_equal(volume.voxels, pacs_with_two_studies)
    np.testing.assert_allclose(volume.spacing, (0.6, 0.8, 1.25))


def test_query_with_no_match_says_so(orthanc, halong):
    result = halong("query", "--pacs", orthanc.node, "--patient-id", "NOBODY")
    assert (result.status, result.out.strip()) == (1, "No matching studies.")


def test_c_move_from_an_ae_title_the_pacs_does_not_know_explains_the_setup(
    pacs_with_two_studies, orthanc, halong, halong_scp_port
):
    source = ["--pacs", orthanc.node, "--port", str(halong_scp_port), "--calling-aet", "STRANGER"]
    result = halong("retrieve", WANTED.study_uid, *source)
    assert result.status == 2
    assert "register it there as a DICOM modality (AE title STRANGER" in result.err
