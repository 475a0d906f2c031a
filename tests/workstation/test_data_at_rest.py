"""Patient data at rest is readable by its owner only."""

from __future__ import annotations

import stat


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_fresh_data_folder_and_its_database_are_private(halong, halong_home, known_series):
    folder, _ = known_series
    assert halong("import", "--copy", folder).status == 0
    assert _mode(halong_home) == 0o700
    assert _mode(halong_home / "halong.sqlite") == 0o600
    stored = [p for p in (halong_home / "store").rglob("*") if p.is_file()]
    assert stored and {_mode(p) & 0o077 for p in stored} == {0}
    folders = [p for p in (halong_home / "store").rglob("*") if p.is_dir()]
    assert {_mode(p) & 0o077 for p in folders} == {0}


def test_a_data_folder_others_can_read_is_warned_about_on_every_start(halong, halong_home):
    halong_home.mkdir(mode=0o755)
    halong_home.chmod(0o755)
    for _ in range(2):
        done = halong("studies")
        assert "readable by other users" in done.err and "chmod -R go-rwx" in done.err
