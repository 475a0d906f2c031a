"""DICOMweb: STOW-RS to store, QIDO-RS to search, WADO-RS to retrieve (DICOM PS3.18).

STOW answers per instance, in the Referenced SOP Sequence (stored) or the Failed SOP
Sequence with a Failure Reason; an item is delivered only when its SOP Instance UID is
listed as stored. Retrieval asks QIDO for the study's instances first (which gives the
progress total), then fetches them one by one, so memory never holds more than one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from pydicom.dataset import Dataset

from workstation.model.progress import CancelToken, Progress, check
from workstation.net import multipart
from workstation.net.destinations import HttpEndpoint
from workstation.net.errors import NetworkError, RejectedError, TransientError
from workstation.net.http_client import DEFAULT_TIMEOUT_S, check_status, open_client, reaching
from workstation.net.retrieve import STUDY_RETURN_KEYS, StudyQuery

if TYPE_CHECKING:
    from workstation.net.outbox import OutboxItem

DICOM_JSON = "application/dicom+json"
DICOM_FILE = "application/dicom"
#: Ask for the stored transfer syntax: no transcoding on the server, none needed here.
WADO_ACCEPT = 'multipart/related; type="application/dicom"; transfer-syntax=*'
_REFERENCED_SOP_SEQUENCE = "00081199"
_FAILED_SOP_SEQUENCE = "00081198"
_REFERENCED_SOP_INSTANCE_UID = "00081155"
_FAILURE_REASON = "00081197"
_SAFE_UID = re.compile(r"[0-9.]{1,64}")


def _values(element: Mapping[str, Any] | None) -> list[Any]:
    return list((element or {}).get("Value", []))


def _first_text(attributes: Mapping[str, Any], tag: str) -> str:
    values = _values(attributes.get(tag))
    return str(values[0]) if values else ""


class StowSender:
    """Stores queued DICOM files through STOW-RS, one instance per request."""

    def __init__(self, endpoint: HttpEndpoint, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.endpoint = endpoint
        self.timeout_s = timeout_s
        self._client: httpx.Client | None = None

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = open_client(self.endpoint, self.timeout_s)
        return self._client

    def already_delivered(self, item: OutboxItem) -> bool:
        """Ask QIDO-RS whether the instance is there already."""
        url = (
            f"{self.endpoint.url}/studies/{item.meta['study_uid']}"
            f"/series/{item.meta['series_uid']}/instances"
        )
        what = f"QIDO-RS {self.endpoint.url}"
        with reaching(what):
            response = self.client.get(
                url, params={"SOPInstanceUID": item.key}, headers={"Accept": DICOM_JSON}
            )
        if response.status_code in (204, 404):
            return False
        check_status(response, what)
        return any(_first_text(match, "00080018") == item.key for match in response.json())

    def send(self, item: OutboxItem) -> None:
        what = f"STOW-RS {self.endpoint.url}"
        body, content_type = multipart.encode([item.read_payload()], DICOM_FILE)
        headers = {"Content-Type": content_type, "Accept": DICOM_JSON}
        with reaching(what):
            url = f"{self.endpoint.url}/studies"
            response = self.client.post(url, content=body, headers=headers)
        if response.status_code not in (200, 202, 409):
            check_status(response, what)
        _check_stored(response, item.key, what)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def _check_stored(response: httpx.Response, sop_instance_uid: str, what: str) -> None:
    """Return if the STOW answer lists the instance as stored; raise otherwise."""
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    if isinstance(answer, list):  # some servers wrap the one dataset in a list
        answer = answer[0] if answer else {}
    for reference in _values(answer.get(_REFERENCED_SOP_SEQUENCE)):
        if _first_text(reference, _REFERENCED_SOP_INSTANCE_UID) == sop_instance_uid:
            return
    for failure in _values(answer.get(_FAILED_SOP_SEQUENCE)):
        if _first_text(failure, _REFERENCED_SOP_INSTANCE_UID) != sop_instance_uid:
            continue
        reasons = _values(failure.get(_FAILURE_REASON))
        reason = int(reasons[0]) if reasons else None
        message = f"{what}: instance refused (failure reason {_hex(reason)})"
        if reason is not None and reason & 0xFF00 == 0xA700:  # out of resources
            raise TransientError(message)
        if reason == 0x0111:  # duplicate SOP Instance: the server holds it already
            return
        raise RejectedError(message)
    if response.status_code == 409:
        raise RejectedError(f"{what}: HTTP 409, the instance was not stored")
    status = response.status_code
    raise TransientError(f"{what}: HTTP {status}, the answer does not list the instance")


def _hex(code: int | None) -> str:
    return "none given" if code is None else f"0x{code:04X}"


class DicomWebSource:
    """A PACS searched with QIDO-RS and retrieved from with WADO-RS."""

    def __init__(self, endpoint: HttpEndpoint, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.endpoint = endpoint
        self.timeout_s = timeout_s

    def _get(self, client: httpx.Client, path: str, accept: str, **params: str) -> httpx.Response:
        what = f"DICOMweb {self.endpoint.url}"
        with reaching(what):
            url = f"{self.endpoint.url}{path}"
            response = client.get(url, params=params, headers={"Accept": accept})
        check_status(response, what)
        return response

    def find_studies(self, query: StudyQuery) -> list[Dataset]:
        params = dict(query.matching_keys())
        params["includefield"] = ",".join(STUDY_RETURN_KEYS)
        with open_client(self.endpoint, self.timeout_s) as client:
            response = self._get(client, "/studies", DICOM_JSON, **params)
        return _datasets(response)

    def fetch_study(
        self, study_uid: str, folder: Path, progress: Progress, cancel: CancelToken | None
    ) -> int:
        if not _SAFE_UID.fullmatch(study_uid):
            raise NetworkError(f"{study_uid!r} is not a Study Instance UID")
        written = 0
        with open_client(self.endpoint, self.timeout_s) as client:
            instances = _datasets(self._get(client, f"/studies/{study_uid}/instances", DICOM_JSON))
            for number, instance in enumerate(instances):
                check(cancel)
                progress(number, len(instances), "Retrieving")
                for part in self._instance_files(client, study_uid, instance):
                    (folder / f"{written:06d}.dcm").write_bytes(part)
                    written += 1
        progress(len(instances), len(instances), "Retrieving")
        return written

    def _instance_files(
        self, client: httpx.Client, study_uid: str, instance: Dataset
    ) -> list[bytes]:
        """The Part 10 file(s) WADO-RS returns for one instance."""
        series_uid = str(instance.get("SeriesInstanceUID", ""))
        sop_uid = str(instance.get("SOPInstanceUID", ""))
        if not (_SAFE_UID.fullmatch(series_uid) and _SAFE_UID.fullmatch(sop_uid)):
            raise NetworkError(f"DICOMweb {self.endpoint.url}: an instance with unusable UIDs")
        path = f"/studies/{study_uid}/series/{series_uid}/instances/{sop_uid}"
        response = self._get(client, path, WADO_ACCEPT)
        try:
            return multipart.decode(response.content, response.headers.get("content-type", ""))
        except multipart.MultipartError as error:
            raise NetworkError(f"DICOMweb {self.endpoint.url}: {error}") from error


def _datasets(response: httpx.Response) -> list[Dataset]:
    """The DICOM JSON datasets of a QIDO answer (an empty body means no match)."""
    if response.status_code == 204 or not response.content:
        return []
    return [Dataset.from_json(attributes) for attributes in response.json()]
