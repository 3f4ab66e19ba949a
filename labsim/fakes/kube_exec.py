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

What runs: the world registers, per namespace, pod labels and container, the executables that container has
(`registry(cluster).register(...)`); a program it lacks fails as containerd fails it
(`exec: "x": executable file not found in $PATH`). One route in the kube server calls `serve`.

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
import hashlib
import json
import re
import shlex
import struct
import time
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
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


_REGISTRIES: weakref.WeakKeyDictionary[Any, ExecRegistry] = weakref.WeakKeyDictionary()


def registry(cluster: Any) -> ExecRegistry:
    """The exec registry of one simulated Kubernetes cluster."""
    if cluster not in _REGISTRIES:
        _REGISTRIES[cluster] = ExecRegistry()
    return _REGISTRIES[cluster]


# --- programs every container has (a busybox-ish minimum) ---------------------------------------------------------
def _echo(req: ExecRequest) -> ExecResult:
    return ExecResult(" ".join(req.command[1:]).encode() + b"\n")


BUILTINS: dict[str, Program] = {
    "echo": _echo, "true": lambda req: ExecResult(), "false": lambda req: ExecResult(exit_code=1),
    "cat": lambda req: ExecResult(req.stdin),
    "hostname": lambda req: ExecResult((req.pod["metadata"]["name"] + "\n").encode()),
}


def run(req: ExecRequest, image: Image | None) -> ExecResult | str:
    """Run a command in a container: its result, or the runtime's error text when it cannot start."""
    programs = {**BUILTINS, **(image.programs if image else {})}
    argv = req.command
    prog = argv[0].rsplit("/", 1)[-1] if argv else ""
    if prog in ("sh", "bash") and len(argv) >= 3 and argv[1] == "-c" and prog not in (image.programs if image else {}):
        inner = shlex.split(argv[2])
        if inner and inner[0].rsplit("/", 1)[-1] in programs:
            return run(ExecRequest(req.namespace, req.pod, req.container, inner, req.stdin, req.tty), image)
        return ExecResult(stderr=f"{prog}: {inner[0] if inner else ''}: command not found\n".encode(), exit_code=127)
    if prog not in programs:
        return (f'failed to exec in container: failed to start exec "{uuid.uuid4().hex}{uuid.uuid4().hex}": '
                f"OCI runtime exec failed: exec failed: unable to start container process: exec: \"{argv[0]}\": "
                "executable file not found in $PATH: unknown")
    return programs[prog](req)


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
    offered = [p.strip() for p in (h.headers.get("Sec-WebSocket-Protocol") or "").split(",") if p.strip()]
    proto = next((p for p in offered if p in BINARY | BASE64), None)
    if offered and proto is None:
        return _http_error(h, _status(403, "Forbidden", f"requested protocol(s) are not supported: {offered}; "
                                                        f"supports {sorted(BINARY | BASE64)}"))
    key = h.headers.get("Sec-WebSocket-Key") or ""
    accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
    h.send_response(101, "Switching Protocols")
    h.send_header("Upgrade", "websocket")
    h.send_header("Connection", "Upgrade")
    h.send_header("Sec-WebSocket-Accept", accept)
    if proto:
        h.send_header("Sec-WebSocket-Protocol", proto)
    h.end_headers()
    h.wfile.flush()
    upgraded = time.monotonic()
    ws = _Socket(h, b64=proto in BASE64, v5=bool(proto and proto.startswith("v5.")))
    stdin = ws.read_stdin() if _flag(q, "stdin") else b""
    req = ExecRequest(ns, pod, container, command, stdin, _flag(q, "tty"))
    result = run(req, registry(cluster).image(pod, container))
    _wait_for_streams(upgraded, _flag(q, "stdin"))
    if isinstance(result, str):
        msg = f"error executing command in container: {result}"
        status = {"metadata": {}, "status": "Failure", "message": f"Internal error occurred: {msg}",
                  "reason": "InternalError", "details": {"causes": [{"message": msg}]}, "code": 500}
    else:
        out, errb = result.stdout, result.stderr
        if req.tty:
            out, errb = out + errb, b""
        if _flag(q, "stdout") and out:
            ws.send(STDOUT, out)
        if _flag(q, "stderr") and errb:
            ws.send(STDERR, errb)
        if result.exit_code == 0:
            status = {"metadata": {}, "status": "Success"}
        else:
            status = {"metadata": {}, "status": "Failure",
                      "message": f"command terminated with non-zero exit code: error executing command "
                                 f"[{' '.join(command)}], exit code {result.exit_code}",
                      "reason": "NonZeroExitCode",
                      "details": {"causes": [{"reason": "ExitCode", "message": str(result.exit_code)}]}}
    ws.send(ERROR, json.dumps(status, separators=(",", ":")).encode())
    ws.close()


def _wait_for_streams(upgraded: float, stdin: bool) -> None:
    """Hold the first message until the client has had time to create its streams (see the module's docstring)."""
    if not stdin:
        time.sleep(max(0.0, upgraded + START_LATENCY - time.monotonic()))


class _Socket:
    """Server side of RFC 6455 on the handler's buffered streams: unmasked frames out, masked frames in."""

    def __init__(self, h, *, b64: bool, v5: bool):
        self.rfile, self.wfile, self.conn = h.rfile, h.wfile, h.connection
        self.b64, self.v5 = b64, v5

    def _frame(self, opcode: int, payload: bytes) -> None:
        n = len(payload)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([n])
        elif n < 1 << 16:
            head += bytes([126]) + struct.pack("!H", n)
        else:
            head += bytes([127]) + struct.pack("!Q", n)
        self.wfile.write(head + payload)
        self.wfile.flush()

    def send(self, channel: int, data: bytes) -> None:
        if self.b64:
            self._frame(0x1, (str(channel) + base64.b64encode(data).decode()).encode())
        else:
            self._frame(0x2, bytes([channel]) + data)

    def recv(self) -> tuple[int, bytes] | None:
        """One message (opcode, payload), pings answered on the way; None when the peer is gone."""
        data, first_op = b"", None
        while True:
            head = self.rfile.read(2)
            if len(head) < 2:
                return None
            fin, op, masked, n = head[0] & 0x80, head[0] & 0x0F, head[1] & 0x80, head[1] & 0x7F
            if n == 126:
                n = struct.unpack("!H", self.rfile.read(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self.rfile.read(8))[0]
            mask = self.rfile.read(4) if masked else b"\0\0\0\0"
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(self.rfile.read(n)))
            if op == 0x9:                 # ping
                self._frame(0xA, payload)
                continue
            if op == 0xA:                 # pong
                continue
            if op == 0x8:
                return 0x8, payload
            first_op = first_op if op == 0 else op
            data += payload
            if fin:
                return first_op or 0x2, data

    def read_stdin(self) -> bytes:
        """Collect stdin until the client half-closes it (v5), closes the socket, or goes quiet."""
        buf = b""
        self.conn.settimeout(STDIN_TIMEOUT)
        try:
            while True:
                msg = self.recv()
                if msg is None or msg[0] == 0x8:
                    break
                data = msg[1]
                if self.b64 and data:
                    data = bytes([data[0] - ord("0")]) + base64.b64decode(data[1:])
                if self.v5 and data[:1] == bytes([CLOSE]) and data[1:2] == bytes([STDIN]):
                    break
                if data[:1] == bytes([STDIN]):
                    buf += data[1:]
        except (TimeoutError, OSError):
            pass
        return buf

    def close(self) -> None:
        try:
            self._frame(0x8, struct.pack("!H", 1000))
            self.conn.settimeout(2.0)
            while True:                    # wait for the client's close (or its hang-up)
                msg = self.recv()
                if msg is None or msg[0] == 0x8:
                    break
        except (TimeoutError, OSError, ValueError):
            pass
