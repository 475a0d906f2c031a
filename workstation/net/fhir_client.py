"""Post queued FHIR R4 transaction Bundles to the EMR (the outbox's FHIR sender).

Bundles are checked for a safe resend before they are queued
(:mod:`workstation.net.fhir_bundles`), so posting one again after a lost answer never
duplicates anything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workstation.net.destinations import HttpEndpoint
from workstation.net.errors import RejectedError
from workstation.net.http_client import DEFAULT_TIMEOUT_S, check_status, open_client, reaching

if TYPE_CHECKING:
    import httpx

    from workstation.net.outbox import OutboxItem

FHIR_JSON = "application/fhir+json"


class FhirSender:
    """Posts queued transaction Bundles to one FHIR base URL."""

    def __init__(self, endpoint: HttpEndpoint, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.endpoint = endpoint
        self.timeout_s = timeout_s
        self._client: httpx.Client | None = None

    def already_delivered(self, item: OutboxItem) -> bool:
        """Never asked: conditional create makes posting the bundle again a no-op."""
        return False

    def send(self, item: OutboxItem) -> None:
        what = f"FHIR {self.endpoint.url}"
        if self._client is None:
            self._client = open_client(self.endpoint, self.timeout_s)
        headers = {"Content-Type": FHIR_JSON, "Accept": FHIR_JSON}
        with reaching(what):
            body = item.read_payload()
            response = self._client.post(self.endpoint.url, content=body, headers=headers)
        check_status(response, what)
        _check_transaction_response(response, what)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def _check_transaction_response(response: httpx.Response, what: str) -> None:
    """A transaction-response Bundle whose every entry succeeded, or RejectedError."""
    try:
        answer = response.json()
    except ValueError as error:
        raise RejectedError(f"{what}: the answer is not JSON") from error
    if answer.get("resourceType") != "Bundle" or answer.get("type") != "transaction-response":
        raise RejectedError(f"{what}: the answer is not a transaction-response Bundle")
    for number, entry in enumerate(answer.get("entry", []), start=1):
        status = str(entry.get("response", {}).get("status", ""))
        if not status.startswith("2"):
            raise RejectedError(f"{what}: entry {number} answered {status or 'nothing'}")
