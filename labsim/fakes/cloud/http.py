"""The HTTPS server the cloud API faces share (Hetzner Cloud, Cloudflare, Tailscale): TLS with a certificate from the
lab CA for the API's own host name and 127.0.0.1, one thread per connection, HTTP/1.1 keep-alive, bodies bounded,
and a count of the reads and writes each face answered (a second apply must send no write).

A face is an `App`: `handle(Request) -> Response`, which never raises for bad input (it answers as the real API
does); an exception is a bug in the fake and is answered with a 500 naming it. This follows the pattern of
labsim/fakes/proxmox/server.py; when labsim/fakes/face.py (the one server base, issue 19) lands, `ApiServer` moves
onto it and the apps stay as they are.
"""
from __future__ import annotations

import json
import threading
import traceback
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

MAX_BODY = 8 * 1024 * 1024


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Any                    # email.message.Message (case-insensitive)
    body: bytes

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def json(self) -> Any:
        """The JSON body (None when empty); ValueError when it is not JSON."""
        if not self.body.strip():
            return None
        return json.loads(self.body.decode("utf-8"))


@dataclass
class Response:
    status: int
    body: Any = None                 # JSON-able, or bytes as they are
    headers: list[tuple[str, str]] = field(default_factory=list)
    reason: str | None = None


class App(Protocol):
    name: str

    def handle(self, req: Request) -> Response: ...


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, owner: ApiServer):
        self.owner = owner
        super().__init__((owner.host, 0), _Handler)

    def finish_request(self, request, client_address):
        if self.owner.tls is not None:
            try:
                request = self.owner.tls.wrap_socket(request, server_side=True)
            except (OSError, ValueError):
                try:
                    request.close()
                except OSError:
                    pass
                return
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):   # clients hang up, handshakes fail: quiet
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def version_string(self) -> str:
        return self.server.owner.server_header

    def _serve(self) -> None:
        owner = self.server.owner
        length = self.headers.get("Content-Length")
        try:
            n = int(length) if length else 0
        except ValueError:
            n = -1
        if n < 0 or n > MAX_BODY:
            self._send(Response(400 if n < 0 else 413, {"error": "bad request body"}))
            self.close_connection = True
            return
        body = self.rfile.read(n) if n else b""
        parts = urlsplit(self.path)
        req = Request(self.command, parts.path, parse_qs(parts.query, keep_blank_values=True), self.headers, body)
        try:
            resp = owner.app.handle(req)
        except Exception as exc:  # noqa: BLE001 - a bug in the fake: say so, keep the trace
            traceback.print_exc()
            resp = Response(500, {"error": f"simulator error in {owner.app.name}: {exc!r}"})
        owner.count(req, resp)
        self._send(resp)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

    def _send(self, resp: Response) -> None:
        if isinstance(resp.body, bytes):
            data = resp.body
            ctype = None
        elif resp.body is None:
            data, ctype = b"", None
        else:
            data = json.dumps(resp.body, separators=(",", ":")).encode()
            ctype = "application/json"
        self.send_response(resp.status, resp.reason)
        names = {k.lower() for k, _ in resp.headers}
        if ctype and "content-type" not in names:
            self.send_header("Content-Type", ctype)
        for k, v in resp.headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data and self.command != "HEAD":
            self.wfile.write(data)


class ApiServer:
    """One API face on 127.0.0.1 (`tls`: an SSLContext, or None for plain HTTP)."""

    def __init__(self, app: App, *, tls=None, host: str = "127.0.0.1", server_header: str = "nginx"):
        self.app = app
        self.tls = tls
        self.host = host
        self.server_header = server_header
        self.reads = 0
        self.writes = 0
        self.log: list[tuple[str, str, int]] = []       # (method, path, status), for evidence and tests
        self._lock = threading.Lock()
        self._httpd = _Server(self)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    def count(self, req: Request, resp: Response) -> None:
        with self._lock:
            if req.method in ("GET", "HEAD"):
                self.reads += 1
            elif resp.status < 400:
                self.writes += 1
            self.log.append((req.method, req.path, resp.status))
            if len(self.log) > 5000:
                del self.log[:1000]

    def start(self) -> ApiServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name=f"labsim-{self.app.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)
