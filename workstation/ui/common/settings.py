"""Settings kept between runs (window geometry, last layout, last preset, last folder).

Stored with QSettings under the organisation and application name "Halong". Set
``$HALONG_SETTINGS_DIR`` to keep them in ``Halong.ini`` in that folder instead of
the platform's place; tests do, so they never touch a user's settings.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QSettings

ORGANISATION = "Halong"
APPLICATION = "Halong"
SETTINGS_VARIABLE = "HALONG_SETTINGS_DIR"

GEOMETRY = "window/geometry"
WINDOW_STATE = "window/state"
LAYOUT = "viewer/layout"
PRESET = "viewer/preset"
IMPORT_FOLDER = "import/last_folder"
OPEN_FOLDER = "open/last_folder"
#: The reading physician's name (the reading context's reader), kept between runs.
READER = "report/physician"
#: The triage node's web address (its API token is a secret, kept in keys/, not here).
NODE_URL = "node/url"


def app_settings() -> QSettings:
    """The settings store: ``$HALONG_SETTINGS_DIR/Halong.ini`` if set, else the platform's."""
    folder = os.environ.get(SETTINGS_VARIABLE)
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        return QSettings(str(Path(folder) / f"{APPLICATION}.ini"), QSettings.Format.IniFormat)
    return QSettings(ORGANISATION, APPLICATION)


def read_text(settings: QSettings, key: str, default: str = "") -> str:
    """A string setting; anything else stored there (a damaged file) reads as ``default``."""
    value = settings.value(key, default)
    return value if isinstance(value, str) else default
