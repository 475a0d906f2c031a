"""How much memory one volume may take: refused before it is allocated, never after.

A header can declare a volume of terabytes; allocating it ends in a MemoryError (or
in swapping) long after the user could have been told. The budget is the size in
``HALONG_MAX_VOLUME_BYTES`` (``8G``, ``500M``) when set, else half the physical memory.
"""

from __future__ import annotations

import os

from workstation.model.user_text import byte_size, parse_byte_size

BUDGET_VARIABLE = "HALONG_MAX_VOLUME_BYTES"
_FALLBACK_MEMORY = 16 << 30


class MemoryBudgetError(ValueError):
    """The budget setting is not a size."""


class OverBudget(ValueError):
    """Something would need more memory than the budget allows."""


def volume_budget() -> int:
    """Bytes one volume may take; refuses a :data:`BUDGET_VARIABLE` that is no size."""
    text = os.environ.get(BUDGET_VARIABLE, "").strip()
    if not text:
        return _physical_memory() // 2
    try:
        budget = parse_byte_size(text)
    except ValueError as error:
        raise MemoryBudgetError(f"{BUDGET_VARIABLE}: {error}") from None
    if budget <= 0:
        raise MemoryBudgetError(f"{BUDGET_VARIABLE} must be a positive size, not {text!r}")
    return budget


def check_budget(needed: int, budget: int, what: str) -> None:
    """Raise :class:`OverBudget` naming ``what`` when ``needed`` bytes exceed ``budget``."""
    if needed > budget:
        raise OverBudget(
            f"{what} would need {byte_size(needed)} of memory, more than the budget of "
            f"{byte_size(budget)} (set {BUDGET_VARIABLE} to change it)"
        )


def _physical_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):  # not a POSIX system
        return _FALLBACK_MEMORY
