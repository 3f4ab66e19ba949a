"""A small certificate authority for the simulated lab.

Every TLS face of the simulator presents a certificate issued by a CA generated for it: the lab's CA for the
Proxmox VE API, and each Kubernetes cluster's own CA for its API server (a Talos cluster's is the `cluster.ca`
of its machine configuration, as in a real lab), so clients verify the chain exactly as they would in a
real lab: nothing turns verification off. The CA certificate is written to a PEM file that clients are
pointed at (`verify=CA_PATH` for `requests`/`proxmoxer`, `REQUESTS_CA_BUNDLE`, `certificate-authority`
in a kubeconfig).

Keys are ECDSA P-256: quick to generate, accepted by Python's `ssl`, Go (`kubectl`, `talosctl`) and
OpenSSL. Validity uses the real wall clock (clients check it against the real clock), not virtual time.

    ca = CA.generate("labsim CA")
    cert = ca.issue_server_cert(["127.0.0.1", "localhost"])
    certfile, keyfile = cert.write(ca.directory, "proxmox")
    ctx = cert.server_context()            # ssl.SSLContext ready for a server socket
    requests.get(url, verify=ca.cert_path)
"""
from __future__ import annotations

import datetime as _dt
import ipaddress
import os
import shutil
import ssl
import threading
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["CA", "DEFAULT_SERVER_NAMES", "IssuedCert"]

DEFAULT_SERVER_NAMES = ("127.0.0.1", "localhost", "::1")


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _san(names: Iterable[str]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for name in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(entries)


@dataclass
class IssuedCert:
    """A certificate and its private key, both PEM."""

    cert_pem: bytes
    key_pem: bytes
    ca_pem: bytes
    names: tuple[str, ...] = ()
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_pem)

    def write(self, directory: str | Path, stem: str) -> tuple[Path, Path]:
        """Write `<stem>.crt` (leaf then CA, a full chain) and `<stem>.key` (mode 0600); return both paths."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        crt, key = d / f"{stem}.crt", d / f"{stem}.key"
        crt.write_bytes(self.cert_pem + self.ca_pem)
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(self.key_pem)
        self.files = {"cert": crt, "key": key}
        return crt, key

    def server_context(self, directory: str | Path | None = None, stem: str = "server") -> ssl.SSLContext:
        """An `ssl.SSLContext` for a server socket presenting this certificate (TLS 1.2+). Without a `directory`
        (and no files written before) the files are written to a temporary folder only for the context to load
        them, and removed (every cloud lab's faces left one behind)."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        if not self.files and directory is None:
            with tempfile.TemporaryDirectory(prefix="labsim-pki-") as tmp:
                crt, key = self.write(tmp, stem)
                ctx.load_cert_chain(str(crt), str(key))
            self.files = {}
            return ctx
        if not self.files:
            self.write(directory, stem)
        ctx.load_cert_chain(str(self.files["cert"]), str(self.files["key"]))
        return ctx


_WRITE_LOCK = threading.Lock()


class CA:
    """A self-signed root CA that issues server and client certificates for the simulated lab."""

    def __init__(self, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate,
                 directory: str | Path | None = None):
        self.key = key
        self.cert = cert
        self._owns_dir = directory is None
        self.directory = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="labsim-ca-"))
        self.directory.mkdir(parents=True, exist_ok=True)
        self._cert_path: Path | None = None

    # --- creation -------------------------------------------------------------------------------
    @classmethod
    def generate(cls, common_name: str = "labsim simulated lab CA", *,
                 directory: str | Path | None = None, days: int = 3650) -> CA:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, "labsim")])
        now = _now()
        ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        cert = (x509.CertificateBuilder()
                .subject_name(name).issuer_name(name)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - _dt.timedelta(days=1))
                .not_valid_after(now + _dt.timedelta(days=days))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                             key_encipherment=False, data_encipherment=False,
                                             key_agreement=False, key_cert_sign=True, crl_sign=True,
                                             encipher_only=False, decipher_only=False), critical=True)
                .add_extension(ski, critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski),
                               critical=False)
                .sign(key, hashes.SHA256()))
        return cls(key, cert, directory)

    @classmethod
    def from_pem(cls, cert_pem: bytes, key_pem: bytes, *, directory: str | Path | None = None) -> CA:
        """A CA whose certificate and key someone else generated (a Talos cluster's `cluster.ca`)."""
        key = serialization.load_pem_private_key(key_pem, None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError("the simulated lab's CAs sign with ECDSA keys")
        return cls(key, x509.load_pem_x509_certificate(cert_pem), directory)

    def cleanup(self) -> None:
        """Remove the files this CA wrote, when it chose the directory itself."""
        if self._owns_dir:
            shutil.rmtree(self.directory, ignore_errors=True)
        self._cert_path = None

    # --- what clients need --------------------------------------------------------------------------
    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        return _key_pem(self.key)

    @property
    def cert_path(self) -> str:
        """Path of the CA certificate (PEM), written on first use: pass it as `verify=` to requests."""
        with _WRITE_LOCK:  # clients in several threads ask at once; none may read a half-written file
            if self._cert_path is None or not self._cert_path.exists():
                path = self.directory / "ca.crt"
                tmp = path.with_suffix(f".tmp{threading.get_ident()}")
                tmp.write_bytes(self.cert_pem)
                os.replace(tmp, path)
                self._cert_path = path
            return str(self._cert_path)

    def client_context(self) -> ssl.SSLContext:
        """A client `ssl.SSLContext` that trusts only this CA and checks host names."""
        ctx = ssl.create_default_context(cafile=self.cert_path)
        return ctx

    # --- issuing ------------------------------------------------------------------------------------
    def _issue(self, subject: x509.Name, *, names: Iterable[str], eku: list, days: int) -> IssuedCert:
        key = ec.generate_private_key(ec.SECP256R1())
        now = _now()
        names = tuple(names)
        builder = (x509.CertificateBuilder()
                   .subject_name(subject).issuer_name(self.cert.subject)
                   .public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - _dt.timedelta(days=1))
                   .not_valid_after(now + _dt.timedelta(days=days))
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                                key_encipherment=False, data_encipherment=False,
                                                key_agreement=True, key_cert_sign=False, crl_sign=False,
                                                encipher_only=False, decipher_only=False), critical=True)
                   .add_extension(x509.ExtendedKeyUsage(eku), critical=False)
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                                  critical=False))
        if names:
            builder = builder.add_extension(_san(names), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        return IssuedCert(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key), self.cert_pem, names)

    def issue_server_cert(self, names: Iterable[str] = DEFAULT_SERVER_NAMES, *,
                          common_name: str | None = None, days: int = 825) -> IssuedCert:
        """A TLS server certificate whose SANs are `names` (IP addresses and DNS names)."""
        names = tuple(names)
        cn = common_name or (names[0] if names else "labsim")
        return self._issue(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]), names=names,
                           eku=[ExtendedKeyUsageOID.SERVER_AUTH], days=days)

    def issue_client_cert(self, common_name: str, organizations: Iterable[str] = (), *,
                          days: int = 825) -> IssuedCert:
        """A TLS client certificate (CN = user, O = groups, the way Kubernetes reads them)."""
        attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in organizations]
        attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
        return self._issue(x509.Name(attrs), names=(), eku=[ExtendedKeyUsageOID.CLIENT_AUTH], days=days)
