"""Issue 19 §7: the network guard was an in-process patch of `socket.connect`; UDP `sendto`, `sendmsg`, `_socket`,
child processes and DNS lookups all went around it. Now the in-process guard covers datagrams and name lookups,
and the runs themselves execute in a network namespace with only loopback (labsim/steps/netns.py), which no
process, child or socket type can leave."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap

import pytest

from labsim.steps import guard

LAB_ADDRESS = ("192.168.88.2", 8728)


@pytest.fixture
def udp():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        yield s


def test_a_datagram_to_a_lab_address_is_refused(udp):
    with pytest.raises(guard.LabSafetyError, match=r"refused datagram to 192.168.88.2:8728"):
        udp.sendto(b"x", LAB_ADDRESS)
    with pytest.raises(guard.LabSafetyError, match=r"refused datagram to 192.168.88.2:8728"):
        udp.sendto(b"x", 0, LAB_ADDRESS)
    with pytest.raises(guard.LabSafetyError, match=r"refused datagram to 192.168.88.2:8728"):
        udp.sendmsg([b"x"], [], 0, LAB_ADDRESS)


def test_datagrams_on_loopback_pass(udp):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx:
        rx.bind(("127.0.0.1", 0))
        udp.sendto(b"one", rx.getsockname())
        udp.sendmsg([b"two"], [], 0, rx.getsockname())
        assert rx.recv(10) == b"one" and rx.recv(10) == b"two"


@pytest.mark.parametrize("name", ["router.lab.example", "pve", "192-168-88-2.nip.io"])
def test_a_name_lookup_that_would_ask_a_resolver_is_refused(name):
    with pytest.raises(guard.LabSafetyError, match=rf"refused name lookup of {name}:8006"):
        socket.getaddrinfo(name, 8006)
    with pytest.raises(guard.LabSafetyError, match=rf"{name}"):
        socket.create_connection((name, 8006), timeout=1)


def test_loopback_names_and_literals_resolve():
    assert {ai[4][0] for ai in socket.getaddrinfo("localhost", 80, socket.AF_INET)} == {"127.0.0.1"}
    assert socket.getaddrinfo("127.0.0.1", 80)
    assert socket.getaddrinfo(None, 80, socket.AF_INET, 0, 0, socket.AI_PASSIVE)


PROBE = textwrap.dedent("""
    import _socket, os, socket, subprocess, sys
    assert [n for _, n in socket.if_nameindex()] == ["lo"], socket.if_nameindex()
    raw = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)     # below the in-process guard
    try:
        raw.connect(("192.0.2.10", 443)); sys.exit("raw connect left the namespace")
    except OSError as exc:
        print("raw connect:", exc.strerror)
    child = subprocess.run([sys.executable, "-S", "-c",
        "import _socket; s = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM); s.sendto(b'x', ('192.0.2.10', 53))"],
        capture_output=True, text=True)
    print("child datagram:", child.returncode, child.stderr.strip().splitlines()[-1])
    srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen()
    socket.create_connection(srv.getsockname(), timeout=2).close()
    print("loopback: ok", os.environ.get("LABSIM_NETNS"))
""")


def _namespaces_work() -> bool:
    return guard.isolated() or subprocess.run(["unshare", "--net", "true"] if os.geteuid() == 0 else
                                              ["unshare", "--user", "--map-root-user", "--net", "true"],
                                              capture_output=True).returncode == 0


@pytest.mark.skipif(not _namespaces_work() and not os.environ.get("LABSIM_NETNS_REQUIRED"),
                    reason="this OS makes no network namespaces (CI requires them: NETNS=require)")
def test_in_the_namespace_no_socket_type_and_no_child_leaves_loopback():
    proc = subprocess.run([sys.executable, "-m", "labsim.steps.netns", "--require", "--", sys.executable, "-c", PROBE],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "raw connect: Network is unreachable" in proc.stdout
    assert "child datagram: 1 OSError: [Errno 101] Network is unreachable" in proc.stdout
    assert "loopback: ok" in proc.stdout


def test_without_a_namespace_require_refuses_and_otherwise_says_so(tmp_path):
    env = {**os.environ, "PATH": str(tmp_path)}    # no unshare on PATH
    cmd = [sys.executable, "-m", "labsim.steps.netns"]
    required = subprocess.run([*cmd, "--require", "--", sys.executable, "-c", "print('ran')"], env=env,
                              capture_output=True, text=True, timeout=60)
    relaxed = subprocess.run([*cmd, "--", sys.executable, "-c", "print('ran')"], env=env,
                             capture_output=True, text=True, timeout=60)
    if guard.isolated():     # already in one (CI): the command simply runs
        assert required.stdout == relaxed.stdout == "ran\n"
        return
    assert required.returncode == 3 and "refusing to run without one" in required.stderr and not required.stdout
    assert relaxed.returncode == 0 and relaxed.stdout == "ran\n"
    assert "the in-process guard alone keeps this run on loopback" in relaxed.stderr
