"""The fake tools' side of the control API (see labsim/fakes/control.py): one JSON call, or a stream of them.

A plain HTTP/1.0 exchange over a socket (the server closes the connection at the end of an answer): it keeps
a fake tool's start-up short, as every talosctl call is a new process.
"""
from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from typing import Any, BinaryIO
from urllib.parse import urlsplit


class ControlUnavailable(RuntimeError):
    pass


class RpcError(Exception):
    """A gRPC-style error from the lab, printed by the tools as `rpc error: code = X desc = Y`."""

    def __init__(self, code: str, message: str):
        super().__init__(f"rpc error: code = {code} desc = {message}")
        self.code, self.message = code, message


def _open(service: str, method: str, body: dict[str, Any]) -> tuple[str, BinaryIO]:
    """POST the call; returns the answer's content type and its body as a stream."""
    url = os.environ.get("LABSIM_CONTROL_URL")
    token = os.environ.get("LABSIM_CONTROL_TOKEN", "")
    if not url:
        raise ControlUnavailable("LABSIM_CONTROL_URL is not set: this fake tool only talks to a simulated lab "
                                 "(see `python -m labsim.fakes serve`)")
    parts = urlsplit(url)
    data = json.dumps(body).encode()
    head = (f"POST /v1/{service}/{method} HTTP/1.0\r\nHost: {parts.netloc}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n").encode()
    try:
        sock = socket.create_connection((parts.hostname, parts.port), timeout=3600)
        sock.sendall(head + data)
        f = sock.makefile("rb")
        sock.close()     # the file keeps the connection open until it is closed itself
        status = f.readline().split()
        ctype = ""
        while line := f.readline().strip():
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-type":
                ctype = value.strip()
    except OSError as exc:
        raise ControlUnavailable(f"control API unreachable: {exc}") from None
    if len(status) < 2 or status[1] != b"200":
        detail = json.loads(f.read() or b"{}").get("error", {})
        f.close()
        raise ControlUnavailable(f"control API: {b' '.join(status[1:]).decode()} {detail.get('message', '')}")
    return ctype, f


def _unwrap(obj: dict[str, Any]) -> Any:
    if "error" in obj:
        raise RpcError(obj["error"].get("code", "Unknown"), obj["error"].get("message", ""))
    return obj.get("result")


def call(service: str, method: str, body: dict[str, Any]) -> Any:
    _, f = _open(service, method, body)
    with f:
        return _unwrap(json.loads(f.read()))


def stream(service: str, method: str, body: dict[str, Any]) -> Iterator[Any]:
    ctype, f = _open(service, method, body)
    with f:
        if ctype.startswith("application/json"):
            yield _unwrap(json.loads(f.read()))
            return
        for line in f:
            if line.strip():
                yield _unwrap(json.loads(line))


def sleep(seconds: float) -> None:
    """Wait `seconds` of the lab's time (virtual in CI): never time.sleep in a fake tool."""
    call("clock", "sleep", {"seconds": seconds})


def now() -> float:
    return float(call("clock", "now", {})["now"])
