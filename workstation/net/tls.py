"""TLS contexts for DICOM (PS3.15 Basic TLS Secure Transport) and HTTPS, made one way.

The peer's certificate is always verified against the CAs given (the system's when none
is), and a server's name or IP address is checked against it: a PACS showing a
certificate from a CA nobody trusts is refused, never accepted with a warning. Python's
defaults already ask for TLS 1.2 or later, as BCP 195 (which PS3.15 cites) wants. The
same certificate and key serve Halong as a client (C-STORE, C-FIND, C-GET, DICOMweb) and
as the server its C-MOVE receiver is; a PACS connecting there must show one too.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from workstation.net.destinations import TlsFiles
from workstation.net.errors import TransientError

#: OpenSSL verify codes meaning the certificate is fine but names another host.
_NAME_MISMATCH = {62, 64}  # X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH


def client_context(files: TlsFiles) -> ssl.SSLContext:
    """A context that verifies the server (certificate and host) and shows ours if given."""
    return _loaded(ssl.Purpose.SERVER_AUTH, files)


def server_context(files: TlsFiles) -> ssl.SSLContext:
    """A context for Halong's C-MOVE receiver: our certificate, and one required of the peer."""
    if not files.cert_file:
        raise TransientError(
            "C-MOVE over TLS needs Halong's own certificate for its receiver: give --tls-cert "
            "and --tls-key (or retrieve with --method get)"
        )
    context = _loaded(ssl.Purpose.CLIENT_AUTH, files)
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def _loaded(purpose: ssl.Purpose, files: TlsFiles) -> ssl.SSLContext:
    """Trusting the CA file given and nothing else, or else the system's CAs."""
    with _loading("CA file", files.ca_file):
        context = ssl.create_default_context(purpose, cafile=files.ca_file)
    if files.cert_file:
        with _loading("TLS certificate", files.cert_file):
            context.load_cert_chain(files.cert_file, files.key_file)
    return context


@contextmanager
def _loading(what: str, path: Path | None) -> Iterator[None]:
    """Turn a file that cannot be loaded into one line naming it."""
    try:
        yield
    except ssl.SSLError as error:  # OpenSSL's reason, e.g. KEY_VALUES_MISMATCH, if it gives one
        reason = error.reason.replace("_", " ").lower() if error.reason else "not PEM, or no key"
        raise TransientError(f"cannot load the {what} {path}: {reason}") from error
    except OSError as error:
        raise TransientError(f"cannot load the {what} {path}: {error.strerror}") from error


def describe_failure(error: BaseException, peer: str, *, advise: bool = True) -> str | None:
    """Why a TLS connection to ``peer`` failed, for users (with what to do when
    ``advise``); None when TLS was not the cause. Looks through the exception's causes,
    as HTTP clients wrap the ``ssl`` error."""
    seen: BaseException | None = error
    while seen is not None and not isinstance(seen, ssl.SSLError):
        seen = seen.__cause__ or seen.__context__
    if isinstance(seen, ssl.SSLCertVerificationError):
        reason = seen.verify_message or seen.reason
        if seen.verify_code in _NAME_MISMATCH:
            return f"{peer} showed a certificate for another host ({reason})"
        advice = "; give the CA that issued it with --tls-ca" if advise else ""
        return f"{peer} showed a certificate that is not trusted ({reason}){advice}"
    if isinstance(seen, ssl.SSLError):
        return f"TLS with {peer} failed ({seen.reason or seen})"
    return None
