"""The Proxmox VE API over real HTTPS (what pveproxy answers on port 8006), for `proxmoxer` and `requests`.

Wire behaviour (pve-http-server src/PVE/APIServer/AnyEvent.pm, pve-manager PVE/HTTPServer.pm):
  * `https://127.0.0.1:PORT/api2/json/...`, certificate issued by the lab CA (`labsim.fakes.pki`), never plain HTTP;
  * success: 200, `Content-Type: application/json;charset=UTF-8`, body `{"data": ...}` (+ `total`,
    `changes`), gzip-compressed above 1 KiB when the client accepts it;
  * errors: the message's first line is the HTTP reason phrase; body `{"data":null,"message":"...\\n"}`
    (+ `errors` per parameter on 400); authentication failures (401) have an empty body;
  * authentication before routing: a ticket (cookie `PVEAuthCookie`, CSRF header on non-GET) is preferred
    over an API token (`Authorization: PVEAPIToken=...`); unknown paths answer 501;
  * `/api2/extjs/...` (the GUI's format, Formatter/Standard.pm prepare_response_data): always HTTP 200 once
    authenticated, `{"success":1,"data":...}` (+ `total`, `changes`), or `{"success":0,"data":null,"message":...,
    "status":<code>}` (+ `errors`) where the json format would answer an error status.
"""
from __future__ import annotations

import gzip
import hashlib
import ipaddress
import json
import socket
import threading
import time
import traceback
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from cryptography.hazmat.primitives import serialization

from labsim.fakes.pki import CA
from labsim.fakes.proxmox import api
from labsim.fakes.proxmox import errors as E
from labsim.fakes.proxmox.auth import extract_auth_value
from labsim.fakes.proxmox.cluster import ProxmoxCluster
from labsim.fakes.proxmox.faults import Faults

BASE = "/api2/json"
FORMATS = {"/api2/json": "json", "/api2/extjs": "extjs"}
NO_AUTH = {("POST", "/access/ticket"), ("GET", "/access/ticket"), ("GET", "/access/domains")}
MAX_BODY = 16 * 1024 * 1024


def _reason(text: str) -> str:
    line = text.split("\n", 1)[0].replace("\r", " ")
    return line.encode("latin-1", "replace").decode("latin-1")


def _params_from_body(body: bytes, ctype: str) -> dict[str, str]:
    if not body:
        return {}
    if ctype.startswith("application/json"):
        obj = json.loads(body.decode("utf-8") or "{}")
        out: dict[str, str] = {}
        for k, v in (obj or {}).items():
            if isinstance(v, bool):
                out[k] = "1" if v else "0"
            elif v is None:
                continue
            elif isinstance(v, (list, dict)):
                out[k] = json.dumps(v)
            else:
                out[k] = str(v)
        return out
    return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, handler, owner: ProxmoxServer):
        self.owner = owner
        super().__init__(addr, handler)

    def finish_request(self, request, client_address):   # runs in the request's own thread
        try:
            request = self.owner._ssl.wrap_socket(request, server_side=True)
        except (OSError, ValueError):
            try:
                request.close()
            except OSError:
                pass
            return
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):   # quiet: clients hang up, TLS handshakes fail
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "pve-api-daemon/3.0"
    disable_nagle_algorithm = True     # headers and body go out in separate writes: no 40 ms delayed-ACK stalls
    server: _Server

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _unsupported(self) -> None:
        self._send(501, f"method '{self.command}' not available", None)

    do_HEAD = do_PATCH = do_OPTIONS = _unsupported   # type: ignore[assignment]

    # --- answers ------------------------------------------------------------------------------------
    def _send(self, status: int, reason: str, payload: dict[str, Any] | None) -> None:
        body = b""
        headers: list[tuple[str, str]] = []
        if payload is not None:
            body = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode("utf-8")
            headers.append(("Content-Type", "application/json;charset=UTF-8"))
            if len(body) > 1024 and "gzip" in (self.headers.get("Accept-Encoding") or ""):
                body = gzip.compress(body)
                headers.append(("Content-Encoding", "gzip"))
        close = status >= 300
        self.send_response(status, _reason(reason))
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "max-age=0")
        self.send_header("Pragma", "no-cache")
        self.send_header("Expires", self.date_time_string())
        self.send_header("Connection", "close" if close else "Keep-Alive")
        self.end_headers()
        if body:
            self.wfile.write(body)
        if close:
            self.close_connection = True
        self.server.owner._log(self.command, self.path, status, reason)

    def _error(self, err: E.ApiError) -> None:
        body = err.body()
        if getattr(self, "_format", "json") == "extjs" and body is not None:   # errors travel in the body
            self._send(200, "OK", {**body, "status": err.status, "success": 0})
            return
        self._send(err.status, err.reason, body)

    # --- the request --------------------------------------------------------------------------------
    def _handle(self, method: str) -> None:
        owner = self.server.owner
        cluster = owner.cluster
        self._last_params: dict[str, str] = {}
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._send(501, "for data too large", None)
            return
        body = self.rfile.read(length) if length else b""
        if cluster.faults.latency > 0:
            time.sleep(cluster.faults.latency)
        parts = urlsplit(self.path)
        path = parts.path
        base = next((b for b in FORMATS if path == b or path.startswith(b + "/")), None)
        if base is None:
            self._send(501, E.NO_SUCH_URI, None)
            return
        self._format = FORMATS[base]
        rel = unquote(path[len(base):]) or "/"
        if len(rel) > 1:
            rel = rel.rstrip("/")
        fault = cluster.faults.take_http_fault(method, rel)
        if fault is not None:
            self._error(E.ApiError(fault.status, fault.message))
            return
        try:
            with cluster.lock:
                user = self._authenticate(cluster, method, rel)
                data = self._dispatch(cluster, method, rel, parts.query, body, user)
        except E.ApiError as err:
            self._error(err)
            return
        except Exception as exc:  # noqa: BLE001 - a bug in the fake: answer like a Perl die, but keep the trace
            traceback.print_exc()
            self._error(E.ApiError(500, f"internal error in the Proxmox fake: {exc}"))
            return
        payload: dict[str, Any]
        if isinstance(data, api.Result):
            payload = {"data": data.data}
            if data.total is not None:
                payload["total"] = data.total
            if data.changes:
                payload["changes"] = data.changes
        else:
            payload = {"data": data}
        if self._format == "extjs":
            payload["success"] = 1
        if method != "GET" and rel != "/access/ticket":
            cluster.record_write(method, rel, self._last_params)
        self._send(200, "OK", payload)

    def _authenticate(self, cluster: ProxmoxCluster, method: str, rel: str) -> str | None:
        if (method, rel) in NO_AUTH:
            return None
        cookie = self.headers.get("Cookie")
        authz = self.headers.get("Authorization")
        ticket = extract_auth_value(cookie, "PVEAuthCookie") or extract_auth_value(authz, "PVEAuthCookie")
        token = extract_auth_value(authz, "PVEAPIToken") if not ticket else None
        if token:
            return cluster.auth.verify_token(token)
        if not ticket:
            raise E.ApiError(401, E.NO_TICKET, empty_body=True)
        user = cluster.auth.verify_ticket(ticket)
        if method != "GET":
            cluster.auth.verify_csrf(user, self.headers.get("CSRFPreventionToken"))
        return user

    def _dispatch(self, cluster: ProxmoxCluster, method: str, rel: str, query: str, body: bytes,
                  user: str | None) -> Any:
        found = api.match(method, rel)
        if found is None:
            raise E.ApiError(501, E.NOT_IMPLEMENTED.format(method=method, path=rel))
        route, uri_params = found
        params = _params_from_body(body, self.headers.get("Content-Type") or "") if method in ("POST", "PUT") else {}
        params.update(dict(parse_qsl(query, keep_blank_values=True)))
        params.pop("_dc", None)
        for k, v in uri_params.items():
            if k in params and params[k] != v:
                raise E.ParamError({k: E.DUP_URI_PARAM})
            params[k] = v
        self._last_params = {k: v for k, v in params.items() if k != "password"}
        if "node" in uri_params:
            cluster.node(uri_params["node"])   # proxying to an unknown node fails before validation
        args = route.schema.validate(params)
        ctx = api.Ctx(cluster, method, rel, params, args, user or "")
        return route.handler(ctx)


class ProxmoxServer:
    """HTTPS face of a `ProxmoxCluster`. `start()` binds 127.0.0.1 (port 0 picks one) and sets `.port`/`.url`.

        server = ProxmoxServer(cluster, ca=ca).start()
        prox = ProxmoxAPI(server.host_port, user="root@pam", token_name="ci", token_value=SECRET,
                          verify_ssl=ca.cert_path)
    """

    def __init__(self, cluster: ProxmoxCluster, *, ca: CA, host: str = "127.0.0.1", port: int = 0):
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"the Proxmox fake binds loopback addresses only, not {host}")
        self.cluster = cluster
        self.ca = ca
        self.host = host
        self.port = port
        self.url: str | None = None
        self.access_log: list[tuple[str, str, int, str]] = []
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self._ssl = None
        self.cert = None

    @property
    def faults(self) -> Faults:
        return self.cluster.faults

    @property
    def host_port(self) -> str:
        """What proxmoxer takes as `host`: `127.0.0.1:PORT`."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}{BASE}"

    def _log(self, method: str, path: str, status: int, reason: str) -> None:
        self.access_log.append((method, path, status, reason))

    def start(self) -> ProxmoxServer:
        names = [self.host, "localhost", "127.0.0.1", "::1", *self.cluster.nodes]
        self.cert = self.ca.issue_server_cert(list(dict.fromkeys(names)), common_name=next(iter(self.cluster.nodes)))
        self._ssl = self.cert.server_context(self.ca.directory, f"proxmox-{uuid.uuid4().hex[:8]}")
        server_cls = _Server
        if ipaddress.ip_address(self.host).version == 6:
            server_cls = type("_Server6", (_Server,), {"address_family": socket.AF_INET6})
        self._httpd = server_cls((self.host, self.port), _Handler, self)
        self.port = self._httpd.server_address[1]
        netloc = f"[{self.host}]" if ":" in self.host else self.host
        self.url = f"https://{netloc}:{self.port}"
        der = self.cert.certificate.public_bytes(serialization.Encoding.DER)
        fp = hashlib.sha256(der).hexdigest().upper()
        self.cluster.ssl_fingerprint = ":".join(fp[i:i + 2] for i in range(0, len(fp), 2))
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01},
                                        name=f"proxmox-fake:{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> ProxmoxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
