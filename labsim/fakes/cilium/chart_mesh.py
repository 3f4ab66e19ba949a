"""The cilium chart's ClusterMesh configuration, rendered from `clustermesh.config` (what `cilium clustermesh
connect` writes into the release's values in helm mode), plus the mesh keys of `cilium-config`.

Chart 1.18 (install/kubernetes/cilium/templates/clustermesh-config/): Secret `cilium-clustermesh` holds one etcd
configuration per remote cluster (`endpoints: - https://<name>.<domain>:<port>`) and the agents resolve
`<name>.<domain>` through hostAliases built from each cluster's `ips`. With KVStoreMesh the agents read every
remote cluster from the local clustermesh-apiserver instead, and Secret `cilium-kvstoremesh` (hostAliases on the
clustermesh-apiserver) carries the real endpoints. `tls.caBundle` renders ConfigMap `cilium-root-ca.crt`.
`clusters` may be the list form (charts before 1.20) or the map form (1.20 and later).

Imported by the fake helm (no world imports); `apply(objs, values)` adds to what chart.render produced.
"""
from __future__ import annotations

import base64
from typing import Any

from labsim.fakes.cilium.chart import get as _get

DOMAIN = "mesh.cilium.io"
LOCAL_ENDPOINT = "https://clustermesh-apiserver.kube-system.svc:2379"
CLIENT_FILES = ("trusted-ca-file: /var/lib/cilium/clustermesh/common-etcd-client-ca.crt\n"
                "key-file: /var/lib/cilium/clustermesh/common-etcd-client.key\n"
                "cert-file: /var/lib/cilium/clustermesh/common-etcd-client.crt\n")
DEFAULTS = {"cacheTTL": "0s", "config": {"enabled": False, "domain": DOMAIN, "clusters": []}}


def clusters(values: dict[str, Any]) -> list[dict[str, Any]]:
    """`clustermesh.config.clusters` as a list of {name, ips, port}, whichever form the values use."""
    raw = _get(values, "clustermesh.config.clusters") or []
    if isinstance(raw, dict):
        raw = [{"name": k, **(v or {})} for k, v in raw.items()]
    return [c for c in raw if isinstance(c, dict) and c.get("name") and c.get("enabled", True) is not False]


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def etcd_config(endpoint: str) -> str:
    return f"endpoints:\n- {endpoint}\n{CLIENT_FILES}"


def _secret(name: str, ns: str, data: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": name, "namespace": ns, "labels": {"app.kubernetes.io/part-of": "cilium"}},
            "data": data}


def _host_aliases(entries: list[dict[str, Any]], domain: str) -> list[dict[str, Any]]:
    out = []
    for c in entries:
        for ip in c.get("ips") or []:
            out.append({"ip": str(ip), "hostnames": [f"{c['name']}.{domain}"]})
    return out


def apply(objs: list[dict[str, Any]], values: dict[str, Any], ns: str) -> list[dict[str, Any]]:
    """The rendered manifests with the mesh configuration added (a new list; the input is not changed)."""
    domain = _get(values, "clustermesh.config.domain") or DOMAIN
    entries = clusters(values) if _get(values, "clustermesh.config.enabled") else []
    kvstoremesh = bool(_get(values, "clustermesh.useAPIServer")) and \
        bool(_get(values, "clustermesh.apiserver.kvstoremesh.enabled", True))
    out = [dict(o) for o in objs]
    if any(o["kind"] == "Secret" and o["metadata"]["name"] == "cilium-clustermesh" for o in out):
        return out      # already applied
    for o in out:
        if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "cilium-config":
            o["data"] = dict(o["data"])
            o["data"]["clustermesh-cache-ttl"] = str(_get(values, "clustermesh.cacheTTL") or "0s")
            o["data"]["enable-envoy-config"] = "true" if _get(values, "envoyConfig.enabled") else "false"
            local = _get(values, "clustermesh.policyDefaultLocalCluster")
            if local is not None:     # rendered only when set: the agent's own default depends on its version
                o["data"]["policy-default-local-cluster"] = "true" if local in (True, "true") else "false"
        aliases = _host_aliases(entries, domain)
        target = ("Deployment", "clustermesh-apiserver") if kvstoremesh else ("DaemonSet", "cilium")
        if aliases and (o["kind"], o["metadata"]["name"]) == target:
            spec = dict(o["spec"])
            template = dict(spec["template"])
            template["spec"] = dict(template["spec"], hostAliases=aliases)
            spec["template"] = template
            o["spec"] = spec
    if entries:     # (the chart renders an empty Secret for no clusters; absent is the same to the agents)
        real = {c["name"]: _b64(etcd_config(f"https://{c['name']}.{domain}:{int(c.get('port') or 2379)}"))
                for c in entries}
        if kvstoremesh:
            local = {c["name"]: _b64(etcd_config(LOCAL_ENDPOINT)) for c in entries}
            out.append(_secret("cilium-clustermesh", ns, local))
            out.append(_secret("cilium-kvstoremesh", ns, real))
        else:
            out.append(_secret("cilium-clustermesh", ns, real))
    bundle = _get(values, "tls.caBundle") or {}
    if bundle.get("enabled") and bundle.get("content"):
        out.append({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": bundle.get("name", "cilium-root-ca.crt"), "namespace": ns},
                    "data": {bundle.get("key", "ca.crt"): str(bundle["content"])}})
    return out
