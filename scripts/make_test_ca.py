"""Create a TEST certificate authority and a physician's signing certificate (PKCS#12).

For demos and tests only: the CA is made up on the spot, nobody trusts it, and the
keys are written to the folder you name. Never use these files to sign a real report,
and never commit them. A real physician signs with the certificate issued to them by
a licensed Vietnamese CA.

    python scripts/make_test_ca.py --out DIR [--name "BS. Nguyễn Văn An"] [--passphrase-file F]

writes ``DIR/ca.pem`` (the test CA certificate: give it to ``halong verify --trust``),
``DIR/physician.p12`` (key + certificate + CA chain, encrypted with the passphrase)
and ``DIR/physician.pem`` (the physician's certificate alone). Without
``--passphrase-file`` the passphrase is asked for on the terminal.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import os
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

WARNING = """\
!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
!!  TEST CERTIFICATES - NEVER FOR REAL USE                                    !!
!!  This CA and this physician certificate are made up for demos and tests.  !!
!!  Reports signed with them have no legal value. Do not commit these files. !!
!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"""

VALIDITY = dt.timedelta(days=3 * 365)


def _name(common_name: str, organisation: str, licence: str = "") -> x509.Name:
    """The subject; a physician's practising licence number goes in its serialNumber."""
    attributes = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ]
    if licence:
        attributes.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, licence))
    return x509.Name(attributes)


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _key_usage(*, certificates: bool) -> x509.KeyUsage:
    """A CA signs certificates and CRLs; a physician signs documents (non-repudiation)."""
    return x509.KeyUsage(
        digital_signature=not certificates,
        content_commitment=not certificates,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=certificates,
        crl_sign=certificates,
        encipher_only=False,
        decipher_only=False,
    )


def make_ca(now: dt.datetime) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """A self-signed CA allowed to sign end-entity certificates only."""
    key = _key()
    name = _name("Halong TEST CA - not for real use", "Halong test PKI")
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(certificates=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def make_physician(
    ca_key: rsa.RSAPrivateKey,
    ca_cert: x509.Certificate,
    physician: str,
    now: dt.datetime,
    licence: str = "",
) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """A document-signing certificate: digital signature + non-repudiation."""
    key = _key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(physician, "Halong test hospital", licence))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(certificates=False), critical=True)
        # emailProtection: NSS (poppler's pdfsig) checks signer certificates for that use.
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def write_test_pki(
    out: Path, physician: str, passphrase: bytes, licence: str = ""
) -> dict[str, Path]:
    """Write ca.pem, physician.p12 and physician.pem into ``out``; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key, ca_cert = make_ca(now)
    key, cert = make_physician(ca_key, ca_cert, physician, now, licence)
    p12 = pkcs12.serialize_key_and_certificates(
        name=physician.encode("utf-8"),
        key=key,
        cert=cert,
        cas=[ca_cert],
        encryption_algorithm=serialization.BestAvailableEncryption(passphrase),
    )
    paths = {"ca": out / "ca.pem", "p12": out / "physician.p12", "cert": out / "physician.pem"}
    paths["ca"].write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    paths["cert"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    descriptor = os.open(paths["p12"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(p12)
    return paths


def _passphrase(passphrase_file: Path | None) -> bytes:
    if passphrase_file is not None:
        return passphrase_file.read_bytes().rstrip(b"\r\n")
    first = getpass.getpass("Passphrase for the test PKCS#12: ")
    if first != getpass.getpass("Again: "):
        raise SystemExit("make_test_ca: the passphrases differ")
    return first.encode("utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, metavar="DIR")
    parser.add_argument("--name", default="BS. Nguyễn Văn An (TEST)", help="physician's name")
    parser.add_argument(
        "--licence", default="", metavar="NUMBER", help="practising licence number (serialNumber)"
    )
    parser.add_argument("--passphrase-file", type=Path, metavar="FILE")
    args = parser.parse_args(argv)
    print(WARNING, file=sys.stderr)
    passphrase = _passphrase(args.passphrase_file)
    paths = write_test_pki(args.out, args.name, passphrase, args.licence)
    for label, path in paths.items():
        print(f"{label}: {path}")
    print(WARNING, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
