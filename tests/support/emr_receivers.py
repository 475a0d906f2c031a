"""Receivers that stand in for the hospital EMR and audit repository in the tests.

A hospital's interface engine, FHIR server and audit record repository cannot exist on
a test machine, so these small loopback servers play their part: they implement the
wire protocols for real (MLLP framing with hl7apy-built ACKs, FHIR transaction
processing with conditional create, RFC 5424 syslog over UDP and TCP) and count what
they receive, which is what the exactly-once assertions are checked against. Their
storage is a dictionary: they stand in for the EMR's internals, they are not one.

Both the MLLP listener and the FHIR server can *hold* the answer to a chosen message
after applying it, which lets a test kill the sender at the worst moment: the receiver
has the message, the sender has no acknowledgment.
"""

from __future__ import annotations

import collections
import json
import socketserver
import ssl
import threading
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from hl7apy.core import Message
from hl7apy.parser import parse_message

VT, FS_CR = b"\x0b", b"\x1c\x0d"


class _Hold:
    """Block the answer to the Nth message until released (None: never hold)."""

    def __init__(self) -> None:
        self.at: int | None = None
        self.reached = threading.Event()
        self.release = threading.Event()

    def arm(self, at: int) -> None:
        self.at = at
        self.reached.clear()
        self.release.clear()

    def wait_if_held(self, number: int) -> None:
        if self.at is not None and number == self.at:
            self.reached.set()
            self.release.wait(timeout=60)


class _ThreadedServer:
    """A server run on a daemon thread that can be stopped and started on the same port."""

    def __init__(self, factory: Callable[[tuple[str, int]], socketserver.BaseServer]) -> None:
        self._factory = factory
        self.port = 0
        self._server: socketserver.BaseServer | None = None

    def start(self) -> None:
        self._server = self._factory(("127.0.0.1", self.port))
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class MllpListener(_ThreadedServer):
    """An HL7 v2 MLLP listener that answers AA and recognises repeated MSH-10s.

    ``received`` counts every message per control ID as it arrived on the wire;
    ``applied`` counts those it processed, a repeat being acknowledged but not applied
    again, as an EMR interface engine does with a Message Control ID it has seen.
    """

    def __init__(self) -> None:
        super().__init__(self._make)
        self.received: collections.Counter[str] = collections.Counter()
        self.applied: collections.Counter[str] = collections.Counter()
        #: Control IDs answered AE (application error) and not applied.
        self.refuse: set[str] = set()
        self.hold = _Hold()
        self._lock = threading.Lock()
        self._count = 0

    def _make(self, address: tuple[str, int]) -> socketserver.BaseServer:
        listener = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                buffer = b""
                while True:
                    try:
                        chunk = self.request.recv(65536)
                    except OSError:
                        return
                    if not chunk:
                        return
                    buffer += chunk
                    while FS_CR in buffer:
                        block, buffer = buffer.split(FS_CR, 1)
                        answer = listener._answer(block.lstrip(VT))
                        try:
                            self.request.sendall(VT + answer + FS_CR)
                        except OSError:
                            return

        server = socketserver.ThreadingTCPServer(address, Handler, bind_and_activate=False)
        server.daemon_threads = True
        server.allow_reuse_address = True
        server.server_bind()
        server.server_activate()
        return server

    def _answer(self, raw: bytes) -> bytes:
        message = parse_message(raw.decode("utf-8"), find_groups=False)
        control_id = message.msh.msh_10.value
        with self._lock:
            self._count += 1
            number = self._count
            self.received[control_id] += 1
            refused = control_id in self.refuse
            if not refused and control_id not in self.applied:
                self.applied[control_id] += 1
        self.hold.wait_if_held(number)
        ack = Message("ACK", version="2.5")
        ack.msh.msh_3 = "EMR"
        ack.msh.msh_9 = "ACK^R01^ACK"
        ack.msh.msh_10 = uuid.uuid4().hex[:20]
        ack.msh.msh_11 = "P"
        ack.msa.msa_1 = "AE" if refused else "AA"
        ack.msa.msa_2 = control_id
        return ack.to_er7().encode("utf-8")


class FhirServer(_ThreadedServer):
    """A FHIR base URL that processes transaction Bundles with conditional create/update.

    ``posts`` counts transactions per Bundle identifier as they arrived; ``created``
    counts resources created per (type, ``system|value`` identifier): with conditional
    create honoured, a resend matches and creates nothing. Optionally requires a bearer
    token, or a client certificate (mutual TLS) when given an SSL context.
    """

    def __init__(self, *, token: str | None = None, tls: ssl.SSLContext | None = None) -> None:
        super().__init__(self._make)
        self.token = token
        self.tls = tls
        self.posts: collections.Counter[str] = collections.Counter()
        self.created: collections.Counter[tuple[str, str]] = collections.Counter()
        self.client_subjects: list[str] = []
        #: Every transaction Bundle as it arrived, for validating what was sent.
        self.bundles: list[dict] = []
        self.hold = _Hold()
        self._resources: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()
        self._count = 0

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}/fhir"

    def _make(self, address: tuple[str, int]) -> socketserver.BaseServer:
        fhir = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                """Quiet."""

            def do_POST(self) -> None:
                if fhir.token and self.headers.get("Authorization") != f"Bearer {fhir.token}":
                    self._reply(401, {"resourceType": "OperationOutcome"})
                    return
                if fhir.tls:
                    subject = dict(x[0] for x in self.connection.getpeercert()["subject"])
                    fhir.client_subjects.append(subject.get("commonName", ""))
                length = int(self.headers.get("Content-Length", 0))
                bundle = json.loads(self.rfile.read(length))
                status, answer = fhir._transaction(bundle)
                self._reply(status, answer)

            def _reply(self, status: int, document: dict) -> None:
                body = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/fhir+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        server = _QuietHttpServer(address, Handler, bind_and_activate=False)
        server.daemon_threads = True
        server.allow_reuse_address = True
        server.server_bind()
        server.server_activate()
        if self.tls:
            server.socket = self.tls.wrap_socket(server.socket, server_side=True)
        return server

    def _transaction(self, bundle: dict) -> tuple[int, dict]:
        if bundle.get("resourceType") != "Bundle" or bundle.get("type") != "transaction":
            return 400, {"resourceType": "OperationOutcome"}
        identifier = bundle.get("identifier", {})
        responses = []
        with self._lock:
            self._count += 1
            number = self._count
            self.posts[f"{identifier.get('system')}|{identifier.get('value')}"] += 1
            self.bundles.append(bundle)
            for entry in bundle["entry"]:
                responses.append(self._apply(entry["resource"], entry["request"]))
        self.hold.wait_if_held(number)
        answer = {
            "resourceType": "Bundle",
            "type": "transaction-response",
            "entry": [{"response": response} for response in responses],
        }
        return 200, answer

    def _apply(self, resource: dict, request: dict) -> dict:
        """One entry: conditional create (POST + ifNoneExist) or conditional update
        (PUT Type?identifier=...), matched on the identifier ``system|value``."""
        kind = resource["resourceType"]
        if request["method"] == "PUT":
            condition = request["url"].partition("?")[2]
        else:
            condition = request.get("ifNoneExist", "")
        key = (kind, condition.removeprefix("identifier=") or uuid.uuid4().hex)  # plain POST
        if key in self._resources:
            status = "200 OK"
        else:
            self._resources[key] = f"{kind}/{uuid.uuid4().hex}"
            self.created[key] += 1
            status = "201 Created"
        return {"status": status, "location": self._resources[key]}


class _QuietHttpServer(ThreadingHTTPServer):
    """No tracebacks on stderr when a client vanishes mid-answer: tests kill clients."""

    def handle_error(self, request: object, client_address: object) -> None:
        """A dead client is expected here."""


class SyslogListener(_ThreadedServer):
    """An audit record repository: RFC 5424 messages over UDP, or TCP with octet counting."""

    def __init__(self, transport: str) -> None:
        super().__init__(self._make)
        self.transport = transport
        self.messages: list[bytes] = []
        self.arrived = threading.Event()

    def _make(self, address: tuple[str, int]) -> socketserver.BaseServer:
        listener = self

        class UdpHandler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                listener._keep(self.request[0])

        class TcpHandler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                while True:
                    length = b""
                    while (char := self.rfile.read(1)) not in (b" ", b""):
                        length += char
                    if not length:
                        return
                    listener._keep(self.rfile.read(int(length)))

        if self.transport == "udp":
            return socketserver.UDPServer(address, UdpHandler)
        server = socketserver.ThreadingTCPServer(address, TcpHandler)
        server.daemon_threads = True
        return server

    def _keep(self, message: bytes) -> None:
        self.messages.append(message)
        self.arrived.set()
