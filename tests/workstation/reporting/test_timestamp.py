"""PAdES B-T: with a timestamp server configured, the signature carries a trusted time.

The timestamp server is a real RFC 3161 service over HTTP on loopback (pyHanko's
test TSA behind ``http.server``) with its own throw-away certificate.
"""

from __future__ import annotations

import datetime as dt
import io
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from asn1crypto import keys, tsp, x509
from cryptography import x509 as cx509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.timestamps import DummyTimeStamper

from workstation.reporting.pdf import render_report_pdf
from workstation.reporting.signing import load_signer, sign_pdf
from workstation.reporting.verification import verify_pdf


def _tsa_certificate(folder: Path) -> tuple[Path, x509.Certificate, keys.PrivateKeyInfo]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, "Halong TEST TSA")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        cx509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(cx509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(cx509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(key, hashes.SHA256())
    )
    der = certificate.public_bytes(serialization.Encoding.DER)
    path = folder / "tsa.pem"
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    pkcs8 = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return path, x509.Certificate.load(der), keys.PrivateKeyInfo.load(pkcs8)


@pytest.fixture
def timestamp_server(tmp_path) -> Iterator[tuple[str, Path]]:
    tsa_pem, certificate, key = _tsa_certificate(tmp_path)
    stamper = DummyTimeStamper(tsa_cert=certificate, tsa_key=key)
    requests: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            requests.append(body)
            response = stamper.request_tsa_response(tsp.TimeStampReq.load(body))
            data = response.dump()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", tsa_pem
    finally:
        server.shutdown()
        server.server_close()
    assert requests, "the signer never asked the timestamp server"


def test_b_t_signature_has_a_valid_timestamp(final_report, test_pki, timestamp_server):
    url, tsa_pem = timestamp_server
    signer = load_signer(test_pki.p12, test_pki.passphrase)
    signed = sign_pdf(render_report_pdf(final_report), signer, timestamp_url=url)
    result = verify_pdf(signed, [test_pki.ca, tsa_pem])
    (check,) = result.signatures
    assert result.ok and check.timestamp_ok
    assert abs(check.timestamp_time - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)
    signature = PdfFileReader(io.BytesIO(signed)).embedded_signatures[0]
    unsigned = signature.signer_info["unsigned_attrs"]
    assert "signature_time_stamp_token" in [a["type"].native for a in unsigned]
    # the timestamp's own certificate must be trusted too
    assert verify_pdf(signed, [test_pki.ca]).ok is False
