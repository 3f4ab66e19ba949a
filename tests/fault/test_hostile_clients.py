"""Issue 19 §5 and §6: no face lets a client that has not logged in make it read, hold or wait without bound, and
bad input gets the answer the real system gives instead of a traceback, a 500 or silence.

§5 found: 30 MiB of words before a RouterOS login took the server from 125 to 446 MB; 300 idle connections held
300 threads; an unauthenticated 64 MiB chunked body was read before the 401; `Content-Length: -1` got no answer.
§6 found tracebacks, 500s and dropped connections for Kubernetes `?limit=-1`, `?limit=abc`, the request target `*`
and deeply nested JSON, Proxmox form body `\\xff=1` and JSON `[]`, control API `Content-Length: abc`, body `[]`,
a BrokenPipe on every early client exit and `clock/sleep {"seconds": "inf"}`, and one idle connection to the
tools' launcher hanging every fake tool. The faces also stopped slowly (the standard library's 0.5 s poll).
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from labsim.fakes.clock import VirtualClock
from labsim.fakes.control import ControlServer, Pace
from labsim.fakes.routeros.codec import encode_word
from tests.fault.hostile import ROOT, PeakRss, body_of, connect, exchange, face_threads, start_lab, status_line, \
    wait_for


@pytest.fixture(scope="module")
def lab():
    lab = start_lab()
    yield lab
    lab.stop()


def kube(lab):
    return lab.sim.rke2.servers["piCluster"]


def kube_auth(lab) -> str:
    return f"Authorization: Bearer {kube(lab).add_token()}\r\n"


def pve(lab):
    return lab.endpoints["proxmox"]["pve"]


def pve_auth(lab) -> str:
    p = pve(lab)
    return f"Authorization: PVEAPIToken={p['user']}!{p['token_id']}={p['token_secret']}\r\n"


def control(lab) -> ControlServer:
    return lab.sim.talos.control


# --- §5: nothing unbounded before authentication -------------------------------------------------------------

def test_30_mib_of_words_before_a_routeros_login_is_cut_short(lab):
    port = lab.endpoints["routeros"]["rb5009-01"]["port"]
    word = encode_word("=x=" + "y" * 65000)       # one long sentence that never ends, sent 480 times
    sock = connect(port, timeout=10)
    sent = 0
    started = time.monotonic()
    with PeakRss() as mem:
        try:
            sock.sendall(encode_word("/login"))
            while sent < 30 * 1024 * 1024:
                sock.sendall(word)
                sent += len(word)
        except OSError:
            pass                                   # the router hung up on us
        answer = b""
        try:
            while chunk := sock.recv(4096):
                answer += chunk
        except OSError:
            pass
    sock.close()
    assert b"!fatal" in answer and b"not logged in" in answer
    assert time.monotonic() - started < 5
    assert mem.growth < 20 * 1024 * 1024, f"the server grew by {mem.growth >> 20} MiB"
    lab.probes["routeros"]()


def test_300_idle_connections_hold_no_threads_and_stall_no_one(lab):
    before = face_threads()
    ports = [lab.endpoints["routeros"]["rb5009-02"]["port"], kube(lab).port, pve(lab)["port"], control(lab).port]
    idle = [socket.create_connection(("127.0.0.1", port)) for port in ports for _ in range(75)]
    try:
        time.sleep(0.3)
        assert face_threads() <= before + 2
        for name in ("kubernetes", "proxmox", "control"):
            started = time.monotonic()
            lab.probes[name]()
            assert time.monotonic() - started < 1.0, name
    finally:
        for s in idle:
            s.close()


def test_an_idle_connection_is_closed_after_the_handshake_timeout(lab):
    server = control(lab)
    saved = server.limits
    server.limits = saved.but(handshake_timeout=0.3)
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
            started = time.monotonic()
            assert s.recv(10) == b"" and time.monotonic() - started < 2.5
    finally:
        server.limits = saved


def test_an_unauthenticated_64_mib_chunked_body_gets_its_401_before_it_is_read(lab):
    sock = connect(kube(lab).port, tls=True, timeout=5)
    sock.sendall(b"POST /api/v1/namespaces HTTP/1.1\r\nHost: k\r\nTransfer-Encoding: chunked\r\n"
                 b"Content-Type: application/json\r\n\r\n")
    chunk = b"%x\r\n%s\r\n" % (1 << 20, b"x" * (1 << 20))
    sent = [0]

    def flood() -> None:
        try:
            while sent[0] < 64:
                sock.sendall(chunk)
                sent[0] += 1
        except OSError:
            pass
    t = threading.Thread(target=flood, daemon=True)
    t.start()
    head = sock.recv(4096)
    assert status_line(head) == "HTTP/1.1 401 Unauthorized", head[:200]
    assert sent[0] < 64
    sock.close()
    t.join(5)


@pytest.mark.parametrize("face, expect", [
    ("kubernetes", "HTTP/1.1 400 Bad Request"),
    ("proxmox", "HTTP/1.1 400 bad request"),
    ("control", "HTTP/1.0 400 Bad Request"),
])
def test_content_length_minus_one_gets_an_answer(lab, face, expect):
    port, tls, path = {"kubernetes": (kube(lab).port, True, "/api/v1/namespaces"),
                       "proxmox": (pve(lab)["port"], True, "/api2/json/nodes/pve/qemu"),
                       "control": (control(lab).port, False, "/v1/clock/now")}[face]
    answer = exchange(port, f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n".encode(), tls=tls)
    assert status_line(answer) == expect


# --- §6: the real system's answer to bad input ---------------------------------------------------------------

def kube_get(lab, target: str, method: str = "GET", body: bytes = b"", ctype: str = "application/json") -> bytes:
    extra = f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n" if body else ""
    req = f"{method} {target} HTTP/1.1\r\nHost: k\r\n{kube_auth(lab)}{extra}Connection: close\r\n\r\n".encode()
    return exchange(kube(lab).port, req + body, tls=True)


def test_kubernetes_limit_minus_one_lists_everything(lab):
    everything = json.loads(body_of(kube_get(lab, "/api/v1/nodes")))["items"]
    answer = kube_get(lab, "/api/v1/nodes?limit=-1")
    assert status_line(answer) == "HTTP/1.1 200 OK"
    assert json.loads(body_of(answer))["items"] == everything and len(everything) > 1


@pytest.mark.parametrize("value, why", [("abc", "invalid syntax"), ("", "invalid syntax"),
                                        ("99999999999999999999", "value out of range")])
def test_kubernetes_limit_that_is_not_a_number_is_a_400(lab, value, why):
    answer = kube_get(lab, f"/api/v1/nodes?limit={value}")
    status = json.loads(body_of(answer))
    assert status_line(answer) == "HTTP/1.1 400 Bad Request"
    assert (status["reason"], status["message"]) == ("BadRequest", f'strconv.ParseInt: parsing "{value}": {why}')


def test_kubernetes_request_target_star(lab):
    answer = kube_get(lab, "*", method="OPTIONS")
    assert status_line(answer) == "HTTP/1.1 200 OK" and b"Content-Length: 0" in answer
    answer = kube_get(lab, "*")
    assert status_line(answer) == "HTTP/1.1 404 Not Found" and body_of(answer) == b"404 page not found\n"


def test_kubernetes_deeply_nested_json_is_a_400(lab):
    answer = kube_get(lab, "/api/v1/namespaces", "POST", b"[" * 100_000 + b"]" * 100_000)
    status = json.loads(body_of(answer))
    assert status_line(answer) == "HTTP/1.1 400 Bad Request" and status["reason"] == "BadRequest"


def pve_post(lab, body: bytes, ctype: str) -> bytes:
    req = (f"POST /api2/json/nodes/pve/qemu HTTP/1.1\r\nHost: p\r\n{pve_auth(lab)}Content-Type: {ctype}\r\n"
           f"Content-Length: {len(body)}\r\n\r\n").encode()
    return exchange(pve(lab)["port"], req + body, tls=True)


def test_proxmox_form_body_that_is_not_utf8_is_a_parameter_error(lab):
    answer = pve_post(lab, b"\xff=1", "application/x-www-form-urlencoded")
    assert status_line(answer).startswith("HTTP/1.1 400 ")
    assert "errors" in json.loads(body_of(answer))


def test_proxmox_json_body_that_is_not_an_object_is_a_501(lab):
    answer = pve_post(lab, b"[]", "application/json")
    assert status_line(answer) == "HTTP/1.1 501 Not a HASH reference"


def test_proxmox_chunked_body_is_refused_as_pveproxy_does(lab):
    req = (f"POST /api2/json/nodes/pve/qemu HTTP/1.1\r\nHost: p\r\n{pve_auth(lab)}Transfer-Encoding: chunked\r\n"
           f"\r\n5\r\nvmid=\r\n0\r\n\r\n").encode()
    answer = exchange(pve(lab)["port"], req, tls=True)
    assert status_line(answer) == "HTTP/1.1 501 chunked transfer encoding not supported"


def control_call(lab, body: bytes, extra: str = "", method: str = "clock/now") -> bytes:
    c = control(lab)
    head = f"POST /v1/{method} HTTP/1.0\r\nAuthorization: Bearer {c.token}\r\n{extra}"
    if "Content-Length" not in extra:
        head += f"Content-Length: {len(body)}\r\n"
    return exchange(c.port, head.encode() + b"\r\n" + body)


def test_control_content_length_abc_is_a_400(lab):
    answer = control_call(lab, b"{}", "Content-Length: abc\r\n")
    assert status_line(answer) == "HTTP/1.0 400 Bad Request"
    assert json.loads(body_of(answer))["error"]["code"] == "InvalidArgument"


def test_control_body_that_is_not_an_object_is_a_400(lab):
    answer = control_call(lab, b"[]")
    assert status_line(answer).startswith("HTTP/1.0 400 ")
    assert json.loads(body_of(answer))["error"] == {"code": "InvalidArgument", "message": "body is not a JSON object"}


@pytest.mark.parametrize("seconds", ['"inf"', "Infinity", "NaN", "-1", '"10"', "1e400"])
def test_control_sleep_for_a_non_number_is_refused_at_once(lab, seconds):
    started = time.monotonic()
    answer = control_call(lab, f'{{"seconds": {seconds}}}'.encode(), method="clock/sleep")
    assert time.monotonic() - started < 1
    assert json.loads(body_of(answer))["error"]["code"] == "InvalidArgument"


def test_control_wall_clock_sleep_ends_when_the_client_goes_away():
    pace = Pace(VirtualClock())
    pace.follow_wall(1.0)
    server = ControlServer(pace).start()
    try:
        sock = socket.create_connection(("127.0.0.1", server.port))
        body = b'{"seconds": 3600}'
        sock.sendall(f"POST /v1/clock/sleep HTTP/1.0\r\nAuthorization: Bearer {server.token}\r\n"
                     f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        wait_for(lambda: server.threads == 1, 5, "the sleep to start")
        sock.close()
        wait_for(lambda: server.connections == 0, 5, "the sleeping call to notice its client left")
    finally:
        server.stop()


def test_a_client_leaving_early_leaves_no_traceback(lab, capfd):
    c = control(lab)
    for _ in range(20):
        sock = socket.create_connection(("127.0.0.1", c.port))
        sock.sendall(f"POST /v1/clock/now HTTP/1.0\r\nAuthorization: Bearer {c.token}\r\nContent-Length: 2\r\n\r\n{{}}"
                     .encode())
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.close()                                # a reset: the answer meets a BrokenPipe / ConnectionReset
    lab.probes["control"]()
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err


def test_an_idle_connection_to_the_tool_launcher_hangs_no_tool(lab):
    path = lab.endpoints["tools"]["env"]["LABSIM_ZYGOTE"]
    idle = []
    for payload in (b"", b"\x00\x00", b"\x00\x00\x10\x00" + b"x" * 10):   # nothing, half a header, half a request
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        s.sendall(payload)
        idle.append(s)
    env = {**os.environ, **lab.sim.talos.tool_env(), "PYTHONPATH": str(ROOT)}
    started = time.monotonic()
    r = subprocess.run([sys.executable, "-S", str(ROOT / "labsim" / "fakes" / "bin" / "cilium"), "version", "--client"],
                       env=env, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and r.stdout.startswith("cilium-cli: v"), r.stderr
    assert time.monotonic() - started < 5
    for s in idle:
        s.close()


def test_faces_stop_at_once(lab):
    for server in [control(lab), kube(lab), lab.sim.proxmox, lab.sim.routeros["crs305-01"]]:
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 0.3, server.name
