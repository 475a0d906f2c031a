"""The application log keeps Halong's own lines from INFO and libraries' from WARNING."""

from __future__ import annotations

import logging
import subprocess
import sys


def test_library_chatter_stays_out_of_the_log(tmp_path):
    from workstation.ui.app import configure_logging

    path = configure_logging(tmp_path)
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.DEBUG)  # as a library that turns everything on would
    try:
        logging.getLogger("fontTools.ttLib").debug("Reading 'head' table from disk")
        logging.getLogger("pydicom").info("library info line")
        logging.getLogger("PIL").warning("library warning line")
        logging.getLogger("workstation.dicom.loader").info("own info line")
        logging.getLogger("workstation.dicom.loader").debug("own debug line")
    finally:
        root.setLevel(level)
        for handler in [h for h in root.handlers if getattr(h, "baseFilename", "") == str(path)]:
            root.removeHandler(handler)
            handler.close()
    text = path.read_text(encoding="utf-8")
    assert "own info line" in text and "library warning line" in text
    for absent in ("head' table", "library info line", "own debug line"):
        assert absent not in text, absent


def test_signing_imports_without_the_dsa_deprecation_warning():
    code = "import workstation.reporting.signing, workstation.reporting.verification"
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", code], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "DSA is deprecated" not in done.stderr
