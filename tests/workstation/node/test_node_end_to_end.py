"""Scanner to PACS through the node: an Orthanc playing the CT scanner sends a small CT
perfusion phantom study (and a plain head CT, which is no perfusion), the node analyses
the one and leaves the other, and a second Orthanc, the PACS, receives the results.

What the PACS holds is checked from its REST API against the phantom's truth: the
Tmax > 6 s volume measured on the Parametric Map it received, the core in the result.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import httpx
import numpy as np
import pydicom
import pytest
from support.lung_studies import write_lung_studies
from support.net_fixtures import wait_for
from support.node_runs import (
    JOB_TIMEOUT_S,
    jobs,
    node_values,
    pacs_series,
    received_series,
    running_node,
    send_folder,
    store_from_orthanc,
    wait_for_jobs,
)
from support.perfusion_studies import write_ctp_phantom

from workstation.dicom.image_writer import SeriesInfo, write_volume
from workstation.model.volume import Volume

pytestmark = pytest.mark.slow  # real Orthancs, worker processes, the engines

#: As tests/workstation/commands/test_perfusion_command.py holds the engine to its truth.
TOLERANCE = 0.10
PERFUSION_SERIES = {
    "AI CT perfusion summary": 1,
    "AI CT perfusion maps (colour)": 5,  # CBF, CBV, MTT, Tmax, TTP
    "AI CT perfusion parametric maps": 5,
}


def _tmax_gt6_ml(pacs, instances: list[dict]) -> float:
    """The Tmax > 6 s volume of the Tmax Parametric Map the PACS holds."""
    (tmax,) = [tags for tags in instances if tags["ContentLabel"] == "TMAX"]
    identifier = httpx.post(f"{pacs.url}/tools/lookup", content=tmax["SOPInstanceUID"]).json()
    data = httpx.get(f"{pacs.url}/instances/{identifier[0]['ID']}/file").content
    parametric_map = pydicom.dcmread(io.BytesIO(data))
    measures = parametric_map.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0]
    row, column = (float(v) for v in measures.PixelSpacing)
    voxel_ml = row * column * float(measures.SpacingBetweenSlices) / 1000.0
    return float(np.sum(parametric_map.pixel_array > 6.0)) * voxel_ml


def test_a_ct_perfusion_sent_by_the_scanner_reaches_the_pacs_analysed(
    scanner, orthanc, halong_scp_port, tmp_path: Path
) -> None:
    ctp = write_ctp_phantom(tmp_path / "ctp")
    head = SeriesInfo(patient_id="PAT-301", series_description="HEAD AXIAL", body_part="HEAD")
    write_volume(Volume(np.zeros((24, 32, 32), np.int16), modality="CT"), tmp_path / "head", head)
    for path in [*sorted(ctp.folder.iterdir()), *sorted((tmp_path / "head").iterdir())]:
        scanner.upload(path)
    home = tmp_path / "home"

    with running_node(home, node_values(halong_scp_port, orthanc)):
        store_from_orthanc(scanner, ctp.study_uid)
        store_from_orthanc(scanner, head.study_uid)
        (job,) = wait_for_jobs(home, 1)

    states = {row["series_uid"]: row["state"] for row in received_series(home)}
    assert states == {job["series_uid"]: "routed", head.series_uid: "ignored"}
    assert (job["status"], job["workflow"], job["runs"], job["reason"]) == (
        "done",
        "perfusion",
        1,
        None,
    )
    times = [job[k] for k in ("last_instance_at", "queued_at", "started_at", "finished_at")]
    assert times == sorted(times) and job["sent_at"] >= job["finished_at"]

    held = pacs_series(orthanc)
    assert {name: len(tags) for name, tags in held.items()} == PERFUSION_SERIES
    for tags in (t for instances in held.values() for t in instances):
        assert tags["PatientID"] == "PAT-300" and tags["StudyInstanceUID"] == ctp.study_uid
        assert "AI-generated" in tags["DerivationDescription"]
        assert "not reviewed by a physician" in tags["DerivationDescription"]
    truth = ctp.phantom
    hypoperfusion = _tmax_gt6_ml(orthanc, held["AI CT perfusion parametric maps"])
    assert abs(hypoperfusion - truth.hypoperfusion_ml) <= TOLERANCE * truth.hypoperfusion_ml

    result = Path(job["result_folder"])
    assert result.parent == home / "results" / ctp.study_uid
    document = json.loads((result / "perfusion.json").read_text())
    assert abs(document["core_ml"] - truth.core_ml) <= TOLERANCE * truth.core_ml
    assert (result / "manifest.json").is_file()
    # the summary's "time to result" counts from the last image, as the job table saw it
    stated = document["result_time"]
    assert stated["since_last_image"] is True
    earliest, latest = (job[k] - job["last_instance_at"] for k in ("started_at", "finished_at"))
    assert earliest <= stated["seconds"] <= latest


def test_images_arriving_after_the_analysis_make_it_run_again_on_all_of_them(
    orthanc, halong_scp_port, tmp_path: Path
) -> None:
    lung = write_lung_studies(tmp_path / "chest")
    files = sorted(lung.current.iterdir())
    first, late = tmp_path / "first", tmp_path / "late"
    first.mkdir()
    late.mkdir()
    for index, path in enumerate(files):
        path.rename((late if index % 4 == 0 else first) / path.name)  # every fourth one late
    home = tmp_path / "home"

    with running_node(home, node_values(halong_scp_port, orthanc)):
        send_folder(first, halong_scp_port)
        (before,) = wait_for_jobs(home, 1, sent=False)
        send_folder(late, halong_scp_port)
        wait_for(
            lambda: any(r["runs"] == 2 and r["status"] in ("done", "failed") for r in jobs(home)),
            JOB_TIMEOUT_S,
            "the second run",
        )
        (after,) = jobs(home)

    assert (after["status"], after["runs"]) == ("done", 2), after
    assert "more images arrived after the analysis had started" in (after["reason"] or ""), after
    assert after["last_instance_at"] > before["last_instance_at"]
    assert after["result_folder"] != before["result_folder"]
    seg = pydicom.dcmread(Path(after["result_folder"]) / "nodules-seg.dcm")
    (referenced,) = seg.ReferencedSeriesSequence
    assert len(referenced.ReferencedInstanceSequence) == len(files)  # every image, this time
