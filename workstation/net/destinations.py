"""Where things are sent: parsed once from what users type, stored in the outbox as text.

``AET@HOST:PORT`` names a DICOM node (PACS), ``HOST:PORT`` an MLLP listener, and an
``http(s)://`` URL a DICOMweb or FHIR base. A :class:`Destination` keeps only what is
needed to reach the receiver again after a restart: addresses and the *paths* of
credentials (a bearer-token file, client certificate and key), never a secret itself,
so the outbox database holds nothing worth stealing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Self
from urllib.parse import urlsplit

DestinationKind = Literal["dimse", "dicomweb", "fhir", "mllp"]
DESTINATION_KINDS: tuple[DestinationKind, ...] = ("dimse", "dicomweb", "fhir", "mllp")
DEFAULT_CALLING_AET = "HALONG"

_HOST_PORT = re.compile(
    r"^(?:\[(?P<ipv6>[0-9A-Fa-f:.]+)\]|(?P<host>[A-Za-z0-9.\-_]+)):(?P<port>\d+)$"
)


class DestinationError(ValueError):
    """A destination the user typed cannot be understood; the message shows the form."""


def check_ae_title(text: str) -> str:
    """An AE title as DICOM allows it: 1-16 characters, no backslash or control characters."""
    title = text.strip()
    if not 0 < len(title) <= 16 or "\\" in title or not title.isprintable():
        raise DestinationError(f"{text!r} is not a valid AE title (1-16 characters, no '\\')")
    return title


@dataclass(frozen=True)
class HostPort:
    """A TCP endpoint, ``HOST:PORT`` (IPv6 hosts in brackets)."""

    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> Self:
        match = _HOST_PORT.match(text.strip())
        port = int(match["port"]) if match else 0
        if not match or not 0 < port < 65536:
            raise DestinationError(f"{text!r} is not HOST:PORT (e.g. 10.0.0.5:2575)")
        return cls(match["ipv6"] or match["host"], port)

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class DicomNode:
    """A DICOM application entity on the network, ``AET@HOST:PORT``."""

    ae_title: str
    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> Self:
        title, at, rest = text.strip().partition("@")
        if not at:
            raise DestinationError(f"{text!r} is not AET@HOST:PORT (e.g. ORTHANC@10.0.0.5:4242)")
        endpoint = HostPort.parse(rest)
        return cls(check_ae_title(title), endpoint.host, endpoint.port)

    def __str__(self) -> str:
        return f"{self.ae_title}@{HostPort(self.host, self.port)}"


def parse_http_url(text: str) -> str:
    """An ``http(s)://`` base URL without its trailing slash, or DestinationError."""
    url = text.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DestinationError(f"{text!r} is not an http:// or https:// URL")
    if parts.query or parts.fragment:
        raise DestinationError(f"{text!r}: a base URL has no ?query or #fragment")
    return url


@dataclass(frozen=True)
class HttpEndpoint:
    """An HTTP base URL and how to authenticate there (bearer token file and/or mTLS)."""

    url: str
    token_file: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None
    ca_file: Path | None = None

    def __post_init__(self) -> None:
        if self.client_key and not self.client_cert:
            raise DestinationError("a client key needs its client certificate (--client-cert)")

    _PATHS = ("token_file", "client_cert", "client_key", "ca_file")

    def options(self) -> dict[str, str]:
        """The credential paths as absolute strings, for the outbox."""
        paths = {name: getattr(self, name) for name in self._PATHS}
        return {name: str(Path(path).absolute()) for name, path in paths.items() if path}

    @classmethod
    def from_options(cls, url: str, options: Mapping[str, str]) -> Self:
        return cls(url, **{name: Path(options[name]) for name in cls._PATHS if name in options})


@dataclass(frozen=True)
class Destination:
    """One receiver: its kind, its address as text, and non-secret settings."""

    kind: DestinationKind
    address: str
    options: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in DESTINATION_KINDS:
            raise DestinationError(f"unknown destination kind {self.kind!r}")

    @classmethod
    def pacs(cls, text: str, calling_aet: str = DEFAULT_CALLING_AET) -> Self:
        node = DicomNode.parse(text)
        return cls("dimse", str(node), {"calling_aet": check_ae_title(calling_aet)})

    @classmethod
    def dicomweb(cls, endpoint: HttpEndpoint) -> Self:
        return cls("dicomweb", parse_http_url(endpoint.url), endpoint.options())

    @classmethod
    def fhir(cls, endpoint: HttpEndpoint) -> Self:
        return cls("fhir", parse_http_url(endpoint.url), endpoint.options())

    @classmethod
    def mllp(cls, text: str) -> Self:
        return cls("mllp", str(HostPort.parse(text)))

    @property
    def label(self) -> str:
        """How people see it: ``dimse:ORTHANC@10.0.0.5:4242``."""
        return f"{self.kind}:{self.address}"

    @property
    def calling_aet(self) -> str:
        return self.options.get("calling_aet", DEFAULT_CALLING_AET)

    def node(self) -> DicomNode:
        return DicomNode.parse(self.address)

    def host_port(self) -> HostPort:
        return HostPort.parse(self.address)

    def http(self) -> HttpEndpoint:
        return HttpEndpoint.from_options(self.address, self.options)
