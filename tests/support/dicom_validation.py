"""Helpers for tests of DICOM writers: independent validators and a small source series."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset

from workstation.dicom.image_writer import SeriesInfo, write_volume
from workstation.dicom.loader import load_paths
from workstation.model.volume import Volume


def dciodvfy_errors(path: Path, iod: str) -> list[str]:
    """Lines of dciodvfy's verdict that start with "Error" (it must recognise the IOD)."""
    done = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, check=False)
    output = done.stdout + done.stderr
    assert iod in output, output
    return [line for line in output.splitlines() if line.startswith("Error")]


def dsrdump(path: Path) -> str:
    """dcmtk's rendering of a Structured Report (fails the test if dcmtk cannot read it)."""
    return subprocess.run(["dsrdump", str(path)], capture_output=True, text=True, check=True).stdout


def small_ct(folder: Path) -> tuple[Volume, list[Dataset]]:
    """A small CT series written to ``folder``, loaded back, with its headers in slice order."""
    voxels = np.full((24, 48, 40), -850, dtype=np.int16)
    volume = Volume(voxels, spacing=(0.7, 0.8, 1.25), origin=(-15.0, -20.0, 30.0), modality="CT")
    paths = write_volume(volume, folder, SeriesInfo(), shuffle_names=True)
    loaded = load_paths([folder]).volumes[0]
    headers = (pydicom.dcmread(p, stop_before_pixels=True) for p in paths)
    by_uid = {ds.SOPInstanceUID: ds for ds in headers}
    return loaded, [by_uid[uid] for uid in loaded.provenance.sop_instance_uids]
