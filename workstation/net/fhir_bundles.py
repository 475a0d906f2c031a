"""FHIR transaction Bundles as queued payloads: parsing, the idempotency key, and whether
a resend is safe.

A transaction is processed all or nothing (FHIR R4 RESTful API). Resending one whose
first answer was lost is harmless only when every entry is itself idempotent: a POST
with ``ifNoneExist`` (conditional create: the server creates the resource only when
no resource matches the search), or a PUT, DELETE or GET. :func:`check_resendable`
refuses a bundle with any plain POST before it is queued, since a resend after a
crash could then create a second DiagnosticReport in the patient's record.
"""

from __future__ import annotations

import json
from typing import Any

DICOM_UID_SYSTEM = "urn:dicom:uid"
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE"})

Bundle = dict[str, Any]


class FhirBundleError(ValueError):
    """The file is not a transaction Bundle that can be sent safely; says why."""


def load_bundle(data: bytes) -> Bundle:
    """Parse a transaction Bundle, or FhirBundleError."""
    try:
        bundle = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise FhirBundleError(f"not JSON ({error})") from error
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise FhirBundleError("not a FHIR Bundle")
    if bundle.get("type") != "transaction":
        raise FhirBundleError(f"a {bundle.get('type')!r} Bundle, not a transaction")
    return bundle


def check_resendable(bundle: Bundle) -> None:
    """Raise FhirBundleError unless every entry is safe to process twice."""
    unsafe = []
    for number, entry in enumerate(bundle.get("entry", []), start=1):
        request = entry.get("request", {})
        method = str(request.get("method", "")).upper()
        if method == "POST" and request.get("ifNoneExist"):
            continue
        if method not in _IDEMPOTENT_METHODS:
            kind = entry.get("resource", {}).get("resourceType", "?")
            unsafe.append(f"entry {number} ({kind}, {method or 'no method'})")
    if unsafe:
        raise FhirBundleError(
            "a resend could duplicate "
            + ", ".join(unsafe)
            + ": give each POST an ifNoneExist (conditional create) or use PUT"
        )


def bundle_key(bundle: Bundle) -> str | None:
    """``system|value`` of Bundle.identifier: the idempotency key, when there is one."""
    identifier = bundle.get("identifier") or {}
    value = identifier.get("value")
    if not value:
        return None
    system = identifier.get("system")
    return f"{system}|{value}" if system else str(value)


def _resources(bundle: Bundle, resource_type: str) -> list[dict[str, Any]]:
    resources = (entry.get("resource") or {} for entry in bundle.get("entry", []))
    return [r for r in resources if r.get("resourceType") == resource_type]


def bundle_patient_id(bundle: Bundle) -> str:
    """The first identifier value of the first Patient (for the audit trail)."""
    for patient in _resources(bundle, "Patient"):
        for identifier in patient.get("identifier", []):
            if identifier.get("value"):
                return str(identifier["value"])
    return ""


def bundle_study_uid(bundle: Bundle) -> str:
    """The Study Instance UID of the first ImagingStudy (FHIR writes it ``urn:oid:...``)."""
    for study in _resources(bundle, "ImagingStudy"):
        for identifier in study.get("identifier", []):
            if identifier.get("system") == DICOM_UID_SYSTEM and identifier.get("value"):
                return str(identifier["value"]).removeprefix("urn:oid:")
    return ""
