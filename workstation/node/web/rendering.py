"""HTML from the templates beside this module (Jinja2, every value escaped), and the
way times read on a phone: local clock time, and how long ago."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, select_autoescape

from workstation.model.report import local_time

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


def clock_time(timestamp: float | None) -> str:
    """``2026-12-08 10:42:05`` in the hospital's time zone; ``-`` when unknown."""
    if timestamp is None:
        return "-"
    return f"{local_time(datetime.fromtimestamp(timestamp, UTC)):%Y-%m-%d %H:%M:%S}"


def duration(seconds: float) -> str:
    """``1 h 05 min``, ``12 min 30 s``, ``45 s``."""
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


@cache
def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["clock"] = clock_time
    environment.filters["duration"] = duration
    return environment


def page(name: str, status: int = 200, **values: Any) -> web.Response:
    html = _environment().get_template(name).render(**values)
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")
