"""Issue 19 §1: idle or careless SSH clients never stall a login, and nothing they leave behind accumulates.

Before the fix paramiko's key exchange ran in the accept thread: two idle TCP connections made a key login
take 30 s, three made it fail; transports were never forgotten (2,000 connect/close cycles: +28 MB).
"""
from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

from labsim.fakes.hosts import start_hosts
from labsim.fakes.inventory import load_inventory
from labsim.provisioners.hosts.connect import ssh_client
from labsim.provisioners.hosts.endpoints import from_json
from tests.contract.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def face():
    f = start_hosts(load_inventory(ROOT / "labs/aggrik8s.yaml"), None, None, {})
    yield f
    f.stop()


def _first(face):
    name = next(iter(face.servers))
    return face.servers[name], from_json(face.endpoints())[name]


def _login(ep, timeout: float = 10.0) -> float:
    started = time.monotonic()
    client = ssh_client(ep, timeout)
    try:
        _, out, _ = client.exec_command("uname -s")
        assert out.read().strip() == b"Linux"
    finally:
        client.close()
    return time.monotonic() - started


def test_idle_connections_do_not_delay_a_login(face):
    srv, ep = _first(face)
    idle = [socket.create_connection((ep.host, ep.port)) for _ in range(3)]
    try:
        assert _login(ep) < 2.0
    finally:
        for s in idle:
            s.close()


def test_closed_connections_are_forgotten_and_their_threads_end(face):
    srv, ep = _first(face)
    _login(ep)
    wait_for(lambda: srv.connections == 0, 10, "the login's transport to be pruned")
    threads = threading.active_count()
    for _ in range(60):
        socket.create_connection((ep.host, ep.port)).close()
        with socket.create_connection((ep.host, ep.port)) as s:
            s.sendall(b"SSH-2.0-careless\r\n")
    wait_for(lambda: srv.connections == 0, 20, "every transport to be pruned")
    wait_for(lambda: threading.active_count() <= threads, 20, "the transports' threads to end")


def test_a_connection_that_never_logs_in_is_closed_after_the_grace_time(face):
    srv, ep = _first(face)
    srv.login_grace_time = 0.5
    with socket.create_connection((ep.host, ep.port), timeout=10) as s:
        s.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")
        started = time.monotonic()
        data = b""
        while chunk := s.recv(65536):
            data += chunk
        assert data.startswith(b"SSH-2.0-")           # the server's banner and KEXINIT, then EOF
        assert time.monotonic() - started < 5


def test_max_startups_drops_new_connections_while_too_many_have_not_logged_in(face):
    srv, ep = _first(face)
    srv.max_startups = (2, 100, 3)                    # full at 2 pending logins: every further one dropped
    pending = [socket.create_connection((ep.host, ep.port)) for _ in range(2)]
    try:
        wait_for(lambda: srv.connections == 2, 5, "two pending connections")
        with socket.create_connection((ep.host, ep.port), timeout=5) as s:
            assert s.recv(100) == b""                  # closed before the banner, as sshd drops it
        assert srv.dropped == 1
    finally:
        for s in pending:
            s.close()
    wait_for(lambda: srv.connections == 0, 20, "the pending connections to end")
    assert _login(ep) < 2.0
