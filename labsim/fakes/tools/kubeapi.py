"""A small Kubernetes REST client for the fake helm (stdlib only): the kubeconfig's current context, TLS with
its CA and client certificate, and the handful of kinds the charts here create.

The fake helm talks to the cluster's API server as the real one does, so what it creates is what the
world (and `kubectl`) sees.
"""
from __future__ import annotations

import base64
import http.client
import json
import os
import ssl
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from labsim import fastyaml

# kind -> (api prefix, plural, namespaced)
KINDS = {
    "Namespace": ("/api/v1", "namespaces", False), "ServiceAccount": ("/api/v1", "serviceaccounts", True),
    "ConfigMap": ("/api/v1", "configmaps", True), "Secret": ("/api/v1", "secrets", True),
    "Service": ("/api/v1", "services", True), "Pod": ("/api/v1", "pods", True), "Node": ("/api/v1", "nodes", False),
    "DaemonSet": ("/apis/apps/v1", "daemonsets", True), "Deployment": ("/apis/apps/v1", "deployments", True),
    "ClusterRole": ("/apis/rbac.authorization.k8s.io/v1", "clusterroles", False),
    "ClusterRoleBinding": ("/apis/rbac.authorization.k8s.io/v1", "clusterrolebindings", False),
    "CiliumNetworkPolicy": ("/apis/cilium.io/v2", "ciliumnetworkpolicies", True),
}


class KubeError(Exception):
    def __init__(self, status: int, message: str, reason: str = ""):
        super().__init__(message)
        self.status, self.message, self.reason = status, message, reason


class KubeConfigError(Exception):
    pass


def _data(entry: dict[str, Any], key: str) -> bytes | None:
    if entry.get(f"{key}-data"):
        return base64.b64decode(entry[f"{key}-data"])
    if entry.get(key):
        return Path(entry[key]).expanduser().read_bytes()
    return None


def _dial_error(method: str, url: str, exc: OSError) -> str:
    """client-go's words for a request that found no server: `Get "https://...": dial tcp H:P: connect: ...`."""
    u = urlsplit(url)
    why = "connection refused" if isinstance(exc, ConnectionRefusedError) else (exc.strerror or str(exc)).lower()
    return f'{method.title()} "{url}": dial tcp {u.hostname}:{u.port}: connect: {why}'


class Kube:
    def __init__(self, kubeconfig: str | None = None, context: str | None = None):
        path = kubeconfig or os.environ.get("KUBECONFIG", "").split(os.pathsep)[0] or \
            str(Path.home() / ".kube" / "config")
        try:
            doc = fastyaml.load(Path(path).expanduser().read_text()) or {}
        except OSError:
            raise KubeConfigError("Kubernetes cluster unreachable: invalid configuration: no configuration has been "
                                  "provided, try setting KUBERNETES_MASTER environment variable") from None
        name = context or doc.get("current-context")
        ctx = next((c["context"] for c in doc.get("contexts") or [] if c["name"] == name), None)
        if ctx is None:
            raise KubeConfigError(f'Kubernetes cluster unreachable: context "{name}" does not exist')
        cluster = next(c["cluster"] for c in doc["clusters"] if c["name"] == ctx["cluster"])
        user = next((u["user"] for u in doc.get("users") or [] if u["name"] == ctx.get("user")), {})
        self.server = cluster["server"].rstrip("/")
        self.namespace = ctx.get("namespace") or "default"
        self.token = user.get("token")
        ca = _data(cluster, "certificate-authority")
        if ca:   # client-go trusts the kubeconfig's CA alone when it names one (not the system's roots too)
            self.ssl = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            self.ssl.load_verify_locations(cadata=ca.decode())
        else:
            self.ssl = ssl.create_default_context()
        crt, key = _data(user, "client-certificate"), _data(user, "client-key")
        if crt and key:
            with tempfile.TemporaryDirectory() as tmp:
                (Path(tmp) / "c").write_bytes(crt)
                (Path(tmp) / "k").write_bytes(key)
                self.ssl.load_cert_chain(str(Path(tmp) / "c"), str(Path(tmp) / "k"))
        self._conn: http.client.HTTPConnection | None = None

    # --- REST ----------------------------------------------------------------------------------------------
    def _connection(self) -> http.client.HTTPConnection:
        """One connection for all of a run's requests, kept alive as client-go keeps its: a TLS handshake per
        request was most of what the simulated API servers spent on the fake tools."""
        if self._conn is None:
            u = urlsplit(self.server)
            if u.scheme == "https":
                self._conn = http.client.HTTPSConnection(u.hostname or "", u.port or 443, context=self.ssl, timeout=60)
            else:
                self._conn = http.client.HTTPConnection(u.hostname or "", u.port or 80, timeout=60)
        return self._conn

    def request(self, method: str, path: str, body: Any = None, content_type: str = "application/json") -> Any:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": content_type, "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        prefix = urlsplit(self.server).path
        for attempt in (1, 2):
            fresh, sent = self._conn is None, False
            conn = self._connection()
            try:
                conn.request(method, prefix + path, body=data, headers=headers)
                sent = True
                resp = conn.getresponse()
                raw = resp.read()
                break
            except OSError as exc:    # http.client.RemoteDisconnected is one too
                conn.close()
                self._conn = None
                # a kept connection the server closed meanwhile is opened again, once, as net/http does: when the
                # request was not sent, or when sending it twice changes nothing
                if fresh or attempt == 2 or (sent and method == "POST"):
                    raise KubeError(0, f"Kubernetes cluster unreachable: {_dial_error(method, self.server + path, exc)}") \
                        from None
        if resp.will_close:
            conn.close()
            self._conn = None
        if resp.status >= 400:
            try:
                status = json.loads(raw or b"{}")
            except ValueError:
                status = {}
            raise KubeError(resp.status, status.get("message", resp.reason), status.get("reason", ""))
        return json.loads(raw) if raw else None

    @staticmethod
    def path(kind: str, namespace: str | None, name: str | None = None) -> str:
        prefix, plural, namespaced = KINDS[kind]
        p = f"{prefix}/namespaces/{quote(namespace or 'default')}/{plural}" if namespaced else f"{prefix}/{plural}"
        return p + (f"/{quote(name)}" if name else "")

    def get(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        try:
            return self.request("GET", self.path(kind, namespace, name))
        except KubeError as exc:
            if exc.status == 404:
                return None
            raise

    def list(self, kind: str, namespace: str | None = None, selector: str | None = None) -> list[dict[str, Any]]:
        q = f"?labelSelector={quote(selector)}" if selector else ""
        return self.request("GET", self.path(kind, namespace) + q).get("items") or []

    def apply(self, obj: dict[str, Any]) -> str:
        """Create, or replace what is there (keeping its resourceVersion): 'created' / 'configured' / 'unchanged'."""
        kind, md = obj["kind"], obj["metadata"]
        ns = md.get("namespace")
        cur = self.get(kind, md["name"], ns)
        if cur is None:
            self.request("POST", self.path(kind, ns), obj)
            return "created"
        new = json.loads(json.dumps(obj))
        new["metadata"]["resourceVersion"] = cur["metadata"]["resourceVersion"]
        if kind == "Service":   # allocated fields stay
            new["spec"].setdefault("clusterIP", cur["spec"].get("clusterIP"))
        if _same(cur, new):
            return "unchanged"
        self.request("PUT", self.path(kind, ns, md["name"]), new)
        return "configured"

    def delete(self, kind: str, name: str, namespace: str | None = None) -> bool:
        try:
            self.request("DELETE", self.path(kind, namespace, name))
            return True
        except KubeError as exc:
            if exc.status == 404:
                return False
            raise


def _same(cur: dict[str, Any], new: dict[str, Any]) -> bool:
    for key, value in new.items():
        if key == "metadata":
            for mk in ("labels", "annotations"):
                if (cur["metadata"].get(mk) or {}) != (value.get(mk) or {}):
                    return False
        elif key not in ("apiVersion", "kind", "status") and _subset(value, cur.get(key)) is False:
            return False
    return True


def _subset(want: Any, have: Any) -> bool:
    """Whether everything helm sends is already there (the server adds defaults helm never sent)."""
    if isinstance(want, dict):
        return isinstance(have, dict) and all(_subset(v, have.get(k)) for k, v in want.items())
    if isinstance(want, list):
        return isinstance(have, list) and len(want) == len(have) and all(_subset(a, b) for a, b in zip(want, have))
    return want == have
