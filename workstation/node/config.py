"""How a node is set up: from ``halong node`` options or the same keys in a TOML file.

``--config node.toml`` holds the options by name (``stable_seconds = 8``, ``allow =
["CT1@10.0.0.7"]``); options on the command line win over the file. Every value is
checked here, before anything listens, and a wrong one is named in one line.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workstation.net.destinations import (
    Destination,
    DestinationError,
    HostPort,
    check_ae_title,
    parse_http_url,
)
from workstation.net.receiver import Peer
from workstation.reporting.templates import LANGUAGES

DEFAULT_HTTP = "127.0.0.1:8088"


class NodeConfigError(ValueError):
    """A node setting that cannot be used; the message names it."""


@dataclass(frozen=True)
class NodeConfig:
    """Everything a node runs with."""

    #: The node's AE title: the scanners call it, the PACS sees it calling.
    aet: str = "HALONG"
    #: Where the storage SCP listens (all interfaces unless ``listen`` names one).
    port: int = 11112
    listen: str = "0.0.0.0"
    #: The stroke team's web page (when this installation has one).
    http: HostPort | None = None
    #: Where results go (C-STORE through the outbox).
    pacs: tuple[Destination, ...] = ()
    #: The scanners that may send: AE title and host, each.
    allow: tuple[Peer, ...] = ()
    #: Routing rules replacing the shipped default.
    rules: Path | None = None
    workers: int = 1
    ray: str | None = None
    #: The EMR's FHIR base, for the alert and web parts that use it.
    fhir: str | None = None
    #: A series is complete when no instance arrived for this long.
    stable_seconds: float = 5.0
    #: The language of the results' words (vi or en).
    language: str = "vi"


_KEYS = tuple(NodeConfig.__dataclass_fields__)


def read_toml(path: Path) -> dict[str, Any]:
    """The settings in a TOML file (keys as the options, ``-`` or ``_``)."""
    try:
        document = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise NodeConfigError(f"cannot read {path}: {error.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise NodeConfigError(f"{path} is not valid TOML: {error}") from None
    values = {key.replace("-", "_"): value for key, value in document.items()}
    unknown = sorted(set(values) - set(_KEYS))
    if unknown:
        raise NodeConfigError(
            f"{path}: unknown setting(s) {', '.join(unknown)} (known: {', '.join(_KEYS)})"
        )
    return values


def build_config(values: Mapping[str, Any]) -> NodeConfig:
    """A checked :class:`NodeConfig` from option values (text or TOML types)."""
    try:
        return _build(values)
    except (DestinationError, TypeError, ValueError) as error:
        if isinstance(error, NodeConfigError):
            raise
        raise NodeConfigError(str(error)) from None


def _build(values: Mapping[str, Any]) -> NodeConfig:
    aet = check_ae_title(_text(values, "aet", "HALONG"))
    pacs = tuple(Destination.pacs(text, aet) for text in _texts(values, "pacs"))
    if not pacs:
        raise NodeConfigError("give the PACS the results go to: --pacs AET@HOST:PORT")
    allow = tuple(Peer.parse(text) for text in _texts(values, "allow"))
    if not allow:
        raise NodeConfigError("give the scanners that may send: --allow AET@HOST (one each)")
    http = _text(values, "http", DEFAULT_HTTP)
    fhir = values.get("fhir")
    return NodeConfig(
        aet=aet,
        port=_number(values, "port", 11112, int, low=1, high=65535),
        listen=_text(values, "listen", "0.0.0.0"),
        http=None if http.lower() == "off" else HostPort.parse(http),
        pacs=pacs,
        allow=allow,
        rules=Path(values["rules"]) if values.get("rules") else None,
        workers=_number(values, "workers", 1, int, low=1, high=256),
        ray=_text(values, "ray", "") or None,
        fhir=parse_http_url(str(fhir)) if fhir else None,
        stable_seconds=_number(values, "stable_seconds", 5.0, float, low=0.0, high=3600.0),
        language=_language(_text(values, "language", "vi")),
    )


def _language(code: str) -> str:
    if code not in LANGUAGES:
        raise NodeConfigError(f"language must be one of {', '.join(LANGUAGES)}, got {code!r}")
    return code


def _text(values: Mapping[str, Any], key: str, default: str) -> str:
    value = values.get(key)
    if value is None:
        return default
    if not isinstance(value, str):
        raise NodeConfigError(f"{key} is text, got {value!r}")
    return value.strip()


def _texts(values: Mapping[str, Any], key: str) -> list[str]:
    value = values.get(key) or []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise NodeConfigError(f"{key} is a list of text, got {value!r}")
    return items


def _number(
    values: Mapping[str, Any], key: str, default: float, kind: type, *, low: float, high: float
) -> Any:
    value, name = values.get(key, default), key.replace("_", "-")
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise NodeConfigError(f"{name} is a number, got {value!r}") from None
    if isinstance(value, bool) or (kind is int and number != float(value)):
        raise NodeConfigError(f"{name} is a whole number, got {value!r}")
    if not low <= number <= high:
        raise NodeConfigError(f"{name} must be from {low:g} to {high:g}, got {value!r}")
    return number
