"""The fake `cilium`'s ClusterMesh plumbing: a cluster's access information (cilium-cli
extractAccessInformation), the checks `connect` makes before it changes anything (validateInfoForConnect, the CA
match), and the Helm upgrades `enable` / `connect` / `disconnect` do in helm mode (reuse the release's values,
set `clustermesh.*`), run through the fake helm's own install code against the release's chart version.
"""
from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from labsim.fakes.cilium import texts as T
from labsim.fakes.tools.kubeapi import Kube, KubeError

NS = "kube-system"
RELEASE = "cilium"


class CliError(Exception):
    pass


@dataclass
class Access:
    cluster_id: str
    cluster_name: str
    service_type: str
    service_ips: list[str]
    service_port: int
    ca: bytes
    client_cert: bytes
    client_key: bytes
    tunnel: str
    max_connected_clusters: int
    kube_cluster: str = ""                 # the kubeconfig's name for the cluster

    def valid(self) -> bool:
        return self.cluster_name not in ("", "default") and self.cluster_id not in ("", "0")

    def to_json(self) -> dict[str, Any]:
        """accessInformation as cilium-cli marshals it (cilium-cli/clustermesh/clustermesh.go, cilium v1.18+): the
        fields in struct order, each `omitempty`, the CA base64 ([]byte). The client certificate and key are not
        part of it any more (older CLIs printed `client_cert`/`client_key`)."""
        b64 = lambda b: base64.b64encode(b).decode()
        out = {"service_type": self.service_type, "service_ips": self.service_ips, "service_port": self.service_port,
               "cluster_id": self.cluster_id, "cluster_name": self.cluster_name, "ca": b64(self.ca) if self.ca else "",
               "tunnel": self.tunnel, "max_connected_clusters": self.max_connected_clusters}
        return {k: v for k, v in out.items() if v not in ("", 0, [], None)}


def _data(secret: dict[str, Any] | None, key: str) -> bytes | None:
    raw = ((secret or {}).get("data") or {}).get(key)
    return base64.b64decode(raw) if raw else None


def _endpoints(acc: Access, endpoints: list[str]) -> None:
    """--source-endpoint / --destination-endpoint: IP:PORT given by hand instead of the Service's."""
    for ep in endpoints:
        host, sep, port = ep.rpartition(":")
        if not sep or not host:
            raise CliError(f'invalid endpoint "{ep}", must be IP:PORT: address {ep}: missing port in address')
        try:
            n = int(port)
        except ValueError:
            raise CliError(f'invalid port "{port}": strconv.Atoi: parsing "{port}": invalid syntax') from None
        if acc.service_port == 0:
            acc.service_port = n
        elif acc.service_port != n:
            raise CliError(f"port mismatch ({acc.service_port} != {n}), all endpoints must use the same port number")
        acc.service_ips.append(host.strip("[]"))


def extract(kube: Kube, log: Callable[[str], None], verbose: bool, endpoints: list[str] | None = None) -> Access:
    try:
        cm = kube.get("ConfigMap", "cilium-config", NS)
    except KubeError as exc:
        raise CliError(T.NO_CONFIGMAP.format(err=exc.message)) from None
    if cm is None:
        raise CliError(T.NO_CONFIGMAP.format(err='configmaps "cilium-config" not found'))
    d = cm.get("data") or {}
    if "cluster-name" not in d:
        raise CliError('cluster-name is not set in ConfigMap "cilium-config"')
    name = d["cluster-name"]
    if verbose:
        log(T.EXTRACTING.format(name=name))
    svc = kube.get("Service", "clustermesh-apiserver", NS)
    if svc is None:
        raise CliError(T.NO_SERVICE.format(err='services "clustermesh-apiserver" not found'))
    if verbose:
        log(T.SECRETS.format(name=name))
    remote = kube.get("Secret", "clustermesh-apiserver-remote-cert", NS)
    if remote is None:
        raise CliError('unable to get client secret to access clustermesh service: unable to get secret '
                       '"clustermesh-apiserver-client-certs" and no deprecated names to try')
    ca = _data(kube.get("Secret", "cilium-ca", NS), "ca.crt") or _data(remote, "ca.crt") or b""
    spec = svc.get("spec") or {}
    ports = spec.get("ports") or []
    routing = d.get("routing-mode")
    acc = Access(d.get("cluster-id", ""), name, spec.get("type", "ClusterIP"), [], 0, ca,
                 _data(remote, "tls.crt") or b"", _data(remote, "tls.key") or b"",
                 d.get("tunnel-protocol", "vxlan") if routing == "tunnel" else d.get("tunnel", ""),
                 int(d.get("max-connected-clusters") or 255))
    if endpoints:
        _endpoints(acc, endpoints)
    elif acc.service_type == "NodePort":
        if not ports:
            raise CliError("port of service could not be derived, service has no ports")
        if not ports[0].get("nodePort"):
            raise CliError(T.NO_NODEPORT)
        acc.service_port = int(ports[0]["nodePort"])
        for node in kube.list("Node"):
            addrs = (node.get("status") or {}).get("addresses") or []
            ip = next((a["address"] for a in addrs if a["type"] == "ExternalIP"), None) or \
                next((a["address"] for a in addrs if a["type"] == "InternalIP"), None)
            if ip:
                acc.service_ips.append(ip)
                break      # one node only: hostAliases cannot do per-node ports
        log(T.NODEPORT_DETECTED)
    elif acc.service_type == "LoadBalancer":
        acc.service_port = int(ports[0].get("port", 2379)) if ports else 2379
        for ing in ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []:
            acc.service_ips.append(ing.get("ip", ""))
    else:
        acc.service_port = int(ports[0].get("port", 2379)) if ports else 2379
        if spec.get("clusterIP"):
            acc.service_ips.append(spec["clusterIP"])
    if not acc.service_ips:
        raise CliError(T.NO_SERVICE_IPS)
    if verbose:
        log(T.SERVICE_IPS.format(ips=" ".join(acc.service_ips)))
    return acc


def validate(local: Access, remote: Access) -> None:
    """validateInfoForConnect, in its order."""
    if not remote.valid():
        raise CliError(T.REMOTE_NOT_UNIQUE.format(name=remote.cluster_name, id=remote.cluster_id))
    if not local.valid():
        raise CliError(T.LOCAL_DEFAULT.format(name=local.cluster_name, id=local.cluster_id))
    try:
        cid = int(remote.cluster_id)
    except ValueError:
        raise CliError(T.REMOTE_NON_NUMERIC.format(id=remote.cluster_id)) from None
    if cid < 1 or cid > local.max_connected_clusters:
        raise CliError(T.REMOTE_ID_RANGE.format(id=cid, max=local.max_connected_clusters))
    if remote.max_connected_clusters != local.max_connected_clusters:
        raise CliError(T.MAX_MISMATCH.format(remote=remote.max_connected_clusters, local=local.max_connected_clusters))
    if remote.cluster_name == local.cluster_name:
        raise CliError(T.SAME_NAME.format(name=local.cluster_name))
    if remote.cluster_id == local.cluster_id:
        raise CliError(T.SAME_ID.format(id=local.cluster_id))


def ca_match(local: Access, remote: Access) -> bool:
    """The CAs match when their subject key identifiers do (validateCAMatch)."""
    from cryptography import x509
    try:
        a, b = (x509.load_pem_x509_certificate(x.ca) for x in (local, remote))
    except ValueError as exc:
        raise CliError(f"failed to parse certificate PEM for CA cert: {exc}") from None

    def ski(c) -> bytes:
        try:
            return c.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
        except x509.ExtensionNotFound:
            return x509.SubjectKeyIdentifier.from_public_key(c.public_key()).digest
    return ski(a) == ski(b)


# --- helm mode ----------------------------------------------------------------------------------------------------
@dataclass
class Release:
    kube: Kube
    config: dict[str, Any]
    chart_version: str
    path: str
    context: str
    changes: list[str] = field(default_factory=list)


def release(path: str, context: str, kube: Kube) -> Release | None:
    from labsim.fakes.tools import helm_release as R
    last = R.latest(kube, RELEASE, NS)
    if last is None or last["info"]["status"] == "uninstalled":
        return None
    return Release(kube, json.loads(json.dumps(last.get("config") or {})),
                   last["chart"]["metadata"]["version"], path, context)


def upgrade(rel: Release, values: dict[str, Any], *, reuse: bool) -> None:
    """helm.Upgrade with the release's chart: `values` merged over the release's (reuse) or instead of them."""
    from labsim.fakes.tools import helm, helm_charts
    url = next(iter(helm_charts.REPOSITORIES))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "values.json")
        with open(path, "w") as fh:
            json.dump(values, fh)
        argv = [RELEASE, "cilium", "--repo", url, "--version", rel.chart_version, "-f", path]
        if reuse:
            argv.append("--reuse-values")
        a = helm.upgrade_args(argv)
        g = {"kubeconfig": rel.path, "kube_context": rel.context, "namespace": NS}
        with contextlib.redirect_stdout(io.StringIO()):
            try:
                helm.install(a, g, upgrade=True)
            except helm.HelmError as exc:
                raise CliError(str(exc)) from None


def clusters_of(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """`clustermesh.config.clusters` as name -> {ips, port, ...} (list form before chart 1.20, map form after)."""
    raw = ((config.get("clustermesh") or {}).get("config") or {}).get("clusters") or {}
    if isinstance(raw, list):
        return {c["name"]: {k: v for k, v in c.items() if k != "name"} for c in raw if c.get("name")}
    return dict(raw)


def set_clusters(config: dict[str, Any], clusters: dict[str, dict[str, Any]], chart_version: str) -> None:
    cm = config.setdefault("clustermesh", {})
    cfg = cm.setdefault("config", {})
    cfg["enabled"] = True
    major, minor = (int(x) for x in chart_version.split(".")[:2])
    if (major, minor) < (1, 20):
        cfg["clusters"] = [{"name": n, **v} for n, v in clusters.items()]
    else:
        cfg["clusters"] = clusters


def add_ca_bundle(config: dict[str, Any], pems: list[str]) -> bool:
    """updateCABundleInValues: append CAs not yet in tls.caBundle.content."""
    bundle = config.setdefault("tls", {}).setdefault("caBundle", {})
    content = str(bundle.get("content") or "").strip()
    new = content
    for pem in pems:
        pem = pem.strip()
        if pem and pem not in new:
            new = (new + "\n" + pem).strip()
    if new == content:
        return False
    bundle["enabled"] = True
    bundle["content"] = new
    return True
