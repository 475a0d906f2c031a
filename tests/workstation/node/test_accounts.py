"""Accounts: a run of wrong passwords locks the account for a while, even against the
right one; names, roles and short passwords are refused in words."""

from __future__ import annotations

from pathlib import Path

import pytest

from workstation.node.accounts import (
    LOCK_AFTER_FAILURES,
    LOCK_FOR_S,
    AccountError,
    add_user,
    authenticate,
)

PASSWORD = "a long passphrase"


def test_wrong_passwords_lock_the_account_for_a_while(tmp_path: Path) -> None:
    database = tmp_path / "node.sqlite"
    add_user(database, "dr-a", "physician", PASSWORD)
    now = 1_000.0
    for _ in range(LOCK_AFTER_FAILURES - 1):
        assert authenticate(database, "dr-a", "guess", now) is None
    assert authenticate(database, "dr-a", PASSWORD, now) is not None  # a success resets
    for _ in range(LOCK_AFTER_FAILURES):
        assert authenticate(database, "dr-a", "guess", now) is None
    assert authenticate(database, "dr-a", PASSWORD, now + 1) is None  # locked
    assert authenticate(database, "dr-a", PASSWORD, now + LOCK_FOR_S + 1).name == "dr-a"
    assert authenticate(database, "nobody", PASSWORD, now) is None


@pytest.mark.parametrize(
    ("name", "role", "password", "said"),
    [
        ("dr a", "physician", PASSWORD, "not a valid name"),
        ("dr-a", "admin", PASSWORD, "unknown role 'admin'"),
        ("dr-a", "physician", "short", "at least 10 characters"),
    ],
)
def test_bad_accounts_are_refused(tmp_path: Path, name, role, password, said) -> None:
    with pytest.raises(AccountError, match=said):
        add_user(tmp_path / "node.sqlite", name, role, password)
