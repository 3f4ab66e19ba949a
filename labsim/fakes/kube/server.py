"""The HTTPS face of a `KubeCluster`: a kube-apiserver on 127.0.0.1 that `kubectl` and the `kubernetes` client
reach through a kubeconfig.

Transport: TLS with a certificate from the lab CA (SANs 127.0.0.1, localhost, kubernetes.default.svc...),
HTTP/1.1 keep-alive, chunked streams for watches and followed logs. Authentication, as the apiserver does it:
a client certificate issued by the CA (user = CN, groups = O) or a bearer token registered with `add_token`;
anything else is `401 Unauthorized`, except /version, /healthz, /livez, /readyz, which anonymous users may read
(system:public-info-viewer). Every authenticated user may do everything (no RBAC evaluation).

    server = KubeServer(cluster, ca=ca).start()
    server.kubeconfig(tmp / "kubeconfig")                  # client cert CN=admin, O=system:masters
    server.kubeconfig(tmp / "kc-token", auth="token")      # a bearer token instead
    server.faults.http_error(r"/api/v1/nodes", 503)
"""
from __future__ import annotations

import json
import ssl
import time
import traceback
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import yaml

from labsim.fakes import kube_exec
from labsim.fakes.face import BadRequest, HttpFace, HttpHandler, Limits
from labsim.fakes.kube import api
from labsim.fakes.kube import errors as E
from labsim.fakes.kube.cluster import KubeCluster
from labsim.fakes.kube.faults import Faults
from labsim.fakes.pki import CA

ENDPOINTS_WARNING = '299 - "v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice"'

# kube-apiserver's http.Server (k8s.io/apiserver/pkg/server/secure_serving.go): MaxHeaderBytes 1 << 20 (Go reads up
# to 4096 bytes more before it answers 431), IdleTimeout 90 s, ReadHeaderTimeout 32 s (which also bounds the TLS
# handshake); the request body is capped at 3 MiB (genericapiserver MaxRequestBodyBytes). The body and write
# timeouts and the connection cap are ours: Go has none, each goroutine costs it little.
LIMITS = Limits(handshake_timeout=32.0, idle_timeout=90.0, header_timeout=32.0, body_timeout=60.0,
                write_timeout=60.0, max_connections=512, max_header_bytes=(1 << 20) + 4096,
                max_body_bytes=3 * 1024 * 1024)


class _Handler(HttpHandler):
    face: KubeServer

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def _user(self) -> str | None:
        owner = self.face
        authz = self.headers.get("Authorization") or ""
        if authz.lower().startswith("bearer "):
            return owner.tokens.get(authz[7:].strip(), (None,))[0]
        try:
            cert = self.connection.getpeercert()
        except (AttributeError, ValueError):
            cert = None
        if cert:
            for rdn in cert.get("subject", ()):
                for k, v in rdn:
                    if k == "commonName":
                        return v
        return None

    def _handle(self) -> None:
        owner = self.face
        cluster = owner.cluster
        method = self.command
        if self.path == "*":
            if method == "OPTIONS":   # Go's net/http answers `OPTIONS *` itself (globalOptionsHandler)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self._send(api.Response(404, b"404 page not found\n", "text/plain; charset=utf-8"))
            return
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        if cluster.faults.latency > 0:
            time.sleep(cluster.faults.latency)
        user = self._user()
        path = parts.path
        # Authentication comes before the body is read, as in the apiserver's filter chain: a client that is
        # not let in never gets to make us read (or wait for) its body.
        if user is None and path.rstrip("/") not in api.PUBLIC:
            self._send(api.error_response(E.unauthorized()))
            owner._log(method, self.path, 401)
            return
        try:
            body = self.read_body()
        except BadRequest as bad:
            if bad.status != 413:
                raise
            limit = owner.limits.max_body_bytes
            self._send(api.error_response(E.KubeError(413, "RequestEntityTooLarge",
                                                       f"Request entity too large: limit is {limit}", {})))
            self.close_connection = True
            owner._log(method, self.path, 413)
            return
        self.conn.read_deadline = None    # the request is in: what follows (a watch, an exec session) may last
        self.connection.settimeout(owner.limits.write_timeout)
        fault = cluster.faults.take(method, path)
        if fault is not None:
            self._send(api.error_response(fault))
            owner._log(method, self.path, fault.code)
            return
        if kube_exec.is_exec(path):   # pods/exec: a WebSocket upgrade, served by labsim/fakes/kube_exec.py
            owner._log(method, self.path, 101)
            return kube_exec.serve(self, cluster)
        headers = {k.lower(): v for k, v in self.headers.items()}
        req = api.Request(method, path, query, headers, body, user or "system:anonymous")
        try:
            resp = api.handle(cluster, req, server_address=f"{owner.host}:{owner.port}", stopping=self.client_gone)
        except Exception as exc:  # noqa: BLE001 - a bug in the fake answers 500 like the apiserver, trace kept
            traceback.print_exc()
            resp = api.error_response(E.internal(f"labsim kube fake: {exc!r}"))
        if "/endpoints" in path and path.startswith("/api/v1") and cluster.version >= "v1.33":
            resp.headers.append(("Warning", ENDPOINTS_WARNING))
        owner._log(method, self.path, resp.status)
        self._send(resp, head=method == "HEAD")

    def _send(self, resp: api.Response, head: bool = False) -> None:
        self.send_response(resp.status)
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Content-Type", resp.content_type)
        self.send_header("X-Kubernetes-Pf-Flowschema-Uid", "5c0ae8d2-0000-4000-8000-000000000001")
        self.send_header("X-Kubernetes-Pf-Prioritylevel-Uid", "5c0ae8d2-0000-4000-8000-000000000002")
        for k, v in resp.headers:
            self.send_header(k, v)
        if resp.stream is None:
            self.send_header("Content-Length", str(len(resp.body)))
            self.end_headers()
            if not head and resp.body:
                self.wfile.write(resp.body)
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        try:
            for chunk in resp.stream:
                if chunk:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True
        finally:
            close = getattr(resp.stream, "close", None)
            if close:
                close()


class KubeServer(HttpFace):
    """A Kubernetes API server for one cluster. `start()` binds 127.0.0.1 (port 0 picks one), sets `.port`/`.url`."""

    handler_class = _Handler
    limits = LIMITS

    def __init__(self, cluster: KubeCluster, *, ca: CA, host: str = "127.0.0.1", port: int = 0):
        super().__init__(f"kube:{cluster.name}", host=host, port=port, kind="Kubernetes fake")
        self.cluster = cluster
        self.ca = ca
        self.url: str | None = None
        self.tokens: dict[str, tuple[str, tuple[str, ...]]] = {}
        self.access_log: list[tuple[str, str, int]] = []
        self._files = Path(ca.directory) / f"kube-{cluster.name}-{uuid.uuid4().hex[:6]}"

    @property
    def faults(self) -> Faults:
        return self.cluster.faults

    def _log(self, method: str, path: str, status: int) -> None:
        self.access_log.append((method, path, status))

    def add_token(self, user: str = "admin", groups: tuple[str, ...] = ("system:masters",), token: str | None = None) \
            -> str:
        token = token or uuid.uuid4().hex
        self.tokens[token] = (user, tuple(groups))
        return token

    def start(self) -> KubeServer:
        names = [self.host, "localhost", "127.0.0.1", "::1", "kubernetes", "kubernetes.default",
                 "kubernetes.default.svc", f"kubernetes.default.svc.{self.cluster.cluster_domain}",
                 self.cluster.ipam.service_ip(1)]
        cert = self.ca.issue_server_cert(list(dict.fromkeys(names)), common_name="kube-apiserver")
        self._files.mkdir(parents=True, exist_ok=True)
        ctx = cert.server_context(self._files, "apiserver")
        ctx.verify_mode = ssl.CERT_OPTIONAL       # client certificates authenticate when presented
        ctx.load_verify_locations(self.ca.cert_path)
        self.tls = ctx
        self.listeners = [(self.port, ctx)]
        self.cluster.ca_pem = self.ca.cert_pem.decode()
        super().start()
        netloc = f"[{self.host}]" if ":" in self.host else self.host
        self.url = f"https://{netloc}:{self.port}"
        return self

    def check_head(self, handler: HttpHandler) -> None:
        """Go's net/http (conn.readRequest) refuses an HTTP/1.1 request without a Host header."""
        if handler.request_version == "HTTP/1.1" and not (handler.headers.get_all("Host") or [""])[0] \
                and handler.command != "CONNECT":
            raise BadRequest(400, "go", "missing required Host header")

    def stop(self) -> None:
        self._stopping.set()
        self.cluster.store.poke()     # open watch streams end now
        super().stop()

    def client_cert(self, user: str = "admin", groups: tuple[str, ...] = ("system:masters",)) -> tuple[Path, Path]:
        """A client certificate for `user` (CN) in `groups` (O), written as files: (cert, key)."""
        issued = self.ca.issue_client_cert(user, list(groups))
        return issued.write(self._files, f"client-{user}")

    def kubeconfig(self, path: str | Path, user: str = "admin", *, auth: str = "cert",
                   groups: tuple[str, ...] = ("system:masters",), namespace: str = "default") -> Path:
        """Write a kubeconfig for this server: `auth="cert"` (client certificate) or `"token"` (bearer token)."""
        if self.url is None:
            raise RuntimeError("start the server before writing a kubeconfig")
        name = self.cluster.name
        if auth == "token":
            creds: dict[str, Any] = {"token": self.add_token(user, groups)}
        elif auth == "cert":
            crt, key = self.client_cert(user, groups)
            creds = {"client-certificate": str(crt), "client-key": str(key)}
        else:
            raise ValueError(f"auth must be 'cert' or 'token', not {auth!r}")
        ctx = f"{user}@{name}"
        doc = {"apiVersion": "v1", "kind": "Config", "preferences": {},
               "clusters": [{"name": name, "cluster": {"server": self.url, "certificate-authority": self.ca.cert_path}}],
               "users": [{"name": ctx, "user": creds}],
               "contexts": [{"name": ctx, "context": {"cluster": name, "user": ctx, "namespace": namespace}}],
               "current-context": ctx}
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(yaml.safe_dump(doc, sort_keys=False))
        p.chmod(0o600)
        return p

    def kubeconfig_dict(self, user: str = "admin", **kw: Any) -> dict[str, Any]:
        tmp = self._files / f"kubeconfig-{uuid.uuid4().hex[:6]}"
        self.kubeconfig(tmp, user, **kw)
        return yaml.safe_load(tmp.read_text())


def dumps(obj: Any) -> str:
    return json.dumps(obj, indent=2)
