"""The lab CA: a real CA certificate, server certificates a TLS client verifies, client certificates."""
from __future__ import annotations

import socket
import ssl
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from labsim.fakes.pki import CA


@pytest.fixture(scope="module")
def ca(tmp_path_factory) -> CA:
    return CA.generate("test CA", directory=tmp_path_factory.mktemp("ca"))


def test_ca_certificate_is_a_ca(ca: CA) -> None:
    bc = ca.cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and bc.value.ca
    assert ca.cert.subject == ca.cert.issuer
    with open(ca.cert_path, "rb") as fh:
        assert fh.read() == ca.cert_pem


def test_server_cert_names_and_signature(ca: CA) -> None:
    issued = ca.issue_server_cert(["127.0.0.1", "localhost"])
    cert = issued.certificate
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in san.get_values_for_type(x509.DNSName)
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in eku
    ca.cert.public_key().verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))


def test_client_cert_carries_user_and_groups(ca: CA) -> None:
    cert = ca.issue_client_cert("admin", ["system:masters"]).certificate
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "admin"
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "system:masters"
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.CLIENT_AUTH in eku


def _tls_roundtrip(server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext, hostname: str) -> bytes:
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(1)
    port = lsock.getsockname()[1]

    def serve() -> None:
        conn, _ = lsock.accept()
        try:
            with server_ctx.wrap_socket(conn, server_side=True) as tls:
                tls.sendall(b"hello")
        except (ssl.SSLError, OSError):
            pass
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        with socket.create_connection(("127.0.0.1", port)) as raw, \
                client_ctx.wrap_socket(raw, server_hostname=hostname) as tls:
            return tls.recv(5)
    finally:
        t.join(timeout=5)
        lsock.close()


def test_a_verifying_client_accepts_the_chain(ca: CA, tmp_path) -> None:
    issued = ca.issue_server_cert()
    assert _tls_roundtrip(issued.server_context(tmp_path), ca.client_context(), "127.0.0.1") == b"hello"
    assert _tls_roundtrip(issued.server_context(tmp_path), ca.client_context(), "localhost") == b"hello"


def test_a_client_trusting_another_ca_refuses(ca: CA, tmp_path) -> None:
    issued = ca.issue_server_cert()
    other = CA.generate("other", directory=tmp_path / "other")
    with pytest.raises(ssl.SSLCertVerificationError):
        _tls_roundtrip(issued.server_context(tmp_path), other.client_context(), "127.0.0.1")


def test_key_file_is_private(ca: CA, tmp_path) -> None:
    crt, key = ca.issue_server_cert().write(tmp_path, "srv")
    assert (key.stat().st_mode & 0o777) == 0o600
    assert crt.read_bytes().count(b"BEGIN CERTIFICATE") == 2   # leaf + CA


def test_a_server_context_without_a_folder_leaves_no_files(tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    ca = CA.generate(directory=tmp_path / "ca")
    ctx = ca.issue_server_cert(["127.0.0.1", "localhost"], common_name="face").server_context()
    assert isinstance(ctx, ssl.SSLContext)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ca"]   # the cert and key were loaded, then removed
