"""Where things are sent: parsed once from what users type, stored in the outbox as text.

``AET@HOST:PORT`` names a DICOM node (PACS), ``HOST:PORT`` an MLLP listener, and an
``http(s)://`` URL a DICOMweb or FHIR base. A :class:`Destination` keeps only what is
needed to reach the receiver again after a restart: addresses and the *paths* of
credentials (a bearer-token file, the TLS CA, certificate and key), never a secret
itself, so the outbox database holds nothing worth stealing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Self
from urllib.parse import urlsplit

DestinationKind = Literal["dimse", "dicomweb", "fhir", "mllp", "smtp"]
DESTINATION_KINDS: tuple[DestinationKind, ...] = ("dimse", "dicomweb", "fhir", "mllp", "smtp")
DEFAULT_CALLING_AET = "HALONG"

_HOST_PORT = re.compile(
    r"^(?:\[(?P<ipv6>[0-9A-Fa-f:.]+)\]|(?P<host>[A-Za-z0-9.\-_]+)):(?P<port>\d+)$"
)


#: TlsFiles field -> outbox option (the names the outbox used before DICOM had TLS).
_TLS_OPTIONS = {"ca_file": "ca_file", "cert_file": "client_cert", "key_file": "client_key"}


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
class TlsFiles:
    """The PEM files of a TLS connection: the CAs trusted for the peer, Halong's own
    certificate and its key. Empty means no TLS for DICOM; any file given turns it on."""

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None

    def __post_init__(self) -> None:
        if self.key_file and not self.cert_file:
            raise DestinationError("a TLS key needs its certificate (--tls-cert)")

    @property
    def enabled(self) -> bool:
        return bool(self.ca_file or self.cert_file)  # a key comes with its certificate

    def options(self) -> dict[str, str]:
        """The paths as absolute strings, for the outbox."""
        paths = {option: getattr(self, name) for name, option in _TLS_OPTIONS.items()}
        return {option: str(Path(path).absolute()) for option, path in paths.items() if path}

    @classmethod
    def from_options(cls, options: Mapping[str, str]) -> Self:
        paths = {name: options.get(option) for name, option in _TLS_OPTIONS.items()}
        return cls(**{name: Path(path) for name, path in paths.items() if path})


@dataclass(frozen=True)
class DicomNode:
    """A DICOM application entity on the network, ``AET@HOST:PORT``, and how to secure
    the connection (DICOM TLS when ``tls`` names any file)."""

    ae_title: str
    host: str
    port: int
    tls: TlsFiles = TlsFiles()

    @classmethod
    def parse(cls, text: str, tls: TlsFiles = TlsFiles()) -> Self:
        title, at, rest = text.strip().partition("@")
        if not at:
            raise DestinationError(f"{text!r} is not AET@HOST:PORT (e.g. ORTHANC@10.0.0.5:4242)")
        endpoint = HostPort.parse(rest)
        return cls(check_ae_title(title), endpoint.host, endpoint.port, tls)

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
    """An HTTP base URL and how to authenticate there (bearer token file and/or mTLS).

    TLS files only make sense with ``https://``: with a plain ``http://`` URL they would
    protect nothing, so that is refused rather than silently sent in clear.
    """

    url: str
    token_file: Path | None = None
    tls: TlsFiles = TlsFiles()

    def __post_init__(self) -> None:
        if self.tls.enabled and urlsplit(self.url.strip()).scheme == "http":
            raise DestinationError(f"{self.url}: the TLS options need an https:// URL")

    def options(self) -> dict[str, str]:
        """The credential paths as absolute strings, for the outbox."""
        token = {"token_file": str(Path(self.token_file).absolute())} if self.token_file else {}
        return token | self.tls.options()

    @classmethod
    def from_options(cls, url: str, options: Mapping[str, str]) -> Self:
        token = options.get("token_file")
        return cls(url, Path(token) if token else None, TlsFiles.from_options(options))


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
    def pacs(
        cls, text: str, calling_aet: str = DEFAULT_CALLING_AET, tls: TlsFiles = TlsFiles()
    ) -> Self:
        node = DicomNode.parse(text)
        options = {"calling_aet": check_ae_title(calling_aet)} | tls.options()
        return cls("dimse", str(node), options)

    @classmethod
    def dicomweb(cls, endpoint: HttpEndpoint) -> Self:
        return cls("dicomweb", parse_http_url(endpoint.url), endpoint.options())

    @classmethod
    def fhir(cls, endpoint: HttpEndpoint) -> Self:
        return cls("fhir", parse_http_url(endpoint.url), endpoint.options())

    @classmethod
    def mllp(cls, text: str) -> Self:
        return cls("mllp", str(HostPort.parse(text)))

    @classmethod
    def smtp(cls, text: str, options: Mapping[str, str] | None = None) -> Self:
        """A mail server, ``HOST:PORT``; ``options`` from ``SmtpEndpoint.options()``."""
        return cls("smtp", str(HostPort.parse(text)), dict(options or {}))

    @property
    def label(self) -> str:
        """How people see it: ``dimse:ORTHANC@10.0.0.5:4242``."""
        return f"{self.kind}:{self.address}"

    @property
    def calling_aet(self) -> str:
        return self.options.get("calling_aet", DEFAULT_CALLING_AET)

    def node(self) -> DicomNode:
        return DicomNode.parse(self.address, TlsFiles.from_options(self.options))

    def host_port(self) -> HostPort:
        return HostPort.parse(self.address)

    def http(self) -> HttpEndpoint:
        return HttpEndpoint.from_options(self.address, self.options)
