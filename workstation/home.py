"""Where Halong keeps its own data: the database and the store of copied files.

One folder, ``$HALONG_HOME`` or the platform's user data folder, so a test or a
second installation can point everything elsewhere with one variable or ``--home``.
"""

from __future__ import annotations

import os
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


def resolve_home(override: str | os.PathLike[str] | None = None) -> HalongHome:
    """Pick the data folder: ``override``, then ``$HALONG_HOME``, then the platform default."""
    if override:
        return HalongHome(Path(override).expanduser().absolute())
    from_environment = os.environ.get(HOME_VARIABLE)
    if from_environment:
        return HalongHome(Path(from_environment).expanduser().absolute())
    import platformdirs

    return HalongHome(Path(platformdirs.user_data_dir("halong")))
