"""The engines' result files checked against their JSON Schemas before a report uses them.

``lung.json`` and ``perfusion.json`` are files on disk that anyone can edit; a signed
report must not carry numbers that an edit turned into nonsense (a negative volume,
a Lung-RADS "5", another algorithm's name). The schemas in ``resources/schemas`` say
what the engines write; NaN and ±Infinity, which Python's ``json`` reads and which no
JSON Schema bound excludes, are looked for here. Headless: no engine code is loaded.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

SCHEMA_NAMES = ("lung", "perfusion")
#: Problems named in a :class:`ResultSchemaError`; the rest are counted.
SHOWN_PROBLEMS = 3
#: A problem line is cut here (jsonschema quotes whole values, e.g. a nodule record).
MAX_LINE = 200


class ResultSchemaError(Exception):
    """A result file does not match its engine's schema; the message names the fields."""


@cache
def _validator(schema_name: str) -> Draft202012Validator:
    """The compiled schema ``resources/schemas/<name>.schema.json`` (checked once)."""
    if schema_name not in SCHEMA_NAMES:
        raise ValueError(f"no result schema {schema_name!r}: one of {', '.join(SCHEMA_NAMES)}")
    path = resources.files("resources").joinpath("schemas", f"{schema_name}.schema.json")
    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def schema_problems(document: Mapping[str, Any], schema_name: str) -> list[str]:
    """Every way ``document`` breaks the ``schema_name`` schema, one line each with its path.

    Empty when the document is valid. ``schema_name`` is ``"lung"`` or ``"perfusion"``.
    """
    validator = _validator(schema_name)
    problems = [f"{_path(path)}: {text}" for path, text in _non_finite(document, ())]
    for error in validator.iter_errors(document):
        shown = best_match(error.context) if error.context else error
        problems.append(_line(f"{_path(error.absolute_path)}: {shown.message}"))
    return problems


def require_valid(document: Mapping[str, Any], schema_name: str, label: str) -> None:
    """Raise :class:`ResultSchemaError` ("<label>: first problems ...") unless valid."""
    problems = schema_problems(document, schema_name)
    if not problems:
        return
    message = "; ".join(problems[:SHOWN_PROBLEMS])
    if len(problems) > SHOWN_PROBLEMS:
        message += f" (and {len(problems) - SHOWN_PROBLEMS} more)"
    raise ResultSchemaError(f"{label}: {message}")


def _non_finite(value: Any, path: tuple[str | int, ...]) -> Iterator[tuple[tuple, str]]:
    """NaN and ±Infinity anywhere in a JSON value (``minimum`` lets NaN through)."""
    if isinstance(value, float) and not math.isfinite(value):
        spelled = "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
        yield path, f"{spelled} is not a finite number"
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _non_finite(item, (*path, key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _non_finite(item, (*path, index))


def _path(parts: Iterable[str | int]) -> str:
    """``nodules[0].volume_mm3`` from ``("nodules", 0, "volume_mm3")``."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(top level)"


def _line(text: str) -> str:
    return text if len(text) <= MAX_LINE else text[: MAX_LINE - 1] + "…"
