"""A real Orthanc PACS on loopback for the tests: own ports, own storage, DICOMweb loaded.

Started from the Debian ``orthanc`` and ``orthanc-dicomweb`` packages with a config
written per test: SQLite index and storage in a temporary folder, HTTP and DICOM on
free loopback ports, no authentication, and Halong's storage SCP registered as a
modality so C-MOVE can reach it. It can be stopped (SIGTERM, as an administrator
would) and started again on the same ports and storage.

Given a test PKI (:func:`support.tls_certs.make_pki`) it speaks DICOM TLS only, as SCP
and as SCU (C-MOVE to Halong), and requires the peer's certificate. Its own HTTPS is not
used: Debian's Orthanc 1.10 crashes (civetweb built for the OpenSSL 1.1 API, loading
OpenSSL 3) at the first HTTPS request, so the tests put a TLS-terminating relay in
front of its HTTP port, as sites do with a reverse proxy (:func:`https_front`).
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from support.tcp_gate import TcpGate

ORTHANC_AET = "ORTHANC"
HALONG_AET = "HALONG"
_BINARY_CANDIDATES = ("Orthanc", "/usr/sbin/Orthanc", "/usr/bin/Orthanc")
_PLUGIN_PATTERNS = (
    "/usr/share/orthanc/plugins/libOrthancDicomWeb.so*",
    "/usr/lib/orthanc/libOrthancDicomWeb.so*",
    "/usr/lib/*/orthanc/plugins/libOrthancDicomWeb.so*",
)


def find_orthanc() -> str | None:
    """The Orthanc executable, or None when the package is not installed."""
    for candidate in _BINARY_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


def find_dicomweb_plugin() -> str:
    """The DICOMweb plugin library of the Debian package (an error if it is missing)."""
    for pattern in _PLUGIN_PATTERNS:
        matches = sorted(glob.glob(pattern))
        if matches:
            return matches[0]
    raise RuntimeError(
        "Orthanc is installed but its DICOMweb plugin is not: install orthanc-dicomweb"
    )


def free_port() -> int:
    """A TCP port nobody listens on right now (the kernel picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class OrthancServer:
    """One Orthanc process and its REST API."""

    def __init__(
        self,
        binary: str,
        folder: Path,
        halong_scp_port: int,
        tls: Mapping[str, Path] | None = None,
    ) -> None:
        self.binary = binary
        self.folder = folder
        self.http_port = free_port()
        self.dicom_port = free_port()
        self.halong_scp_port = halong_scp_port
        self.process: subprocess.Popen[bytes] | None = None
        self.config_path = folder / "orthanc.json"
        storage = folder / "storage"
        config = {
            "Name": "HalongTestPACS",
            "StorageDirectory": str(storage),
            "IndexDirectory": str(storage),
            "HttpPort": self.http_port,
            "DicomPort": self.dicom_port,
            "DicomAet": ORTHANC_AET,
            "RemoteAccessAllowed": False,
            "AuthenticationEnabled": False,
            "DicomCheckCalledAet": True,
            "DicomModalities": {"halong": [HALONG_AET, "127.0.0.1", halong_scp_port]},
            "DicomScuTimeout": 10,
            "DicomAssociationCloseDelay": 0,
            "StorageCompression": False,
            # Orthanc answers queries in this encoding; Latin-1 (its default) drops Vietnamese
            # letters such as "ă", so a Vietnamese site configures UTF-8.
            "DefaultEncoding": "Utf8",
            "SaveJobs": False,
            "Plugins": [find_dicomweb_plugin()],
            "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
        }
        if tls is not None:
            config |= _dicom_tls(tls, halong_scp_port)
        self.config_path.write_text(json.dumps(config, indent=2))
        self.log_path = folder / "orthanc.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def dicomweb_url(self) -> str:
        return f"{self.url}/dicom-web"

    @property
    def node(self) -> str:
        """``AET@HOST:PORT`` as ``halong send --pacs`` takes it."""
        return f"{ORTHANC_AET}@127.0.0.1:{self.dicom_port}"

    def start(self, timeout_s: float = 20.0) -> None:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [self.binary, str(self.config_path)], stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Orthanc exited at start; see {self.log_path}")
            with contextlib.suppress(httpx.HTTPError):
                answer = httpx.get(f"{self.url}/system", timeout=1.0)
                if answer.status_code == 200 and _listening(self.dicom_port):
                    return
            time.sleep(0.05)
        raise RuntimeError(f"Orthanc did not start in {timeout_s} s; see {self.log_path}")

    def terminate(self) -> None:
        """Ask it to stop as an administrator would (SIGTERM); it finishes open associations."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait_stopped(self, timeout_s: float = 30.0) -> None:
        if self.process is not None:
            self.process.wait(timeout=timeout_s)
        self.process = None

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
        self.process = None

    # -- REST helpers: the independent view of what the PACS holds -------------------

    def instance_count(self) -> int:
        return int(httpx.get(f"{self.url}/statistics").json()["CountInstances"])

    def sop_instance_uids(self) -> list[str]:
        """Every SOP Instance UID stored (duplicates would show as repeats)."""
        identifiers = httpx.get(f"{self.url}/instances").json()
        uids = []
        for identifier in identifiers:
            tags = httpx.get(f"{self.url}/instances/{identifier}/simplified-tags").json()
            uids.append(tags["SOPInstanceUID"])
        return uids

    def holds(self, sop_instance_uid: str) -> bool:
        found = httpx.post(f"{self.url}/tools/lookup", content=sop_instance_uid).json()
        return any(match["Type"] == "Instance" for match in found)

    def upload(self, path: Path) -> None:
        response = httpx.post(f"{self.url}/instances", content=path.read_bytes())
        response.raise_for_status()

    def stored_file(self, sop_instance_uid: str) -> bytes:
        found = httpx.post(f"{self.url}/tools/lookup", content=sop_instance_uid).json()
        (instance,) = [match["ID"] for match in found if match["Type"] == "Instance"]
        return httpx.get(f"{self.url}/instances/{instance}/file").content


def _dicom_tls(pki: Mapping[str, Path], halong_scp_port: int) -> dict[str, object]:
    """The options making Orthanc speak DICOM TLS only, with the test PKI's "server" pair."""
    return {
        "DicomTlsEnabled": True,
        "DicomTlsCertificate": str(pki["server_cert"]),
        "DicomTlsPrivateKey": str(pki["server_key"]),
        "DicomTlsTrustedCertificates": str(pki["ca"]),
        "DicomTlsRemoteCertificateRequired": True,
        "DicomModalities": {
            "halong": {
                "AET": HALONG_AET,
                "Host": "127.0.0.1",
                "Port": halong_scp_port,
                "UseDicomTls": True,
            }
        },
    }


def https_front(orthanc: OrthancServer, pki: Mapping[str, Path]) -> TcpGate:
    """A TLS-terminating relay to Orthanc's HTTP port, showing the PKI's "server" pair."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pki["server_cert"], pki["server_key"])
    return TcpGate(orthanc.http_port, tls=context)


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0
