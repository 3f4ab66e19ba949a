"""Deploying the round-robin DNS failover watcher (labsim-dnswatch, dnswatch/ in this repository) from its own
manifests, with the lab file's settings, and reading what it did.

The manifests are the ones a lab owner applies (dnswatch/deploy: Namespace, ServiceAccount, the least RBAC,
ConfigMap, Deployment, metrics Service); the suite fills the ConfigMap from the lab file's `dns.failover` and the
workers' public addresses, sets the image and namespace, and creates the Secret with the Cloudflare token from the
lab file's reference. A second run writes nothing.
"""
from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

import yaml

from labsim import fastyaml, plaindata
from labsim.provisioners.cloud import kubeobjects as K
from labsim.provisioners.vocabulary import Result

SECRET = "dnswatch-cloudflare"


class WatcherMissing(Exception):
    """The watcher's package (its manifests) is not installed beside labsim."""


def manifest_docs() -> list[dict[str, Any]]:
    """The watcher's own manifests, from its package (labsim-dnswatch, dnswatch/ in labsim's repository)."""
    try:
        root = files("labsim_dnswatch").joinpath("deploy")
    except ImportError:
        raise WatcherMissing("the failover watcher's package labsim-dnswatch is not installed beside labsim: its "
                             "manifests deploy the watcher (pip install ./dnswatch from labsim's repository; make "
                             "install does it)") from None
    order = ["namespace.yaml", "serviceaccount.yaml", "rbac.yaml", "configmap.yaml", "deployment.yaml",
             "service.yaml"]
    docs = []
    for name in order:
        docs += [d for d in fastyaml.load_all(root.joinpath(name).read_text()) if d]
    return docs


def settings(lab, public: dict[str, str]) -> dict[str, Any]:
    dns = lab.dns
    fo = dns.failover
    rec = dns.record(fo.record)
    return {"record": dns.fqdn(fo.record), "zone": dns.zone, "host": fo.host or dns.fqdn(fo.record),
            "ttl": rec.ttl, "proxied": rec.proxied, "owner": fo.owner,
            "node_selector": "!node-role.kubernetes.io/control-plane",
            "addresses": {n: public[n] for n in rec.nodes if n in public},
            "probe": {"scheme": fo.scheme, **({"port": fo.port} if fo.port else {}), "path": fo.path,
                      "expect": fo.expect, "interval": fo.interval, "timeout": fo.timeout},
            "unstable_after": fo.unstable_after, "window": fo.window, "recover_after": fo.recover_after,
            "metrics_port": 9090}


def manifests(lab, public: dict[str, str], token: str) -> list[dict[str, Any]]:
    fo = lab.dns.failover
    ns = fo.namespace
    out = []
    for d in manifest_docs():
        d = plaindata.deep(d)
        if d["kind"] == "Namespace":
            d["metadata"]["name"] = ns
        elif d["metadata"].get("namespace"):
            d["metadata"]["namespace"] = ns
        if d["kind"] == "ClusterRoleBinding":
            for s in d["subjects"]:
                s["namespace"] = ns
        if d["kind"] == "ConfigMap":
            d["data"]["config.yaml"] = yaml.safe_dump(settings(lab, public), sort_keys=False)
        if d["kind"] == "Deployment":
            d["spec"]["template"]["spec"]["containers"][0]["image"] = fo.image
        out.append(d)
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": SECRET, "namespace": ns}, "type": "Opaque",
              "data": {"api-token": base64.b64encode(token.encode()).decode()}}
    out.insert(next(i for i, d in enumerate(out) if d["kind"] == "Deployment"), secret)
    return out


def deploy(lab, api, public: dict[str, str], token: str) -> list[str]:
    dyn = K.client(api)
    done = []
    for obj in manifests(lab, public, token):
        what = K.ensure(dyn, obj)
        if what:
            done.append(f"{obj['kind']} {obj['metadata']['name']}: {what}")
    return done


# --- what the watcher did ------------------------------------------------------------------------------------------
@dataclass
class View:
    pod: str | None
    ready: bool
    logs: list[str]
    events: list[dict[str, Any]]


def view(lab, api) -> View:
    """The watcher's pod, its log and the Events it wrote on the watched Ingresses (read-only)."""
    from kubernetes import client
    core = client.CoreV1Api(api)
    ns = lab.dns.failover.namespace
    pods = core.list_namespaced_pod(ns, label_selector="app.kubernetes.io/name=labsim-dnswatch").items
    running = [p for p in pods if p.status.phase == "Running" and not p.metadata.deletion_timestamp]
    pod = running[-1] if running else None
    ready = bool(pod and any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or []))
    logs: list[str] = []
    if pod is not None:
        text = core.read_namespaced_pod_log(pod.metadata.name, ns, container="dnswatch")
        logs = text.splitlines()
    host = lab.dns.failover.host or lab.dns.fqdn(lab.dns.failover.record)
    events = []
    for ing in client.NetworkingV1Api(api).list_ingress_for_all_namespaces().items:
        if host not in {r.host for r in ing.spec.rules or []}:
            continue
        for ev in core.list_namespaced_event(ing.metadata.namespace,
                                             field_selector=f"involvedObject.name={ing.metadata.name}").items:
            if ev.source and ev.source.component == "labsim-dnswatch":
                events.append({"ingress": f"{ing.metadata.namespace}/{ing.metadata.name}", "type": ev.type,
                               "reason": ev.reason, "message": ev.message,
                               "time": (ev.last_timestamp or ev.event_time or ev.first_timestamp)})
    return View(pod.metadata.name if pod else None, ready, logs, events)


def records(lab, ctx) -> dict[str, str]:
    """node -> address of the round-robin name's records the watcher owns, as Cloudflare holds them now."""
    from labsim.provisioners.cloud.dns import node_of, zone_id
    fo = lab.dns.failover
    fqdn = lab.dns.fqdn(fo.record)
    zid = zone_id(ctx, lab.dns.zone)
    out = {}
    for r in ctx.cloudflare.dns.records.list(zone_id=zid, name={"exact": fqdn}, type="A", per_page=100):
        node = node_of(r.comment, (fo.owner,))
        if node and r.name == fqdn:
            out[node] = r.content
    return out


def deployed(lab, api) -> list[Result]:
    v = view(lab, api)
    return [Result("watcher-running", lab.dns.failover.namespace, v.pod is not None and v.ready,
                   f"pod {v.pod} ready" if v.pod and v.ready else ("no running pod" if v.pod is None else
                                                                   f"pod {v.pod} not ready" +
                                                                   (f": {v.logs[-1]}" if v.logs else "")),
                   {"log": v.logs[-10:]})]


def changes_in_log(lines: list[str]) -> list[str]:
    return [ln for ln in lines if re.search(r"\) (added|removed):|every node is out", ln)]
