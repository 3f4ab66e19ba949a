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
import math
import secrets
import sys
import time
import traceback
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

from labsim.fakes.face import BadRequest, HttpFace, HttpHandler, Limits

BIN = Path(__file__).resolve().parent / "bin"
MAX_SLEEP = 24 * 3600.0
# Ours (the control API is the simulator's own protocol): a tool's call is one small JSON object; streams and
# waits in wall-clock mode may last, so no write timeout shorter than a tool's longest wait.
LIMITS = Limits(handshake_timeout=10.0, idle_timeout=10.0, header_timeout=10.0, body_timeout=30.0,
                write_timeout=3600.0, max_connections=256, max_header_bytes=64 * 1024, max_body_bytes=32 << 20)


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

    def sleep(self, seconds: float, cancelled: Callable[[], bool] = lambda: False) -> None:
        """Wait `seconds` of lab time (at most a day); `cancelled` ends a wall-clock wait early (the caller
        hung up, the lab is stopping)."""
        seconds = min(max(0.0, float(seconds)), MAX_SLEEP)
        if self.scale is None:
            self.clock.sleep(seconds)
            return
        target = self.clock.now() + seconds   # the lab's driver thread moves the clock
        while self.clock.now() < target and not cancelled():
            time.sleep(min(0.05, max(0.001, (target - self.clock.now()) / self.scale)))


Handler = Callable[[str, dict[str, Any]], Any]


class ControlServer(HttpFace):
    limits = LIMITS

    def __init__(self, pace: Pace, *, host: str = "127.0.0.1", token: str | None = None):
        super().__init__("labsim-control", host=host, kind="control API")
        self.pace = pace
        self.token = token or secrets.token_urlsafe(24)
        self.services: dict[str, Handler] = {"clock": self._clock}
        self.calls: list[tuple[str, str]] = []     # (service, method) in arrival order, for tests
        self.extra_env: dict[str, str] = {}        # more for the tools' environment (labsim/fakes/tools/zygote.py)
        self.handler_class = _handler_class(self)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def revive(self) -> ControlServer:
        self.handler_class = _handler_class(self)   # the copied class still serves the server it was made for
        return super().revive()

    def register(self, service: str, handler: Handler) -> None:
        """`handler(method, body)` returns a JSON-able result, a generator of them (a stream), or raises
        ControlError."""
        self.services[service] = handler

    def env(self) -> dict[str, str]:
        """What a tool needs in its environment to reach this lab (PATH is the caller's to extend)."""
        return {"LABSIM_CONTROL_URL": self.url, "LABSIM_CONTROL_TOKEN": self.token, "LABSIM_PYTHON": sys.executable,
                **self.extra_env}

    def protocol_error(self, handler: HttpHandler, bad: BadRequest) -> None:
        code = "ResourceExhausted" if bad.status in (413, 431) else "InvalidArgument"
        message = {"body-too-large": "request too large", "content-length": f"bad Content-Length {bad.detail!r}",
                   "header-too-large": "request head too large"}.get(bad.reason, f"bad request: {bad.reason}")
        _send(handler, bad.status if bad.status in (400, 413, 431, 501) else 400,
              {"error": {"code": code, "message": message}})

    def _clock(self, method: str, body: dict[str, Any], cancelled: Callable[[], bool] = lambda: False) -> Any:
        if method == "now":
            return {"now": self.pace.now()}
        if method == "sleep":
            seconds = body.get("seconds", 0)
            if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not math.isfinite(seconds) \
                    or seconds < 0:
                raise ControlError("InvalidArgument", f"clock/sleep: seconds must be a finite number >= 0, "
                                                      f"not {seconds!r}")
            self.pace.sleep(seconds, cancelled)
            return {"now": self.pace.now()}
        raise ControlError("Unimplemented", f"unknown method clock/{method}")


def _send(h: HttpHandler, status: int, obj: dict[str, Any]) -> None:
    data = json.dumps(obj).encode()
    h.send_response(status)
    h.send_header("Content-Type", "application/json")
    h.send_header("Content-Length", str(len(data)))
    h.end_headers()
    h.wfile.write(data)
    h.close_connection = True


def _handler_class(server: ControlServer) -> type[HttpHandler]:
    class Handler(HttpHandler):
        protocol_version = "HTTP/1.0"   # a stream ends when the connection closes

        def do_POST(self) -> None:
            auth = self.headers.get("Authorization", "")
            if not hmac.compare_digest(auth.encode(), f"Bearer {server.token}".encode()):
                return _send(self, 401, {"error": {"code": "Unauthenticated", "message": "bad control token"}})
            parts = self.path.strip("/").split("/")
            if len(parts) != 3 or parts[0] != "v1" or parts[1] not in server.services:
                return _send(self, 404, {"error": {"code": "Unimplemented", "message": f"unknown call {self.path}"}})
            try:
                body = json.loads(self.read_body() or b"{}")
            except BadRequest as bad:
                return server.protocol_error(self, bad)
            except (ValueError, RecursionError):
                return _send(self, 400, {"error": {"code": "InvalidArgument", "message": "body is not JSON"}})
            if not isinstance(body, dict):
                return _send(self, 400, {"error": {"code": "InvalidArgument", "message": "body is not a JSON object"}})
            server.calls.append((parts[1], parts[2]))
            service = server.services[parts[1]]
            try:
                if service == server._clock:
                    result = server._clock(parts[2], body, self.client_gone)
                else:
                    result = service(parts[2], body)
            except ControlError as exc:
                return _send(self, 200, {"error": {"code": exc.code, "message": exc.message}})
            except Exception as exc:  # noqa: BLE001 - a simulator bug: say so instead of dropping the line
                traceback.print_exc()
                return _send(self, 200, {"error": {"code": "Internal", "message": f"simulator error: {exc!r}"}})
            if isinstance(result, types.GeneratorType):
                return self._stream(result)
            _send(self, 200, {"result": result})

        def _stream(self, items) -> None:
            self.close_connection = True
            self.send_response(200)
            self.send_header("Content-Type", "application/x-ndjson")
            self.end_headers()
            try:
                for item in items:
                    self._line({"result": item})
            except ControlError as exc:
                self._line({"error": {"code": exc.code, "message": exc.message}})
            except OSError:           # the tool went away (BrokenPipe, reset): nobody left to tell
                items.close()
            except Exception as exc:  # noqa: BLE001
                traceback.print_exc()
                self._line({"error": {"code": "Internal", "message": f"simulator error: {exc!r}"}})

        def _line(self, obj: dict[str, Any]) -> None:
            self.wfile.write(json.dumps(obj).encode() + b"\n")
            self.wfile.flush()

    return Handler
