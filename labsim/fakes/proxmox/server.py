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
import json
import time
import traceback
import uuid
from email.utils import formatdate
from typing import Any
from urllib.parse import unquote, urlsplit

from cryptography.hazmat.primitives import serialization

from labsim.fakes.face import BadRequest, HttpFace, HttpHandler, Limits
from labsim.fakes.pki import CA
from labsim.fakes.proxmox import api
from labsim.fakes.proxmox import errors as E
from labsim.fakes.proxmox.auth import extract_auth_value
from labsim.fakes.proxmox.cluster import ProxmoxCluster
from labsim.fakes.proxmox.faults import Faults

BASE = "/api2/json"
FORMATS = {"/api2/json": "json", "/api2/extjs": "extjs"}
NO_AUTH = {("POST", "/access/ticket"), ("GET", "/access/ticket"), ("GET", "/access/domains")}
KNOWN_METHODS = ("GET", "POST", "PUT", "DELETE")

# pve-http-server PVE/APIServer/AnyEvent.pm: $limit_max_headers = 64, $limit_max_header_size = 8*1024,
# $limit_max_post = 64*1024; an AnyEvent::Handle inactivity timeout of 5 s (new(): timeout //= 5), rbuf_max 64 KiB,
# max_conn 800 (it stops accepting at the cap). The total header and body times are ours.
MAX_HEADER_LINES = 64
MAX_HEADER_SIZE = 8 * 1024
LIMITS = Limits(handshake_timeout=5.0, idle_timeout=5.0, header_timeout=30.0, body_timeout=30.0, write_timeout=30.0,
                max_connections=800, max_header_bytes=64 * 1024, max_body_bytes=64 * 1024)


def _reason(text: str) -> str:
    line = text.split("\n", 1)[0].replace("\r", " ")
    return line.encode("latin-1", "replace").decode("latin-1")


def decode_urlencoded(data: str) -> dict[str, str]:
    """AnyEvent.pm decode_urlencoded: pairs split at `&` or `;`, key and value at `=` (the first two fields, as
    Perl's split); `+` and %XX unescaped; the value decoded as UTF-8 (malformed bytes replaced), the key left as
    bytes; a repeated key joins its values with NUL, as CGI.pm does."""
    out: dict[str, str] = {}

    def unescape(text: str) -> bytes:
        return _percent(text.replace("+", " ").encode("latin-1", "replace"))

    for kv in filter(None, data.replace(";", "&").split("&")):
        fields = kv.split("=")
        key = unescape(fields[0]).decode("latin-1")
        if len(fields) > 1:
            value = unescape(fields[1]).decode("utf-8", "replace")
            if key in out:
                value = f"{out[key]}\0{value}"
            out[key] = value
        else:
            out[key] = ""
    return out


def _percent(raw: bytes) -> bytes:
    out, i = bytearray(), 0
    while i < len(raw):
        if raw[i:i + 1] == b"%" and len(raw) >= i + 3:
            try:
                out.append(int(raw[i + 1:i + 3], 16))
                i += 3
                continue
            except ValueError:
                pass
        out.append(raw[i])
        i += 1
    return bytes(out)


def _params_from_body(body: bytes, ctype: str) -> dict[str, str]:
    if not body:
        return {}
    if ctype.startswith("application/json"):
        try:
            obj = json.loads(body.decode("utf-8"))
        except UnicodeDecodeError:
            raise E.ApiError(501, "malformed UTF-8 character in JSON string") from None
        except RecursionError:
            raise E.ApiError(501, "json text or perl structure exceeds maximum nesting level") from None
        except ValueError:
            raise E.ApiError(501, "malformed JSON string, neither tag, array, object, number, string or atom, "
                                  "at character offset 0") from None
        if not isinstance(obj, dict):   # extract_params then treats it as a hash: Perl dies
            raise E.ApiError(501, "Not a HASH reference")
        out: dict[str, str] = {}
        for k, v in obj.items():
            if isinstance(v, bool):
                out[k] = "1" if v else "0"
            elif v is None:
                continue
            elif isinstance(v, (list, dict)):
                out[k] = json.dumps(v)
            else:
                out[k] = str(v)
        return out
    return decode_urlencoded(body.decode("latin-1"))


class _Handler(HttpHandler):
    server_version = "pve-api-daemon/3.0"
    face: ProxmoxServer

    def version_string(self) -> str:
        return self.server_version

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

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
        self.face._log(self.command, self.path, status, reason)

    def _error(self, err: E.ApiError) -> None:
        body = err.body()
        if getattr(self, "_format", "json") == "extjs" and body is not None:   # errors travel in the body
            self._send(200, "OK", {**body, "status": err.status, "success": 0})
            return
        self._send(err.status, err.reason, body)

    # --- the request --------------------------------------------------------------------------------
    def _handle(self, method: str) -> None:
        owner = self.face
        cluster = owner.cluster
        self._last_params: dict[str, str] = {}
        self._format = "json"    # the handler lives as long as its connection: nothing carries over
        if cluster.faults.latency > 0:
            time.sleep(cluster.faults.latency)
        parts = urlsplit(self.path)
        path = parts.path
        base = next((b for b in FORMATS if path == b or path.startswith(b + "/")), None)
        if base is None:
            self._send(501, E.NO_SUCH_URI, None)
            return
        self._format = FORMATS[base]
        rel = unquote(path[len(base):], errors="replace") or "/"
        if len(rel) > 1:
            rel = rel.rstrip("/")
        fault = cluster.faults.take_http_fault(method, rel)
        if fault is not None:
            self._error(E.ApiError(fault.status, fault.message))
            return
        try:
            # authenticate_and_handle_request: the client is authenticated before its body is looked at
            with cluster.lock:
                user = self._authenticate(cluster, method, rel)
            body = self._body(method)
            with cluster.lock:
                data = self._dispatch(cluster, method, rel, parts.query, body, user)
        except E.ApiError as err:
            self._error(err)
            return
        except (BadRequest, EOFError, OSError):   # the face answers or closes (labsim/fakes/face.py)
            raise
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

    def _body(self, method: str) -> bytes:
        """The body as AnyEvent.pm admits it: POST and PUT only, at most 64 KiB, form or JSON."""
        if not self.body_pending:
            return b""
        if method not in ("PUT", "POST"):
            raise E.ApiError(501, f"Unexpected content for method '{method}'")
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].split(",")[0].strip()
        if self.content_length() > self.face.limits.max_body_bytes:
            raise E.ApiError(501, "for data too large")
        if ctype and ctype not in ("application/x-www-form-urlencoded", "application/json"):
            raise E.ApiError(506, f"upload 'Content-Type '{self.headers.get('Content-Type')}' not implemented")
        return self.read_body()

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
        params.update(decode_urlencoded(query))
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


class ProxmoxServer(HttpFace):
    """HTTPS face of a `ProxmoxCluster`. `start()` binds 127.0.0.1 (port 0 picks one) and sets `.port`/`.url`.

        server = ProxmoxServer(cluster, ca=ca).start()
        prox = ProxmoxAPI(server.host_port, user="root@pam", token_name="ci", token_value=SECRET,
                          verify_ssl=ca.cert_path)
    """

    handler_class = _Handler
    limits = LIMITS

    def __init__(self, cluster: ProxmoxCluster, *, ca: CA, host: str = "127.0.0.1", port: int = 0):
        super().__init__("proxmox", host=host, port=port, kind="Proxmox fake")
        self.cluster = cluster
        self.ca = ca
        self.url: str | None = None
        self.access_log: list[tuple[str, str, int, str]] = []
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
        self.tls = self.cert.server_context(self.ca.directory, f"proxmox-{uuid.uuid4().hex[:8]}")
        self.listeners = [(self.port, self.tls)]
        super().start()
        netloc = f"[{self.host}]" if ":" in self.host else self.host
        self.url = f"https://{netloc}:{self.port}"
        der = self.cert.certificate.public_bytes(serialization.Encoding.DER)
        fp = hashlib.sha256(der).hexdigest().upper()
        self.cluster.ssl_fingerprint = ":".join(fp[i:i + 2] for i in range(0, len(fp), 2))
        return self

    # --- what pveproxy answers before the API sees a request (AnyEvent.pm push_request_header,
    # unshift_read_header, process_header) ------------------------------------------------------------------
    def check_head(self, handler: HttpHandler) -> None:
        lines = handler.head_lines
        if len(lines) + 1 >= MAX_HEADER_LINES or sum(len(x.rstrip(b"\r\n")) for x in lines) >= MAX_HEADER_SIZE:
            raise BadRequest(431, "drop")    # `die` inside the reader's eval: nothing is sent; the timeout closes it
        for line in lines:
            text = line.rstrip(b"\r\n").decode("latin-1")
            if not (text[:1] in (" ", "\t") or (":" in text and text.split(":", 1)[0].strip()
                                               and not any(c.isspace() for c in text.split(":", 1)[0].rstrip()))):
                raise BadRequest(506, "header-line")
        if handler.command not in KNOWN_METHODS:
            raise BadRequest(501, "method", handler.command)
        te = handler.headers.get("Transfer-Encoding")
        if te and te.strip().lower() == "chunked":
            raise BadRequest(501, "pve", "chunked transfer encoding not supported")
        if te:
            raise BadRequest(501, "pve", f"Unknown transfer encoding '{te}'")

    def protocol_error(self, handler: HttpHandler, bad: BadRequest) -> None:
        if bad.reason == "drop":
            handler.close_connection = True
            return
        version = handler.request_version if getattr(handler, "request_version", "").startswith("HTTP/1.") \
            else "HTTP/1.0"
        code, msg = {
            "method": (501, f"method '{bad.detail}' not available"),
            "header-line": (506, "unable to parse request header"),
            "version": (506, f"http protocol version {bad.detail.rsplit('(', 1)[-1].rstrip(')').split('/')[-1]} "
                             "not supported"),
            "pve": (bad.status, bad.detail),
            "body-too-large": (501, "for data too large"),
        }.get(bad.reason, (400, "bad request"))
        date = formatdate(usegmt=True)
        head = (f"{version} {code} {_reason(msg)}\r\nCache-Control: max-age=0\r\nConnection: close\r\n"
                f"Date: {date}\r\nPragma: no-cache\r\nServer: pve-api-daemon/3.0\r\nExpires: {date}\r\n\r\n")
        handler.close_connection = True
        try:
            handler.connection.sendall(head.encode("latin-1", "replace"))
        except OSError:
            pass
        self._log(getattr(handler, "command", "-") or "-", getattr(handler, "path", "-") or "-", code, msg)
