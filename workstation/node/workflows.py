"""The capability workflows the node runs on a series: the same calls as ``halong lung``
and ``halong perfusion`` (and the window's panels), on a series of the database.

Each workflow loads the series, runs its analysis with the default options and writes
the result folder with the capability's own writers, the sealed manifest last. What is
sent to the PACS is read back from that manifest (:mod:`workstation.node.worker`), so
a result folder written before a crash is sent as it is, never analysed again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from workstation.dicom.series_input import LoadedSeries, load_series, request_for_series
from workstation.home import HalongHome
from workstation.model.progress import Progress


@dataclass(frozen=True)
class WorkflowOptions:
    """What the node adds to the engines' defaults."""

    #: The language of what the result says in words (the summary images).
    language: str = "vi"
    #: When the series' last instance arrived (epoch seconds): the summary states the
    #: time from it to the result, as the stroke team counts.
    last_instance_at: float | None = None


def _load(home: HalongHome, series_uid: str, progress: Progress) -> LoadedSeries:
    return load_series(request_for_series(series_uid), home.database_path, progress)


def run_lung(
    home: HalongHome,
    series_uid: str,
    folder: Path,
    progress: Progress,
    options: WorkflowOptions = WorkflowOptions(),
) -> None:
    """lung.json, the nodule SEG and the TID 1500 SR (unverified), as ``halong lung``."""
    from workstation.lung.analysis import LungSettings, analyse
    from workstation.lung.outputs import write_lung_outputs

    loaded = _load(home, series_uid, progress)
    result = analyse(loaded, LungSettings(), home.database_path, progress)
    write_lung_outputs(result, loaded, folder, home.result_seal_key(), language=options.language)


def run_perfusion(
    home: HalongHome,
    series_uid: str,
    folder: Path,
    progress: Progress,
    options: WorkflowOptions = WorkflowOptions(),
) -> None:
    """perfusion.json, maps, summary and their DICOM, as ``halong perfusion`` (no clinical
    values: DEFUSE 3 / DAWN then say what they need)."""
    from workstation.perfusion.analysis import PerfusionOptions, analyse
    from workstation.perfusion.inputs import choose_perfusion_series
    from workstation.perfusion.outputs import save_outputs

    study = choose_perfusion_series(_load(home, series_uid, progress))
    result = analyse(study.loaded, PerfusionOptions(), home.database_path, progress)
    result.qc.notes[:0] = study.notes
    since = None if options.last_instance_at is None else time.time() - options.last_instance_at
    save_outputs(
        result,
        study.loaded,
        folder,
        home.result_seal_key(),
        progress,
        language=options.language,
        seconds_since_last_image=since,
    )


Workflow = Callable[[HalongHome, str, Path, Progress, WorkflowOptions], None]
#: Workflow name (as routing rules and result folders name it) -> the function.
WORKFLOWS: dict[str, Workflow] = {"lung": run_lung, "perfusion": run_perfusion}
#: The workflows whose engines run on a GPU when there is one (torch): a Ray task of
#: theirs asks the cluster for one.
GPU_WORKFLOWS = frozenset({"lung", "perfusion"})
