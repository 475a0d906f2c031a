"""One way to open an HTTP client for DICOMweb and FHIR, and to read its failures.

Authentication is a bearer token read from a file at the moment of use (so it can be
rotated, and is never stored or logged) and/or mutual TLS with the workstation's
client certificate; the server's certificate is always verified (:mod:`~workstation.net.tls`).
HTTP statuses are sorted into retry-later and rejected once here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from workstation.net import tls
from workstation.net.destinations import HttpEndpoint
from workstation.net.errors import RejectedError, TransientError

DEFAULT_TIMEOUT_S = 30.0
#: The receiver read the request and refused it: sending it again cannot help.
_REJECTING_STATUSES = frozenset({400, 405, 409, 410, 412, 413, 415, 422})


def open_client(endpoint: HttpEndpoint, timeout_s: float = DEFAULT_TIMEOUT_S) -> httpx.Client:
    """A client for ``endpoint`` with its credentials; the caller closes it."""
    headers = {}
    if endpoint.token_file:
        try:
            token = endpoint.token_file.read_text(encoding="utf-8").strip()
        except OSError as error:
            message = f"cannot read the token file {endpoint.token_file}: {error}"
            raise TransientError(message) from error
        headers["Authorization"] = f"Bearer {token}"
    verify = tls.client_context(endpoint.tls)
    return httpx.Client(headers=headers, timeout=timeout_s, verify=verify)


@contextmanager
def reaching(what: str) -> Iterator[None]:
    """Turn httpx's connection and timeout errors into a TransientError about ``what``."""
    try:
        yield
    except httpx.TimeoutException as error:
        raise TransientError(f"{what}: no answer in time ({type(error).__name__})") from error
    except httpx.TransportError as error:
        reason = tls.describe_failure(error, "the server") or f"cannot connect ({error})"
        raise TransientError(f"{what}: {reason}") from error


def check_status(response: httpx.Response, what: str) -> None:
    """Raise RejectedError or TransientError unless the status is 2xx."""
    if response.is_success:
        return
    message = f"{what}: HTTP {response.status_code} {response.reason_phrase}"
    if response.status_code in (401, 403):
        message += " (credentials refused: check the token or the client certificate)"
    if response.status_code in _REJECTING_STATUSES:
        raise RejectedError(message)
    raise TransientError(message)
