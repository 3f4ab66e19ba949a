"""`pods/exec` on the simulated Kubernetes API server, over the streaming protocol clients use today.

Transport (staging/src/k8s.io/apimachinery/pkg/util/httpstream/wsstream/conn.go; client-go
tools/remotecommand/websocket.go, v4.go, v5.go): a WebSocket upgrade of
`GET /api/v1/namespaces/NS/pods/NAME/exec?command=..&container=..&stdin=..&stdout=..&stderr=..&tty=..`.
The server picks the first subprotocol of the client's list it supports (kubectl 1.32 asks for
`v5.channel.k8s.io` only; the `kubernetes` Python client 37 for `v5.channel.k8s.io,v4.channel.k8s.io`). Every
binary message starts with a channel byte: 0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize; in v5 a message
`[255, ch]` half-closes channel `ch`. When the command ends, the error channel carries a metav1.Status
(`Success`, or `Failure` with reason `NonZeroExitCode` and the exit code as an `ExitCode` cause, or an
`InternalError`) and the server closes the WebSocket (1000). The base64 protocols prefix '0'..'4' and encode.
SPDY/3.1 is not spoken: kubectl only falls back to it when the WebSocket upgrade fails, and then gets the same
error the upgrade got (a deviation only for `KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false`).

What runs: the container's image (labsim/fakes/kube/images.py) says which files, user, environment and shell it
has, and labsim/fakes/kube/shell.py runs the command over it (`sh -c` scripts, echo, cat, id, env, ls, ...);
the world adds, per namespace, pod labels and container, programs of its own (`registry(cluster).register(...)`,
`ceph` in the Rook toolbox). A program the container lacks fails as containerd fails it
(`exec: "x": executable file not found in $PATH`). The WebSocket is framed by wsproto
(labsim/fakes/kube/websocket.py). One route in the kube server calls `serve`.

Output waits for the client's streams. kubectl up to 1.33 (client-go before kubernetes/kubernetes#131203)
starts reading the WebSocket in one goroutine while another still creates the streams; a message for a stream
not created yet is dropped (`Unknown stream id 1, discarding message` on stderr). If the stdout message is
dropped but the error stream already exists, kubectl exits 0 with no output. A real runtime needs tens of
milliseconds to start the process after the upgrade, so the race is rare there; a fake that answered within
microseconds lost output under CPU load (about 1 exec in 400 with 8 parallel kubectl and GOMAXPROCS=16 on
2 cores). So a command without stdin writes its first message no sooner than `START_LATENCY` after the upgrade,
which leaves the client's goroutines that long to create four streams (a command with stdin already waits
for the client to close stdin, which it does only after it has created every stream).
"""
from __future__ import annotations

import base64
import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from labsim.fakes.kube.websocket import WebSocket

BINARY = {"v5.channel.k8s.io", "v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io", "channel.k8s.io"}
BASE64 = {"v5.base64.channel.k8s.io", "v4.base64.channel.k8s.io", "base64.channel.k8s.io"}
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
PATH = re.compile(r"^/api/v1/namespaces/([^/]+)/pods/([^/]+)/exec/?$")
STDIN_TIMEOUT = 30.0     # real seconds a command waits for its stdin to close
START_LATENCY = 0.05     # real seconds from the upgrade to the first output, as a runtime's exec start takes


@dataclass
class ExecRequest:
    namespace: str
    pod: dict[str, Any]
    container: str
    command: list[str]
    stdin: bytes = b""
    tty: bool = False


@dataclass
class ExecResult:
    stdout: bytes = b""
    stderr: bytes = b""
    exit_code: int = 0


Program = Callable[[ExecRequest], ExecResult]


@dataclass
class Image:
    """What one container can run: program name -> handler (argv[0]'s base name)."""
    programs: dict[str, Program] = field(default_factory=dict)


class ExecRegistry:
    def __init__(self) -> None:
        self._entries: list[tuple[str, dict[str, str], str | None, Image]] = []

    def register(self, namespace: str, labels: dict[str, str], container: str | None,
                 programs: dict[str, Program]) -> Image:
        """Pods in `namespace` whose labels include `labels` (container `container`, or any) can run `programs`."""
        image = Image(dict(programs))
        self._entries.insert(0, (namespace, dict(labels), container, image))
        return image

    def image(self, pod: dict[str, Any], container: str) -> Image | None:
        md = pod.get("metadata") or {}
        labels = md.get("labels") or {}
        for ns, want, cont, image in self._entries:
            if ns == md.get("namespace") and all(labels.get(k) == v for k, v in want.items()) \
                    and cont in (None, container):
                return image
        return None


def registry(cluster: Any) -> ExecRegistry:
    """The exec registry of one simulated Kubernetes cluster, kept on the cluster (part of its state: a lab
    checkpoint copies it with the cluster, labsim/fakes/checkpoint.py)."""
    reg = getattr(cluster, "exec_registry", None)
    if reg is None:
        reg = cluster.exec_registry = ExecRegistry()
    return reg


def run(req: ExecRequest, image: Image | None, cluster_ip: str = "", *,
        pause: Callable[[float], None] | None = None,
        flush: Callable[[bytes, bytes], None] | None = None) -> ExecResult | str:
    """Run a command in a container: its result, or the runtime's error text when it cannot start. `pause`
    lets lab time pass (a `sleep`), `flush` sends the output so far (before one)."""
    from labsim.fakes.kube import shell
    from labsim.fakes.kube.images import container_of, image_of
    img = image_of(req.pod, req.container)
    env = shell.environment(req.pod, container_of(req.pod, req.container), img, cluster_ip)
    ctx = shell.Context(req.pod, req.container, img, env, programs=dict(image.programs) if image else {},
                        stdin=req.stdin, request=req, pause=pause, flush=flush)
    try:
        r = shell.run(ctx, list(req.command))
    except shell.RuntimeError_ as exc:
        return (f'failed to exec in container: failed to start exec "{uuid.uuid4().hex}{uuid.uuid4().hex}": '
                f"OCI runtime exec failed: exec failed: unable to start container process: {exc}: unknown")
    return ExecResult(r.stdout, r.stderr, r.exit_code)


# --- HTTP side ---------------------------------------------------------------------------------------------------
def is_exec(path: str) -> bool:
    return bool(PATH.match(urlsplit(path).path))


def _flag(q: dict[str, list[str]], name: str) -> bool:
    return (q.get(name) or ["false"])[-1].lower() in ("true", "1", "t", "yes")


def _status(code: int, reason: str, message: str, details: dict | None = None) -> dict[str, Any]:
    st = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
          "reason": reason, "code": code}
    if details:
        st["details"] = details
    return st


def _http_error(h, status: dict[str, Any]) -> None:
    body = json.dumps(status).encode()
    h.send_response(status["code"])
    h.send_header("Content-Type", "application/json")
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)
    h.wfile.flush()


def _target(cluster: Any, ns: str, name: str, q: dict[str, list[str]]) -> tuple[dict | None, str, dict | None]:
    """(pod, container, error Status) as the apiserver's ExecLocation and the kubelet check them."""
    with cluster.lock:
        pod = cluster.try_get("pods", name, ns)
    if pod is None:
        return None, "", _status(404, "NotFound", f'pods "{name}" not found', {"name": name, "kind": "pods"})
    names = [c["name"] for c in (pod.get("spec") or {}).get("containers") or []]
    container = (q.get("container") or [""])[-1]
    if not container:
        if len(names) != 1:
            return None, "", _status(400, "BadRequest", f"a container name must be specified for pod {name}, "
                                                        f"choose one of: [{' '.join(names)}]")
        container = names[0]
    if container not in names:
        return None, "", _status(400, "BadRequest", f"container {container} is not valid for pod {name}")
    if not (pod.get("spec") or {}).get("nodeName"):
        return None, "", _status(400, "BadRequest", f"pod {name} does not have a host assigned")
    statuses = {s.get("name"): s for s in (pod.get("status") or {}).get("containerStatuses") or []}
    if "running" not in ((statuses.get(container) or {}).get("state") or {}):
        return None, "", _status(400, "BadRequest", f'container not found ("{container}")')
    return pod, container, None


def serve(h, cluster: Any) -> None:
    """Answer one exec request on handler `h` (a BaseHTTPRequestHandler that has read the request line and
    headers, and whose user is authenticated)."""
    h.close_connection = True
    parts = urlsplit(h.path)
    m = PATH.match(parts.path)
    q = parse_qs(parts.query, keep_blank_values=True)
    ns, name = m.group(1), m.group(2)
    pod, container, err = _target(cluster, ns, name, q)
    if err is not None:
        return _http_error(h, err)
    command = q.get("command") or []
    if not command:
        return _http_error(h, _status(400, "BadRequest", "you must specify at least one command for the container"))
    upgrade = (h.headers.get("Upgrade") or "").lower()
    if upgrade.startswith("spdy/"):     # the declared deviation: say so instead of failing obscurely
        return _http_error(h, _status(400, "BadRequest", "labsim: pods/exec is served over WebSocket "
                                                         "(v5.channel.k8s.io) only, not SPDY/3.1"))
    if upgrade != "websocket":
        return _http_error(h, _status(400, "BadRequest", "Upgrade request required"))
    ws = WebSocket.accept(h, BINARY | BASE64, choose=lambda offered: next((p for p in offered
                                                                           if p in BINARY | BASE64), None))
    if ws is None:
        return None
    upgraded = time.monotonic()
    proto = ws.protocol
    chan = _Channels(ws, b64=proto in BASE64, v5=bool(proto and proto.startswith("v5.")))
    stdin = chan.read_stdin() if _flag(q, "stdin") else b""
    req = ExecRequest(ns, pod, container, command, stdin, _flag(q, "tty"))
    with cluster.lock:
        svc = cluster.live("services", "kubernetes", "default")
    cluster_ip = ((svc or {}).get("spec") or {}).get("clusterIP", "")

    def flush(out: bytes, errb: bytes) -> None:
        _wait_for_streams(upgraded, _flag(q, "stdin"))
        if req.tty:
            out, errb = out + errb, b""
        if _flag(q, "stdout") and out:
            chan.send(STDOUT, out)
        if _flag(q, "stderr") and errb:
            chan.send(STDERR, errb)

    # a `sleep` lets the lab's clock pass: other clients go on meanwhile (no lock is held while it waits)
    result = run(req, registry(cluster).image(pod, container), cluster_ip, pause=cluster.clock.wait, flush=flush)
    _wait_for_streams(upgraded, _flag(q, "stdin"))
    if isinstance(result, str):
        msg = f"error executing command in container: {result}"
        status = {"metadata": {}, "status": "Failure", "message": f"Internal error occurred: {msg}",
                  "reason": "InternalError", "details": {"causes": [{"message": msg}]}, "code": 500}
    else:
        flush(result.stdout, result.stderr)
        if result.exit_code == 0:
            status = {"metadata": {}, "status": "Success"}
        else:
            status = {"metadata": {}, "status": "Failure",
                      "message": f"command terminated with non-zero exit code: error executing command "
                                 f"[{' '.join(command)}], exit code {result.exit_code}",
                      "reason": "NonZeroExitCode",
                      "details": {"causes": [{"reason": "ExitCode", "message": str(result.exit_code)}]}}
    chan.send(ERROR, json.dumps(status, separators=(",", ":")).encode())
    ws.close()


def _wait_for_streams(upgraded: float, stdin: bool) -> None:
    """Hold the first message until the client has had time to create its streams (see the module's docstring)."""
    if not stdin:
        time.sleep(max(0.0, upgraded + START_LATENCY - time.monotonic()))


class _Channels:
    """The channel.k8s.io framing over a WebSocket: a channel byte (or digit, base64) before each message."""

    def __init__(self, ws: WebSocket, *, b64: bool, v5: bool):
        self.ws, self.b64, self.v5 = ws, b64, v5

    def send(self, channel: int, data: bytes) -> None:
        if self.b64:
            self.ws.send(str(channel) + base64.b64encode(data).decode())
        else:
            self.ws.send(bytes([channel]) + data)

    def read_stdin(self) -> bytes:
        """Collect stdin until the client half-closes it (v5), closes the socket, or goes quiet."""
        buf = b""
        deadline = time.monotonic() + STDIN_TIMEOUT
        while True:
            msg = self.ws.recv(timeout=max(0.0, deadline - time.monotonic()))
            if msg is None:
                return buf
            data = msg.encode() if isinstance(msg, str) else msg
            if self.b64 and data:
                data = bytes([data[0] - ord("0")]) + base64.b64decode(data[1:])
            if self.v5 and data[:1] == bytes([CLOSE]) and data[1:2] == bytes([STDIN]):
                return buf
            if data[:1] == bytes([STDIN]):
                buf += data[1:]
