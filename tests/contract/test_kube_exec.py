"""`pods/exec` on the simulated Kubernetes API server, reached the way engineers and lab code reach it:
`kubectl exec` (WebSocket, v5.channel.k8s.io) and the `kubernetes` client's `stream()` (v5/v4), plus the raw
protocol for the older and base64 subprotocols."""
from __future__ import annotations

import json
import ssl
import subprocess
import time

import pytest
import websocket
from kubernetes import client
from kubernetes.stream import stream

from labsim.fakes import kube_exec as X
from labsim.fakes.kube.testing import find_kubectl, start_kube_lab

NS = "rook-ceph"
pytestmark = pytest.mark.skipif(find_kubectl() is None, reason="kubectl is not installed")


def _tool(req: X.ExecRequest) -> X.ExecResult:
    args = req.command[1:]
    if args == ["status"]:
        return X.ExecResult(b"HEALTH_OK\n")
    if args == ["fail"]:
        return X.ExecResult(b"", b"Error EINVAL: invalid command\n", 22)
    return X.ExecResult(("args: " + " ".join(args) + "\n").encode())


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    with start_kube_lab(tmp_path_factory.mktemp("exec"), workers=1) as lab:
        c = lab.cluster
        c.create("namespaces", {"metadata": {"name": NS}})
        labels = {"app": "rook-ceph-tools"}
        c.create("deployments.apps", {"metadata": {"name": "rook-ceph-tools", "labels": labels}, "spec": {
            "replicas": 1, "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                {"name": "rook-ceph-tools", "image": "quay.io/ceph/ceph:v19.2.3"}]}}}}, NS)
        lab.clock.sleep(30)
        X.registry(c).register(NS, labels, "rook-ceph-tools", {"ceph": _tool})
        lab.pod = c.list("pods", NS)[0]["metadata"]["name"]
        yield lab


def test_kubectl_exec_runs_the_program_and_passes_its_output(lab):
    r = lab.kubectl("-n", NS, "exec", "deploy/rook-ceph-tools", "--", "ceph", "status")
    assert (r.returncode, r.stdout, r.stderr) == (0, "HEALTH_OK\n", "")


def test_kubectl_exec_reports_the_exit_code(lab):
    r = lab.kubectl("-n", NS, "exec", "deploy/rook-ceph-tools", "--", "ceph", "fail")
    assert r.returncode == 22
    assert r.stderr == "Error EINVAL: invalid command\ncommand terminated with exit code 22\n"


def test_an_unknown_executable_fails_as_containerd_says(lab):
    r = lab.kubectl("-n", NS, "exec", lab.pod, "--", "rados", "df")
    assert r.returncode == 1
    assert r.stderr.startswith("error: Internal error occurred: error executing command in container: failed to "
                               "exec in container: failed to start exec ")
    assert r.stderr.rstrip().endswith('exec: "rados": executable file not found in $PATH: unknown')


def test_stdin_and_shell_wrapping(lab):
    r = lab.kubectl("-n", NS, "exec", "-i", lab.pod, "--", "cat", input="hello\n")
    assert (r.returncode, r.stdout) == (0, "hello\n")
    r = lab.kubectl("-n", NS, "exec", lab.pod, "--", "sh", "-c", "ceph status")
    assert r.stdout == "HEALTH_OK\n"


def test_bad_targets_are_refused_before_the_upgrade(lab):
    r = lab.kubectl("-n", NS, "exec", lab.pod, "-c", "nope", "--", "ceph", "status")
    assert r.returncode == 1 and "container nope is not valid for pod" in r.stderr
    r = lab.kubectl("-n", NS, "exec", "no-such-pod", "--", "ceph", "status")
    assert r.returncode == 1 and 'pods "no-such-pod" not found' in r.stderr


def test_the_python_client_stream(lab):
    v1 = client.CoreV1Api(lab.api_client())
    out = stream(v1.connect_get_namespaced_pod_exec, lab.pod, NS, command=["ceph", "a", "b"],
                 stderr=True, stdin=False, stdout=True, tty=False)
    assert out == "args: a b\n"
    resp = stream(v1.connect_get_namespaced_pod_exec, lab.pod, NS, command=["ceph", "fail"],
                  stderr=True, stdin=False, stdout=True, tty=False, _preload_content=False)
    resp.run_forever(timeout=10)
    assert resp.returncode == 22
    assert resp.read_stderr() == "Error EINVAL: invalid command\n"


def _raw(lab, protocol: str, command: list[str]) -> tuple[str, list[bytes]]:
    server = lab.server
    crt, key = server.client_cert()
    url = (f"wss://127.0.0.1:{server.port}/api/v1/namespaces/{NS}/pods/{lab.pod}/exec?"
           + "&".join(f"command={c}" for c in command) + "&stdout=true&stderr=true")
    ws = websocket.WebSocket(sslopt={"cert_reqs": ssl.CERT_REQUIRED, "ca_certs": server.ca.cert_path,
                                     "certfile": str(crt), "keyfile": str(key)})
    ws.connect(url, header=[f"sec-websocket-protocol: {protocol}"])
    frames = []
    while True:
        op, frame = ws.recv_data_frame(True)
        if op == websocket.ABNF.OPCODE_CLOSE:
            break
        frames.append(frame.data)
    return (ws.getheaders() or {}).get("sec-websocket-protocol"), frames


@pytest.mark.parametrize("protocol", ["v4.channel.k8s.io", "channel.k8s.io"])
def test_binary_subprotocols_frame_each_channel(lab, protocol):
    chosen, frames = _raw(lab, protocol, ["ceph", "status"])
    assert chosen == protocol
    assert frames[0] == b"\x01HEALTH_OK\n"
    assert frames[-1][:1] == b"\x03" and json.loads(frames[-1][1:]) == {"metadata": {}, "status": "Success"}


def test_the_base64_subprotocol_encodes(lab):
    _, frames = _raw(lab, "v4.base64.channel.k8s.io", ["ceph", "status"])
    assert frames[0] == b"1SEVBTFRIX09LCg=="


def test_a_failure_status_carries_the_exit_code(lab):
    _, frames = _raw(lab, "v4.channel.k8s.io", ["ceph", "fail"])
    status = json.loads(frames[-1][1:])
    assert status["reason"] == "NonZeroExitCode"
    assert status["details"]["causes"] == [{"reason": "ExitCode", "message": "22"}]


def test_spdy_is_the_declared_deviation(lab):
    env = {**lab.env(), "KUBECTL_REMOTE_COMMAND_WEBSOCKETS": "false"}
    r = subprocess.run([find_kubectl(), "-n", NS, "exec", lab.pod, "--", "ceph", "status"], env=env,
                       capture_output=True, text=True, timeout=60, check=False)
    assert r.returncode == 1 and "not SPDY/3.1" in r.stderr


def test_output_waits_for_the_clients_streams(lab):
    """kubectl <= 1.33 drops a message that arrives before it has created its streams and then exits 0 with
    no output (kubernetes/kubernetes#131203): the first message comes START_LATENCY after the upgrade."""
    server = lab.server
    crt, key = server.client_cert()
    url = f"wss://127.0.0.1:{server.port}/api/v1/namespaces/{NS}/pods/{lab.pod}/exec?command=ceph&command=status" \
          "&stdout=true&stderr=true"
    ws = websocket.WebSocket(sslopt={"cert_reqs": ssl.CERT_REQUIRED, "ca_certs": server.ca.cert_path,
                                     "certfile": str(crt), "keyfile": str(key)})
    ws.connect(url, header=["sec-websocket-protocol: v5.channel.k8s.io"])
    t0 = time.monotonic()
    _, frame = ws.recv_data_frame(True)
    assert frame.data == b"\x01HEALTH_OK\n"
    assert time.monotonic() - t0 >= X.START_LATENCY * 0.8    # the 101 left the server just before t0
    ws.close()



def test_the_python_client_negotiates_v5_and_closes_stdin(lab):
    """`stream()` with stdin: the client writes, then half-closes stdin (v5 CLOSE), and the command sees it."""
    v1 = client.CoreV1Api(lab.api_client())
    resp = stream(v1.connect_get_namespaced_pod_exec, lab.pod, NS, command=["cat"], stderr=True, stdin=True,
                  stdout=True, tty=False, _preload_content=False)
    assert resp.subprotocol == "v5.channel.k8s.io"
    resp.write_stdin("lab\n")
    resp.close_channel(0)
    resp.run_forever(timeout=10)
    assert (resp.returncode, resp.read_stdout()) == (0, "lab\n")


def _upgraded(lab, query: str):
    """A raw TLS socket after a WebSocket upgrade of an exec with stdin: we write the frames ourselves."""
    import base64
    import os
    import socket
    server = lab.server
    crt, key = server.client_cert()
    ctx = ssl.create_default_context(cafile=server.ca.cert_path)
    ctx.load_cert_chain(str(crt), str(key))
    sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", server.port), timeout=10),
                           server_hostname="127.0.0.1")
    path = f"/api/v1/namespaces/{NS}/pods/{lab.pod}/exec?{query}"
    sock.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n"
                  "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: v5.channel.k8s.io\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101 ")
    return sock


def _close_code(sock) -> int:
    data = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            raise AssertionError(f"no close frame in {data!r}")
        data += chunk
        i = 0
        while i + 2 <= len(data):
            op, n = data[i] & 0x0F, data[i + 1] & 0x7F
            if op == 0x8 and i + 4 <= len(data):
                return int.from_bytes(data[i + 2:i + 4], "big")
            i += 2 + n


def test_an_unmasked_client_frame_closes_with_a_protocol_error(lab):
    sock = _upgraded(lab, "command=cat&stdin=true&stdout=true")
    sock.sendall(b"\x82\x04\x00lab")             # a binary frame from a client, without a mask
    assert _close_code(sock) == 1002
    sock.close()


def test_a_message_over_the_limit_closes_with_1009(lab):
    import os
    import struct
    from labsim.fakes.kube.websocket import MAX_MESSAGE
    sock = _upgraded(lab, "command=cat&stdin=true&stdout=true")
    payload = b"\x00" + b"x" * MAX_MESSAGE
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    sock.sendall(b"\x82\xff" + struct.pack("!Q", len(payload)) + mask + masked)
    assert _close_code(sock) == 1009
    sock.close()
