"""Where Halong keeps its own data: every folder under the data folder, named once here.

One folder, ``$HALONG_HOME`` or the platform's user data folder, so a test or a
second installation can point everything elsewhere with one variable or ``--home``.
No other module joins a name onto the data folder.
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

HOME_VARIABLE = "HALONG_HOME"


@dataclass(frozen=True)
class HalongHome:
    """The data folder and the fixed places inside it."""

    root: Path

    @property
    def database_path(self) -> Path:
        return self.root / "halong.sqlite"

    @property
    def store(self) -> Path:
        """Files copied by ``import --copy`` and extracted from zip archives."""
        return self.root / "store"

    @property
    def outbox(self) -> Path:
        """The durable outbox: everything sent, written down before it is sent."""
        return self.root / "outbox"

    @property
    def audit(self) -> Path:
        """The append-only audit trail (``audit-YYYY-MM.log``)."""
        return self.root / "audit"

    @property
    def drafts(self) -> Path:
        """Autosaved report drafts, one folder each."""
        return self.root / "drafts"

    @property
    def reports(self) -> Path:
        """Signed report packages, one read-only folder per version."""
        return self.root / "reports"

    @property
    def results(self) -> Path:
        """Analysis results saved from the window, under ``results/<study>/``."""
        return self.root / "results"

    @property
    def measurements(self) -> Path:
        """The reader's measurements, one file per study."""
        return self.root / "measurements"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def node_database(self) -> Path:
        """The triage node's own state: received series, jobs, alerts, accounts."""
        return self.root / "node" / "node.sqlite"

    @property
    def node_api_token(self) -> Path:
        """The station's bearer token for a triage node's API (a secret, owner-only)."""
        return self.root / "keys" / "node-api.token"

    @property
    def demo(self) -> Path:
        """Where ``halong demo`` writes the built-in demo studies by default."""
        return self.root / "demo"

    def study_results(self, study_key: str) -> Path:
        """Where the window saves the results of one study (and keeps review journals)."""
        return self.results / study_key

    def new_result_folder(self, study_key: str, kind: str) -> Path:
        """A folder name not used yet for a result of ``kind`` (``lung-20250301-101500``)."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        base = self.study_results(study_key)
        folder, suffix = base / f"{kind}-{stamp}", 1
        while folder.exists():
            suffix += 1
            folder = base / f"{kind}-{stamp}-{suffix}"
        return folder

    def result_seal_key(self) -> bytes:
        """This installation's secret for sealing result manifests (made on first use).

        A result whose manifest was not sealed with it was not written by this Halong,
        or was changed since: the report gate refuses it. Readable by its owner only.
        """
        path = self.root / "keys" / "result-seal.key"
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            draft = path.with_name(f".{path.name}.{os.getpid()}")
            descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(secrets.token_bytes(32))
                handle.flush()
                os.fsync(handle.fileno())
            try:  # appears whole or not at all; a second Halong's key wins if it was first
                os.link(draft, path)
            except FileExistsError:
                pass
            finally:
                draft.unlink()
        return path.read_bytes()


#: Patient data at rest is its owner's only: folders 0700, files 0600.
PRIVATE_UMASK = 0o077


def open_private_home(override: str | os.PathLike[str] | None = None) -> tuple[HalongHome, str]:
    """The data folder for this process, made private: every file Halong creates from now
    on is readable by its owner only (umask 077), the folder is created 0700, and an
    existing one that others can read gets a warning (the second value; "" when fine).

    Called once by each entry point (the command line, the window), before any file.
    """
    home = resolve_home(override)
    os.umask(PRIVATE_UMASK)
    home.root.mkdir(parents=True, exist_ok=True, mode=0o700)
    mode = home.root.stat().st_mode & 0o777
    if mode & 0o077:
        return home, (
            f"the data folder {home.root} is readable by other users (mode {mode:o}): "
            f"patients' data must not be; run: chmod -R go-rwx {home.root}"
        )
    return home, ""


def resolve_home(override: str | os.PathLike[str] | None = None) -> HalongHome:
    """Pick the data folder: ``override``, then ``$HALONG_HOME``, then the platform default."""
    if override:
        return HalongHome(Path(override).expanduser().absolute())
    from_environment = os.environ.get(HOME_VARIABLE)
    if from_environment:
        return HalongHome(Path(from_environment).expanduser().absolute())
    import platformdirs

    return HalongHome(Path(platformdirs.user_data_dir("halong")))
