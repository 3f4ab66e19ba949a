"""The control API: how the fake command-line tools (`labsim/fakes/bin/talosctl`, `labsim/fakes/bin/helm`) reach the world.

A real `talosctl` speaks gRPC to apid on each node's port 50000; the fake one speaks HTTP+JSON to this
server on 127.0.0.1, which hands each call to the system that owns it (the Talos world answers what
machined/apid would). One server per simulated lab, with a random bearer token per lab, so a tool can only
reach the lab whose endpoints it was given:

    LABSIM_CONTROL_URL    http://127.0.0.1:PORT
    LABSIM_CONTROL_TOKEN  the lab's token (sent as `Authorization: Bearer ...`)
    LABSIM_PYTHON         the interpreter the fake tools run under (the lab's own)

Wire: `POST /v1/<service>/<method>` with a JSON object; the answer is `{"result": ...}` or
`{"error": {"code": "AlreadyExists", "message": "..."}}` (gRPC status names: tools print them as talosctl
prints a gRPC error). A method that returns a generator streams: one JSON object per line
(`application/x-ndjson`), as a gRPC server stream would.

Waiting: a tool that waits (`talosctl health --wait-timeout`, `helm --wait`) must not sleep in real time
while the world runs in virtual time. Server-side waits call `pace.sleep(dt)`, and a tool that polls calls
`clock/sleep`: both advance the virtual clock (running every event due on the way) unless the lab follows
the wall clock (`serve`), where they wait for real time to pass instead. See `Pace`.
"""
from __future__ import annotations

import hmac
import json
import secrets
import sys
import threading
import time
import traceback
import types
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

BIN = Path(__file__).resolve().parent / "bin"
MAX_BODY = 32 * 1024 * 1024
MAX_SLEEP = 24 * 3600.0


class ControlError(Exception):
    """A failure a tool reports to its user: a gRPC status code name and the server's message."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


class Pace:
    """How waits inside the control API pass: virtual time (CI) or the wall clock (`serve`)."""

    def __init__(self, clock):
        self.clock = clock
        self.scale: float | None = None   # None: advance virtual time; else follow the wall at this rate

    def follow_wall(self, scale: float) -> None:
        self.scale = scale

    def now(self) -> float:
        return self.clock.now()

    def sleep(self, seconds: float) -> None:
        seconds = min(max(0.0, float(seconds)), MAX_SLEEP)
        if self.scale is None:
            self.clock.sleep(seconds)
            return
        target = self.clock.now() + seconds   # the lab's driver thread moves the clock
        while self.clock.now() < target:
            time.sleep(min(0.05, max(0.001, (target - self.clock.now()) / self.scale)))


Handler = Callable[[str, dict[str, Any]], Any]


class ControlServer:
    def __init__(self, pace: Pace, *, host: str = "127.0.0.1", token: str | None = None):
        self.pace = pace
        self.token = token or secrets.token_urlsafe(24)
        self.services: dict[str, Handler] = {"clock": self._clock}
        self.calls: list[tuple[str, str]] = []     # (service, method) in arrival order, for tests
        self.extra_env: dict[str, str] = {}        # more for the tools' environment (labsim/fakes/tools/zygote.py)
        self._httpd = ThreadingHTTPServer((host, 0), _handler_class(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def register(self, service: str, handler: Handler) -> None:
        """`handler(method, body)` returns a JSON-able result, a generator of them (a stream), or raises
        ControlError."""
        self.services[service] = handler

    def env(self) -> dict[str, str]:
        """What a tool needs in its environment to reach this lab (PATH is the caller's to extend)."""
        return {"LABSIM_CONTROL_URL": self.url, "LABSIM_CONTROL_TOKEN": self.token, "LABSIM_PYTHON": sys.executable,
                **self.extra_env}

    def start(self) -> ControlServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="labsim-control", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread:   # shutdown() waits for a serve_forever that never ran when the lab was not started
            self._httpd.shutdown()
            self._thread.join(timeout=5)
        self._httpd.server_close()

    def _clock(self, method: str, body: dict[str, Any]) -> Any:
        if method == "now":
            return {"now": self.pace.now()}
        if method == "sleep":
            self.pace.sleep(float(body.get("seconds", 0)))
            return {"now": self.pace.now()}
        raise ControlError("Unimplemented", f"unknown method clock/{method}")


def _handler_class(server: ControlServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"   # a stream ends when the connection closes

        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def do_POST(self) -> None:
            auth = self.headers.get("Authorization", "")
            if not hmac.compare_digest(auth.encode(), f"Bearer {server.token}".encode()):
                return self._send(401, {"error": {"code": "Unauthenticated", "message": "bad control token"}})
            parts = self.path.strip("/").split("/")
            if len(parts) != 3 or parts[0] != "v1" or parts[1] not in server.services:
                return self._send(404, {"error": {"code": "Unimplemented", "message": f"unknown call {self.path}"}})
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                return self._send(413, {"error": {"code": "ResourceExhausted", "message": "request too large"}})
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                return self._send(400, {"error": {"code": "InvalidArgument", "message": "body is not JSON"}})
            server.calls.append((parts[1], parts[2]))
            try:
                result = server.services[parts[1]](parts[2], body)
            except ControlError as exc:
                return self._send(200, {"error": {"code": exc.code, "message": exc.message}})
            except Exception as exc:  # noqa: BLE001 - a simulator bug: say so instead of dropping the line
                traceback.print_exc()
                return self._send(200, {"error": {"code": "Internal", "message": f"simulator error: {exc!r}"}})
            if isinstance(result, types.GeneratorType):
                return self._stream(result)
            self._send(200, {"result": result})

        def _stream(self, items) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/x-ndjson")
            self.end_headers()
            try:
                for item in items:
                    self._line({"result": item})
            except ControlError as exc:
                self._line({"error": {"code": exc.code, "message": exc.message}})
            except (BrokenPipeError, ConnectionResetError):
                items.close()
            except Exception as exc:  # noqa: BLE001
                traceback.print_exc()
                self._line({"error": {"code": "Internal", "message": f"simulator error: {exc!r}"}})

        def _line(self, obj: dict[str, Any]) -> None:
            self.wfile.write(json.dumps(obj).encode() + b"\n")
            self.wfile.flush()

        def _send(self, status: int, obj: dict[str, Any]) -> None:
            data = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler
