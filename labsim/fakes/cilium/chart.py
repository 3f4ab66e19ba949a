"""The cilium Helm chart (helm.cilium.io, install/kubernetes/cilium), reduced to the objects that matter to
the lab's health and mesh, rendered from the merged values like `helm template` would.

Defaults are the chart's (values.yaml of 1.18) for the keys read here. Rendered: ServiceAccounts, the
`cilium-config` ConfigMap (cluster-name, cluster-id, ipam, kube-proxy-replacement, ...), the agent
DaemonSet `cilium` (k8s-app=cilium; init containers with the capabilities from
`securityContext.capabilities`, `mount-cgroup` only with cgroup.autoMount.enabled, KUBERNETES_SERVICE_HOST
/PORT from k8sServiceHost/k8sServicePort), the `cilium-operator` Deployment (operator.replicas), the
`cilium-ca` Secret (the chart's `tls.ca` when Hubble or the clustermesh-apiserver uses Helm-generated
certificates) and, with clustermesh.useAPIServer, the clustermesh-apiserver Deployment, Service (type and
nodePort from values) and its certificates, and each component's ClusterRole and ClusterRoleBinding
(data/rbac.yaml). Left out: the namespaced Roles, Envoy, Hubble relay/UI.
"""
from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

REPO_URL = "https://helm.cilium.io/"
VERSIONS = ["1.16.0", "1.16.5", "1.16.9", "1.17.0", "1.17.5", "1.17.9", "1.18.0", "1.18.3", "1.18.4", "1.18.5"]

DEFAULTS: dict[str, Any] = {
    "cluster": {"name": "default", "id": 0},
    "ipam": {"mode": "cluster-pool"},
    "kubeProxyReplacement": "false",
    "k8sServiceHost": "",
    "k8sServicePort": "",
    "routingMode": "tunnel",
    "tunnelProtocol": "vxlan",
    "identityAllocationMode": "crd",
    "securityContext": {"capabilities": {
        "ciliumAgent": ["CHOWN", "KILL", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "SYS_MODULE", "SYS_ADMIN",
                        "SYS_RESOURCE", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"],
        "mountCgroup": ["SYS_ADMIN", "SYS_CHROOT", "SYS_PTRACE"],
        "applySysctlOverwrites": ["SYS_ADMIN", "SYS_CHROOT", "SYS_PTRACE"],
        "cleanCiliumState": ["NET_ADMIN", "SYS_MODULE", "SYS_ADMIN", "SYS_RESOURCE"],
    }},
    "cgroup": {"autoMount": {"enabled": True}, "hostRoot": "/run/cilium/cgroupv2"},
    "operator": {"replicas": 2},
    "l2announcements": {"enabled": False},
    "hubble": {"enabled": True, "tls": {"enabled": True, "auto": {"enabled": True, "method": "helm"}}},
    "clustermesh": {"useAPIServer": False, "maxConnectedClusters": 255,
                    "apiserver": {"replicas": 1, "kvstoremesh": {"enabled": True},
                                  "service": {"type": "NodePort", "nodePort": 32379},
                                  "tls": {"auto": {"enabled": True, "method": "helm"}}}},
    "bpf": {"masquerade": False},
}

NOTES = ("You have successfully installed Cilium with Hubble.\n\nYour release version is {version}.\n\n"
         "For any further help, visit https://docs.cilium.io/en/v{minor}/gettinghelp")


class ChartError(Exception):
    """A `fail` in the chart's templates: helm prints it as `execution error at (<template>): <msg>`."""

    def __init__(self, template: str, message: str):
        super().__init__(f"execution error at ({template}): {message}")


# --- values ---------------------------------------------------------------------------------------------------
def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in (over or {}).items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else copy.deepcopy(v)
    return out


def get(values: dict[str, Any], path: str, default: Any = None) -> Any:
    cur: Any = values
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return default
        cur = cur[part]
    return cur


def _s(v: Any) -> str:
    return ("true" if v else "false") if isinstance(v, bool) else str(v)


def validate(values: dict[str, Any]) -> None:
    """The chart's own `fail`s (templates/validate.yaml) for what a lab file can get wrong. (inferred texts)"""
    kpr = _s(get(values, "kubeProxyReplacement"))
    if kpr not in ("true", "false"):
        raise ChartError("cilium/templates/validate.yaml:2:4",
                         "kubeProxyReplacement must be explicitly set to a valid value (true or false) to continue.")
    cid = int(get(values, "cluster.id", 0) or 0)
    max_id = 511 if int(get(values, "clustermesh.maxConnectedClusters", 255)) == 511 else 255
    if not 0 <= cid <= max_id:
        raise ChartError("cilium/templates/validate.yaml:120:5",
                         f"The cluster.id must be between 0 and {max_id}, got {cid}")
    if get(values, "clustermesh.useAPIServer") and cid == 0:
        raise ChartError("cilium/templates/clustermesh-apiserver/deployment.yaml:3:4",
                         "The clustermesh-apiserver requires cluster.id to be set to a non-zero value")


# --- objects --------------------------------------------------------------------------------------------------
def _meta(name: str, ns: str, labels: dict[str, str], release: str) -> dict[str, Any]:
    return {"name": name, "namespace": ns,
            "labels": {**labels, "app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/part-of": "cilium"},
            "annotations": {"meta.helm.sh/release-name": release, "meta.helm.sh/release-namespace": ns}}


def _image(name: str, version: str) -> str:
    return f"quay.io/cilium/{name}:v{version}"   # the real chart also pins a digest; we do not know it


def _api_env(values: dict[str, Any]) -> list[dict[str, Any]]:
    host, port = get(values, "k8sServiceHost"), get(values, "k8sServicePort")
    env = []
    if host:
        env.append({"name": "KUBERNETES_SERVICE_HOST", "value": str(host)})
    if port:
        env.append({"name": "KUBERNETES_SERVICE_PORT", "value": str(port)})
    return env


def _caps(values: dict[str, Any], key: str) -> dict[str, Any]:
    return {"capabilities": {"add": list(get(values, f"securityContext.capabilities.{key}") or []), "drop": ["ALL"]},
            "seLinuxOptions": {"level": "s0", "type": "spc_t"}}


def config_map(values: dict[str, Any], ns: str, release: str) -> dict[str, Any]:
    data = {
        "cluster-name": str(get(values, "cluster.name")), "cluster-id": str(get(values, "cluster.id")),
        "ipam": str(get(values, "ipam.mode")), "kube-proxy-replacement": _s(get(values, "kubeProxyReplacement")),
        "identity-allocation-mode": str(get(values, "identityAllocationMode")),
        "routing-mode": str(get(values, "routingMode")), "tunnel-protocol": str(get(values, "tunnelProtocol")),
        "cgroup-root": str(get(values, "cgroup.hostRoot")),
        "enable-l2-announcements": _s(get(values, "l2announcements.enabled", False)),
        "enable-bpf-masquerade": _s(get(values, "bpf.masquerade", False)),
        "max-connected-clusters": str(get(values, "clustermesh.maxConnectedClusters")),
        "enable-hubble": _s(get(values, "hubble.enabled")), "enable-ipv4": "true", "enable-ipv6": "false",
    }
    if get(values, "clustermesh.useAPIServer"):
        data["clustermesh-enable-endpoint-sync"] = "false"
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta("cilium-config", ns, {}, release), "data": data}


def agent_daemonset(values: dict[str, Any], ns: str, release: str, version: str) -> dict[str, Any]:
    image = _image("cilium", version)
    inits = [{"name": "config", "image": image, "command": ["cilium-dbg", "build-config"]}]
    if get(values, "cgroup.autoMount.enabled"):
        inits.append({"name": "mount-cgroup", "image": image,
                      "env": [{"name": "CGROUP_ROOT", "value": str(get(values, "cgroup.hostRoot"))},
                              {"name": "BIN_PATH", "value": "/opt/cni/bin"}],
                      "command": ["sh", "-ec", ("cp /usr/bin/cilium-mount /hostbin/cilium-mount; nsenter --cgroup="
                                                "/hostproc/1/ns/cgroup --mount=/hostproc/1/ns/mnt "
                                                "\"${BIN_PATH}/cilium-mount\" $CGROUP_ROOT; rm /hostbin/cilium-mount")],
                      "securityContext": _caps(values, "mountCgroup")})
    inits += [{"name": "apply-sysctl-overwrites", "image": image, "securityContext": _caps(values, "applySysctlOverwrites")},
              {"name": "mount-bpf-fs", "image": image, "securityContext": {"privileged": True}},
              {"name": "clean-cilium-state", "image": image, "command": ["/init-container.sh"],
               "env": _api_env(values), "securityContext": _caps(values, "cleanCiliumState")},
              {"name": "install-cni-binaries", "image": image, "command": ["/install-plugin.sh"]}]
    labels = {"k8s-app": "cilium", "app.kubernetes.io/name": "cilium-agent"}
    agent = {"name": "cilium-agent", "image": image, "command": ["cilium-agent"],
             "args": ["--config-dir=/tmp/cilium/config-map"],
             "env": [{"name": "K8S_NODE_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1",
                                                                          "fieldPath": "spec.nodeName"}}},
                     {"name": "CILIUM_K8S_NAMESPACE", "valueFrom": {"fieldRef": {"apiVersion": "v1",
                                                                                 "fieldPath": "metadata.namespace"}}},
                     *_api_env(values)],
             "readinessProbe": {"httpGet": {"host": "127.0.0.1", "path": "/healthz", "port": 9879,
                                            "scheme": "HTTP"}, "periodSeconds": 30, "failureThreshold": 3},
             "securityContext": _caps(values, "ciliumAgent")}
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": _meta("cilium", ns, labels, release),
            "spec": {"selector": {"matchLabels": {"k8s-app": "cilium"}},
                     "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 2}},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"hostNetwork": True, "serviceAccountName": "cilium",
                                           "priorityClassName": "system-node-critical",
                                           "restartPolicy": "Always", "tolerations": [{"operator": "Exists"}],
                                           "initContainers": inits, "containers": [agent]}}}}


def operator_deployment(values: dict[str, Any], ns: str, release: str, version: str) -> dict[str, Any]:
    labels = {"io.cilium/app": "operator", "name": "cilium-operator", "app.kubernetes.io/name": "cilium-operator"}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta("cilium-operator", ns, labels, release),
            "spec": {"replicas": int(get(values, "operator.replicas", 2)),
                     "selector": {"matchLabels": {"io.cilium/app": "operator", "name": "cilium-operator"}},
                     "strategy": {"type": "RollingUpdate",
                                  "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "50%"}},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"hostNetwork": True, "serviceAccountName": "cilium-operator",
                                           "priorityClassName": "system-cluster-critical",
                                           "tolerations": [{"operator": "Exists"}],
                                           "containers": [{"name": "cilium-operator",
                                                           "image": f"quay.io/cilium/operator-generic:v{version}",
                                                           "command": ["cilium-operator-generic"],
                                                           "env": _api_env(values)}]}}}}


def _secret(name: str, ns: str, release: str, data: dict[str, str], typ: str = "Opaque") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": _meta(name, ns, {}, release), "type": typ,
            "data": data}


def clustermesh(values: dict[str, Any], ns: str, release: str, version: str,
                issue: Callable[[str], dict[str, str]]) -> list[dict[str, Any]]:
    labels = {"k8s-app": "clustermesh-apiserver", "app.kubernetes.io/name": "clustermesh-apiserver"}
    svc = get(values, "clustermesh.apiserver.service", {})
    port = {"name": "apiserv", "port": 2379, "protocol": "TCP", "targetPort": "apiserv"}
    if svc.get("type", "NodePort") == "NodePort" and svc.get("nodePort"):
        port["nodePort"] = int(svc["nodePort"])
    containers = [{"name": "etcd", "image": _image("clustermesh-apiserver", version), "command": ["/usr/bin/etcd"]},
                  {"name": "apiserver", "image": _image("clustermesh-apiserver", version),
                   "command": ["/usr/bin/clustermesh-apiserver"], "args": ["clustermesh"],
                   "ports": [{"name": "apiserv", "containerPort": 2379, "protocol": "TCP"}]}]
    if get(values, "clustermesh.apiserver.kvstoremesh.enabled"):
        containers.append({"name": "kvstoremesh", "image": _image("clustermesh-apiserver", version),
                           "command": ["/usr/bin/clustermesh-apiserver"], "args": ["kvstoremesh"]})
    out = [{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta("clustermesh-apiserver", ns, labels, release),
            "spec": {"replicas": int(get(values, "clustermesh.apiserver.replicas", 1)),
                     "selector": {"matchLabels": {"k8s-app": "clustermesh-apiserver"}},
                     "template": {"metadata": {"labels": labels,
                                               # the chart's clustermesh.apiserver.podAnnotations
                                               **({"annotations": dict(get(values, "clustermesh.apiserver.podAnnotations"))}
                                                  if get(values, "clustermesh.apiserver.podAnnotations") else {})},
                                  "spec": {"serviceAccountName": "clustermesh-apiserver", "containers": containers,
                                           "tolerations": [{"operator": "Exists"}]}}}},
           {"apiVersion": "v1", "kind": "Service", "metadata": _meta("clustermesh-apiserver", ns, labels, release),
            "spec": {"type": svc.get("type", "NodePort"), "selector": {"k8s-app": "clustermesh-apiserver"},
                     "ports": [port]}}]
    for name in ("server", "admin", "remote"):
        out.append(_secret(f"clustermesh-apiserver-{name}-cert", ns, release, issue(name), "kubernetes.io/tls"))
    return out


@functools.cache
def rbac_data() -> dict[str, Any]:
    """data/rbac.yaml: per component, the chart's ClusterRole rules and what the component needs at start."""
    return yaml.safe_load((Path(__file__).with_name("data") / "rbac.yaml").read_text())["components"]


def rbac(values: dict[str, Any], ns: str, release: str) -> list[dict[str, Any]]:
    """Each rendered component's ClusterRole and the ClusterRoleBinding to its ServiceAccount."""
    out: list[dict[str, Any]] = []
    for name, comp in rbac_data().items():
        if comp["when"] != "always" and not get(values, comp["when"]):
            continue
        meta = _meta(name, ns, {}, release)
        del meta["namespace"]
        out.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                    "metadata": copy.deepcopy(meta), "rules": copy.deepcopy(comp["rules"])})
        out.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                    "metadata": copy.deepcopy(meta),
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
                    "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": ns}]})
    return out


def render(values: dict[str, Any], *, release: str, namespace: str, version: str,
           ca: dict[str, str], issue: Callable[[str], dict[str, str]]) -> list[dict[str, Any]]:
    """The manifests, in helm's install order (ServiceAccount, Secret, ConfigMap, ClusterRole, ClusterRoleBinding,
    Service, DaemonSet, Deployment: helm's releaseutil.InstallOrder).
    `ca`: the cilium-ca data (ca.crt, ca.key; an existing one is reused on upgrade); `issue(name)`: a leaf
    certificate signed by it, as tls.crt/tls.key/ca.crt."""
    validate(values)
    ns = namespace
    objs: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(n, ns, {}, release)}
        for n in ("cilium", "cilium-operator") + (("clustermesh-apiserver",) if get(values, "clustermesh.useAPIServer")
                                                   else ())]
    if get(values, "clustermesh.useAPIServer") or get(values, "hubble.tls.enabled"):
        objs.append(_secret("cilium-ca", ns, release, ca))
    objs.append(config_map(values, ns, release))
    objs += rbac(values, ns, release)
    if get(values, "clustermesh.useAPIServer"):
        objs += clustermesh(values, ns, release, version, issue)
    objs.append(agent_daemonset(values, ns, release, version))
    objs.append(operator_deployment(values, ns, release, version))
    # clustermesh.config (what `cilium clustermesh connect` writes) and the mesh keys of cilium-config
    from labsim.fakes.cilium import chart_mesh
    objs = chart_mesh.apply(objs, values, ns)
    order = {"ServiceAccount": 0, "Secret": 1, "ConfigMap": 2, "ClusterRole": 3, "ClusterRoleBinding": 4,
             "Service": 5, "DaemonSet": 6, "Deployment": 7}
    return sorted(objs, key=lambda o: order.get(o["kind"], 9))
