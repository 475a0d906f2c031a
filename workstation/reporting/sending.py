"""Sending a signed package: the destinations a user typed, the outbox, and its state.

What ``halong send`` does, for the report panel: every item is written down in the
durable outbox (:mod:`workstation.net.outbox`) before it is sent, so a destination
that is down, a crash or a kill loses nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from workstation.home import HalongHome
from workstation.model.progress import CancelToken, Progress, check, no_progress

if TYPE_CHECKING:
    from workstation.net.destinations import Destination
    from workstation.net.outbox import OutboxItem

#: Destination kinds the panel offers, and what the user types for each.
DESTINATION_FORMS = {
    "pacs": "PACS (C-STORE): AET@HOST:PORT",
    "dicomweb": "DICOMweb STOW-RS: base URL",
    "fhir": "FHIR server: base URL",
    "mllp": "HL7 v2 (MLLP): HOST:PORT",
}
#: The TLS files the destinations use, as ``--tls-ca/--tls-cert/--tls-key`` on the CLI: the
#: PACS over DICOM TLS when any is given, and the https:// URLs.
TLS_FORMS = {
    "tls_ca": "TLS: the CA that signed the servers' certificates (PEM)",
    "tls_cert": "TLS: Halong's own certificate (PEM, optional)",
    "tls_key": "TLS: its private key (PEM, optional)",
}
#: Everything the send settings hold, in the order the dialog asks for it.
SEND_FORMS = {**DESTINATION_FORMS, **TLS_FORMS}


class SendError(Exception):
    """The package cannot be sent as asked; the message says why."""


def parse_destinations(
    addresses: Mapping[str, str], calling_aet: str | None = None
) -> list[Destination]:
    """Destinations from what the user typed per kind (:data:`SEND_FORMS`).

    Empty entries are skipped; a malformed one raises DestinationError naming it. The TLS
    files apply to the PACS (DICOM TLS) and to the https:// URLs, never to plain http.
    """
    from workstation.net.destinations import (
        DEFAULT_CALLING_AET,
        Destination,
        DestinationError,
        HttpEndpoint,
        TlsFiles,
    )

    def path(key: str) -> Path | None:
        text = addresses.get(key, "").strip()
        return Path(text).expanduser() if text else None

    try:
        tls = TlsFiles(path("tls_ca"), path("tls_cert"), path("tls_key"))
    except DestinationError as error:
        raise DestinationError(f"TLS: {error}") from None

    def endpoint(url: str) -> HttpEndpoint:
        return HttpEndpoint(url, tls=tls if url.lower().startswith("https://") else TlsFiles())

    makers = {
        "pacs": lambda text: Destination.pacs(text, calling_aet or DEFAULT_CALLING_AET, tls),
        "dicomweb": lambda text: Destination.dicomweb(endpoint(text)),
        "fhir": lambda text: Destination.fhir(endpoint(text)),
        "mllp": Destination.mllp,
    }
    destinations = []
    for kind, make in makers.items():
        text = addresses.get(kind, "").strip()
        if not text:
            continue
        try:
            destinations.append(make(text))
        except DestinationError as error:
            raise DestinationError(f"{DESTINATION_FORMS[kind]}: {error}") from None
    return destinations


def package_keys(folder: Path) -> set[str]:
    """Idempotency keys of everything sendable in a package folder."""
    from workstation.net.payloads import collect_payloads

    return {
        payload.key for payload in collect_payloads([folder], ("dicom", "fhir-bundle", "hl7v2"))
    }


def send_package(
    folder: Path,
    destinations: Sequence[Destination],
    home: HalongHome,
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
) -> list[OutboxItem]:
    """Queue the package for each destination in the outbox, then deliver what is due.

    What cannot be delivered now stays queued (the outbox retries it, and
    ``halong outbox`` shows it); returns the package's items as they stand.
    """
    from workstation.net.audit import AuditTrail
    from workstation.net.delivery import deliver
    from workstation.net.outbox import Outbox, OutboxBusy
    from workstation.net.payloads import ACCEPTED_BY, collect_payloads

    if not destinations:
        raise SendError("no destination configured: set the PACS or EMR addresses first")
    payloads = list(collect_payloads([folder], {ACCEPTED_BY[d.kind] for d in destinations}))
    with Outbox.open(home.outbox) as outbox:
        ids = []
        for destination in destinations:
            wanted = [p for p in payloads if p.kind == ACCEPTED_BY[destination.kind]]
            if wanted:
                ids += [item.id for item in outbox.enqueue(destination, wanted)]
        check(cancel)
        outbox.clear_backoff()  # the physician asked to send now: try every destination
        with contextlib.suppress(OutboxBusy):  # another Halong delivers: it takes these too
            deliver(
                outbox,
                trail=AuditTrail.from_environment(home.audit),
                progress=progress,
                cancel=cancel,
            )
        return outbox.items(ids=ids)


def package_items(home: HalongHome, folder: Path) -> list[OutboxItem]:
    """The outbox items of a package folder (every destination it was queued for)."""
    from workstation.net.outbox import Outbox

    if not home.outbox.is_dir():
        return []
    keys = package_keys(folder)
    with Outbox.open(home.outbox) as outbox:
        return [item for item in outbox.items() if item.key in keys]


def outbox_summary(items: Sequence[OutboxItem]) -> str:
    """``Outbox: 3 delivered, 2 pending (mllp:host:port: connection refused)``."""
    if not items:
        return "Outbox: not sent yet"
    counts: dict[str, int] = {}
    for item in items:
        counts[item.status] = counts.get(item.status, 0) + 1
    text = "Outbox: " + ", ".join(f"{count} {status}" for status, count in counts.items())
    errors = {
        f"{item.destination.label}: {item.last_error}"
        for item in items
        if item.status != "delivered" and item.last_error
    }
    return text + (f" ({'; '.join(sorted(errors))})" if errors else "")


def outbox_details(items: Sequence[OutboxItem]) -> str:
    """One line per item: destination, file, state (and the last error while undelivered)."""
    lines = []
    for item in items:
        line = f"{item.destination.label}  {item.label}  {item.status}"
        if item.status != "delivered" and item.last_error:
            line += f" — {item.last_error}"
        lines.append(line)
    return "\n".join(lines)
