"""A TCP relay between Halong and Orthanc whose two directions can be held and released.

It lets a test freeze a transfer at a chosen point, with no hook in the code under
test: holding the requests stalls the sender in the middle of an object; holding the
responses lets Orthanc store an object while the sender never hears so. Either way the
sender is then stopped (Orthanc shut down, or the process killed) exactly where an
outbox without in-doubt handling would lose or duplicate something.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading


class TcpGate:
    """Listens on a loopback port and relays each connection to ``upstream``."""

    def __init__(self, upstream_port: int, tls: ssl.SSLContext | None = None) -> None:
        """With ``tls``, it terminates TLS for the upstream (a reverse proxy's job)."""
        self.upstream_port = upstream_port
        self.tls = tls
        self.requests = threading.Event()
        self.responses = threading.Event()
        self.requests.set()
        self.responses.set()
        #: While set, new connections are dropped at once (the link is down).
        self.refusing = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.refusing.is_set():
                client.close()
                continue
            if self.tls is not None:
                try:
                    client.settimeout(10)
                    client = self.tls.wrap_socket(client, server_side=True)
                    client.settimeout(None)
                except OSError:  # a client that does not trust the certificate hangs up
                    client.close()
                    continue
            try:
                server = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
            except OSError:
                client.close()  # upstream down: the caller sees the connection drop
                continue
            server.settimeout(None)
            self._sockets += [client, server]
            threading.Thread(
                target=self._pump, args=(client, server, self.requests), daemon=True
            ).start()
            threading.Thread(
                target=self._pump, args=(server, client, self.responses), daemon=True
            ).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket, gate: threading.Event) -> None:
        try:
            while chunk := source.recv(65536):
                gate.wait()
                target.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        """Drop every relayed connection, as a network failure would."""
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._sockets.clear()

    def close(self) -> None:
        self._closed = True
        self.requests.set()
        self.responses.set()
        self._listener.close()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.close()
