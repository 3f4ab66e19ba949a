"""Certificates a chart generates at render time (Sprig's genCA / genSignedCert), as Secret data (base64)."""
from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

YEARS3 = dt.timedelta(days=1095)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())


def _build(subject: str, key, issuer: x509.Name | None, signer, ca: bool) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = dt.datetime.now(dt.UTC)
    return (x509.CertificateBuilder().subject_name(name).issuer_name(issuer or name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + YEARS3)
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .sign(signer, hashes.SHA256()))


def gen_ca(common_name: str = "Cilium CA") -> dict[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _build(common_name, key, None, key, True)
    return {"ca.crt": _b64(cert.public_bytes(serialization.Encoding.PEM)), "ca.key": _b64(_key_pem(key))}


def issuer(ca: dict[str, str], prefix: str) -> Callable[[str], dict[str, str]]:
    """`issue(name)`: a leaf `<name>.<prefix>` signed by `ca`, as tls.crt / tls.key / ca.crt."""
    ca_cert = x509.load_pem_x509_certificate(base64.b64decode(ca["ca.crt"]))
    ca_key = serialization.load_pem_private_key(base64.b64decode(ca["ca.key"]), None)

    def issue(name: str) -> dict[str, str]:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _build(f"{name}.{prefix}", key, ca_cert.subject, ca_key, False)
        return {"tls.crt": _b64(cert.public_bytes(serialization.Encoding.PEM)), "tls.key": _b64(_key_pem(key)),
                "ca.crt": ca["ca.crt"]}
    return issue
