"""Outside --target lab, no connection may leave 127.0.0.0/8, and the refusal names the address."""
from __future__ import annotations

import socket

import pytest

from labsim.steps import guard


def test_guard_is_on_in_simulated_sessions(pytestconfig):
    assert pytestconfig.getoption("--target") == "sim"
    assert guard.installed()


@pytest.mark.parametrize("address", [("192.168.88.2", 8728), ("10.0.0.1", 443), ("8.8.8.8", 53),
                                     ("::ffff:192.168.88.10", 8006)])
def test_connection_to_a_lab_address_is_refused_naming_it(address):
    family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        with pytest.raises(guard.LabSafetyError, match=rf"refused connection to {address[0]}:{address[1]}"):
            s.connect(address)
        with pytest.raises(guard.LabSafetyError):
            s.connect_ex(address)


def test_create_connection_goes_through_the_guard():
    with pytest.raises(guard.LabSafetyError, match="192.168.88.5:8728"):
        socket.create_connection(("192.168.88.5", 8728), timeout=1)


def test_loopback_is_allowed():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    with socket.create_connection(srv.getsockname(), timeout=1):
        pass
    srv.close()


def test_librouteros_toward_a_lab_address_is_refused():
    import librouteros

    with pytest.raises(guard.LabSafetyError, match="192.168.88.2:8728"):
        librouteros.connect(host="192.168.88.2", username="admin", password="x", timeout=1)
