"""Ingress on the workers, as bouquet2 runs it: Traefik (the Kubernetes Ingress provider) as a DaemonSet answering
HTTPS on each worker's port 443 (hostPort), the IngressClass `traefik` as the default, and the suite's own
canary app (traefik/whoami) behind an Ingress for the round-robin host, the subject the failover scenarios probe.

Manifests follow Traefik's documentation for the Kubernetes Ingress provider (the RBAC it needs: ingresses,
ingressclasses, services, endpointslices, secrets to read; ingresses/status to write) with the entry points on
8000/8443 mapped to the node's 80/443.
"""
from __future__ import annotations

from typing import Any

from labsim.provisioners.cloud import kubeobjects as K
from labsim.provisioners.vocabulary import Result

TRAEFIK_IMAGE = "docker.io/traefik:v3.3.4"
WHOAMI_IMAGE = "docker.io/traefik/whoami:v1.10.3"
TRAEFIK_NS = "traefik"
APP_NS = "labsim-ingress"
APP = "whoami"


def manifests(lab, workers: int) -> list[dict[str, Any]]:
    host = failover_host(lab)
    labels = {"app.kubernetes.io/name": "traefik"}
    app_labels = {"app.kubernetes.io/name": APP}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": TRAEFIK_NS}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "traefik", "namespace": TRAEFIK_NS}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "traefik"},
         "rules": [{"apiGroups": [""], "resources": ["services", "secrets", "nodes"], "verbs": ["get", "list", "watch"]},
                   {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"],
                    "verbs": ["get", "list", "watch"]},
                   {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses", "ingressclasses"],
                    "verbs": ["get", "list", "watch"]},
                   {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses/status"], "verbs": ["update"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "traefik"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "traefik"},
         "subjects": [{"kind": "ServiceAccount", "name": "traefik", "namespace": TRAEFIK_NS}]},
        {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
         "metadata": {"name": "traefik", "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"}},
         "spec": {"controller": "traefik.io/ingress-controller"}},
        {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "traefik", "namespace": TRAEFIK_NS,
                                                                    "labels": labels},
         "spec": {"selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": {
             "serviceAccountName": "traefik",
             "containers": [{"name": "traefik", "image": TRAEFIK_IMAGE,
                             "args": ["--providers.kubernetesingress", "--entryPoints.web.address=:8000",
                                      "--entryPoints.websecure.address=:8443", "--entryPoints.websecure.http.tls",
                                      "--ping"],
                             "ports": [{"name": "web", "containerPort": 8000, "hostPort": 80, "protocol": "TCP"},
                                       {"name": "websecure", "containerPort": 8443, "hostPort": 443,
                                        "protocol": "TCP"}],
                             "readinessProbe": {"httpGet": {"path": "/ping", "port": 8080}, "periodSeconds": 10}}]}}}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": APP_NS}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": APP, "namespace": APP_NS,
                                                                     "labels": app_labels},
         "spec": {"replicas": max(1, workers), "selector": {"matchLabels": app_labels},
                  "template": {"metadata": {"labels": app_labels}, "spec": {
                      "containers": [{"name": APP, "image": WHOAMI_IMAGE, "ports": [{"containerPort": 80}]}]}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": APP, "namespace": APP_NS},
         "spec": {"selector": app_labels, "ports": [{"name": "http", "port": 80, "targetPort": 80, "protocol": "TCP"}]}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": APP, "namespace": APP_NS},
         "spec": {"ingressClassName": "traefik", "rules": [{"host": host, "http": {"paths": [
             {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": APP, "port": {"number": 80}}}}]}}]}},
    ]


def failover_host(lab) -> str:
    fo = lab.dns.failover
    return fo.host or lab.dns.fqdn(fo.record)


def provision(lab, api, workers: int) -> list[str]:
    dyn = K.client(api)
    done = []
    for obj in manifests(lab, workers):
        what = K.ensure(dyn, obj)
        if what:
            md = obj["metadata"]
            done.append(f"{obj['kind']} {md.get('namespace', '') + '/' if md.get('namespace') else ''}{md['name']}: "
                        f"{what}")
    return done


def verify(lab, api, workers: list[str]) -> list[Result]:
    """Read-only: a Traefik pod runs and is ready on every worker; the canary app answers behind its Ingress."""
    from kubernetes import client
    core = client.CoreV1Api(api)
    pods = core.list_namespaced_pod(TRAEFIK_NS, label_selector="app.kubernetes.io/name=traefik").items
    out = []
    for w in workers:
        mine = [p for p in pods if p.spec.node_name == w]
        ok = any(p.status.phase == "Running" and any(c.type == "Ready" and c.status == "True"
                                                     for c in p.status.conditions or []) for p in mine)
        out.append(Result("ingress-controller", w, ok, "Traefik runs and is ready" if ok else
                          (f"Traefik pod {mine[0].status.phase}" if mine else "no Traefik pod on this worker")))
    return out
