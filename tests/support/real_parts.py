"""The real parts tests run against (Orthanc, Xvfb, dcmtk, dicom3tools, poppler, Chromium).

On a developer's machine a missing part skips the tests that need it, saying which
package to install. In CI (``HALONG_REQUIRE_REAL_PARTS=1``, set by ``.ci/run``) a missing
part fails them: a green run must mean the real parts were there.
"""

from __future__ import annotations

import os
import shutil
from typing import NoReturn

import pytest

REQUIRE_VARIABLE = "HALONG_REQUIRE_REAL_PARTS"
#: Command -> the Debian package that brings it (all in scripts/system-packages.txt).
COMMANDS = {
    "Xvfb": "xvfb",
    "dciodvfy": "dicom3tools",
    "dsrdump": "dcmtk",
    "pdfsig": "poppler-utils",
    "pdftoppm": "poppler-utils",
    "certutil": "libnss3-tools",
    "chromium": "chromium",
}


def required() -> bool:
    return os.environ.get(REQUIRE_VARIABLE, "") not in ("", "0")


def missing(part: str, package: str) -> NoReturn:
    """Skip (or, where real parts are required, fail) a test that needs ``part``."""
    message = f"{part} is not installed (Debian package {package})"
    if required():
        pytest.fail(f"{message}, and {REQUIRE_VARIABLE} requires it", pytrace=False)
    pytest.skip(message)


def absent_commands() -> list[str]:
    """The commands tests call that are not on the PATH, with their packages."""
    return [f"{name} ({package})" for name, package in COMMANDS.items() if not shutil.which(name)]
