"""The shipped routing rules send each study where it belongs, read from its headers only.

Ground truth is what each study is: the phantoms were made as a CT perfusion, a DSC-MR
perfusion, an ADC map, a chest CT, a respiratory-gated 4D chest CT; the demo studies and
the shared real scans (Lung-PET-CT-Dx, LIDC-IDRI: chest CTs, see their READMEs) too.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from pydicom.uid import generate_uid
from support.lung_studies import write_lung_studies
from support.perfusion_studies import write_ctp_phantom

from ai.phantoms import make_adc_head, make_mr_dsc_head
from workstation.demo import write_demo_studies
from workstation.dicom.headers import UnusableFile, read_instance
from workstation.dicom.image_writer import SeriesInfo, write_volume
from workstation.model.volume import Volume
from workstation.node.routing import RulesError, arrival_of, features_of, load_rules
from workstation.node.workflows import WORKFLOWS
from workstation.perfusion.phantoms import write_adc_phantom, write_perfusion_phantom

SHARED = Path(__file__).resolve().parents[4] / "shared" / "data"


def routes(folder: Path, rules_file: Path | None = None) -> dict[str, str | None]:
    """Series description (or UID) -> the name of the rule that takes it, None: ignored."""
    rules = load_rules(rules_file, WORKFLOWS)
    by_series: dict[str, list] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        try:
            header = read_instance(path)
        except UnusableFile:
            continue  # the collections' annotation XML, truth JSON
        by_series.setdefault(header.series_uid, []).append(header)
    decided = {}
    for uid, headers in by_series.items():
        rule = rules.route(features_of(arrival_of(h) for h in headers))
        decided[headers[0].series_description or uid] = None if rule is None else rule.name
    return decided


@pytest.fixture(scope="module")
def phantoms(tmp_path_factory) -> Path:
    """The small test phantoms, each as the scanner would write it."""
    root = tmp_path_factory.mktemp("phantoms")
    write_ctp_phantom(root / "ctp")  # "CTP 4D", HEAD, 30 frames
    study = SeriesInfo(patient_id="MR-1", study_description="MR stroke", body_part="HEAD")
    dsc = make_mr_dsc_head(seed=0, shape=(4, 32, 32), n_frames=40)
    (root / "mr").mkdir()
    named = dataclasses.replace(study, series_uid=generate_uid(), series_description="ep2d_perf")
    write_perfusion_phantom(dsc, root / "mr" / "dsc", named)  # DSC, 40 frames
    write_adc_phantom(make_adc_head(seed=0, shape=(4, 32, 32)), root / "mr" / "adc", study)
    anonymous = dataclasses.replace(study, series_uid=generate_uid(), series_description="")
    write_perfusion_phantom(dsc, root / "mr-4d" / "unnamed", anonymous)
    write_lung_studies(root / "chest")  # "LUNG 1.5 mm" and its prior, no body part
    four_d = Volume(
        np.zeros((10, 24, 16, 16), np.int16), frame_times=np.arange(10.0) * 0.5, modality="CT"
    )
    gated = SeriesInfo(series_description="4D CT gated 10 phases", body_part="CHEST")
    write_volume(four_d, root / "gated", gated)
    head = SeriesInfo(series_description="HEAD AXIAL", body_part="HEAD")
    write_volume(Volume(np.zeros((30, 16, 16), np.int16), modality="CT"), root / "head", head)
    return root


def test_the_small_phantoms_go_to_their_engines_and_the_rest_is_ignored(phantoms) -> None:
    assert routes(phantoms / "ctp") == {"CTP 4D": "ct-perfusion"}
    assert routes(phantoms / "mr") == {
        "ep2d_perf": "mr-perfusion",
        "ADC (10^-6 mm2/s)": None,  # 3D: no perfusion
    }
    (unnamed,) = routes(phantoms / "mr-4d").values()
    assert unnamed is None  # 4D MR not named perfusion (fMRI, DCE?): left alone
    assert routes(phantoms / "chest") == {
        "LUNG 1.5 mm": "chest-ct-by-description",
        "LUNG 1.5 mm (prior)": "chest-ct-by-description",
    }
    assert routes(phantoms / "gated") == {"4D CT gated 10 phases": None}  # 4D, not a head
    assert routes(phantoms / "head") == {"HEAD AXIAL": None}  # a plain head CT


@pytest.mark.slow
def test_the_demo_studies_are_routed(tmp_path) -> None:
    demo = write_demo_studies(tmp_path / "demo")
    assert routes(demo.chest_series) == {"Chest 1.25 mm (synthetic phantom)": "chest-ct"}
    assert routes(demo.perfusion_series) == {
        "CT perfusion 40 x 1.6 s (synthetic phantom)": "ct-perfusion"
    }


@pytest.mark.realdata
@pytest.mark.parametrize("collection", ["lung-pet-ct-dx", "lidc-idri"])
def test_the_shared_real_chest_cts_go_to_the_lung_engine(collection) -> None:
    folder = SHARED / collection
    if not folder.is_dir():
        pytest.skip(f"real data not found at {folder}")
    decided = routes(folder)
    expected = 2  # Lung_Dx-A0002: B70f and B40f kernels; LIDC: subjects 0001 and 0002
    assert len(decided) == expected and set(decided.values()) == {"chest-ct"}, decided


def test_a_rules_file_replaces_the_default_and_says_what_is_wrong(phantoms, tmp_path) -> None:
    rules = tmp_path / "rules.json"
    ignore_ctp = {"name": "no-ctp-here", "workflow": "ignore", "match": {"modality": ["CT"]}}
    rules.write_text(json.dumps({"rules": [ignore_ctp]}))
    assert routes(phantoms / "ctp", rules) == {"CTP 4D": "no-ctp-here"}

    faults = {
        "unknown workflow": ({"name": "a", "workflow": "brain-age"}, "workflow 'brain-age'"),
        "bad regex": (
            {"name": "b", "workflow": "lung", "match": {"series_description": "("}},
            "not a regular expression",
        ),
        "unknown match": ({"name": "c", "workflow": "lung", "match": {"colour": 1}}, "colour"),
        "empty range": (
            {"name": "d", "workflow": "lung", "match": {"instances": {"min": 5, "max": 2}}},
            "min is above max",
        ),
    }
    for rule, expected in faults.values():
        rules.write_text(json.dumps({"rules": [ignore_ctp, rule]}))
        with pytest.raises(RulesError) as raised:
            load_rules(rules, WORKFLOWS)
        message = str(raised.value)
        assert str(rules) in message and "rule 2" in message and expected in message, message
    rules.write_text("{not json")
    with pytest.raises(RulesError, match="not valid JSON"):
        load_rules(rules, WORKFLOWS)
