"""Ways to break a simulated lab for features/mesh_failover.feature (`--sim-break NAME`), each the opposite of what
a scenario claims. They act as an engineer at the keyboard (helm, the Kubernetes API, a router's API) or change how
the lab was built (a second route between the VLANs, a provisioner that skips its checks).

`AFTER[name]` is the step after which the harness applies it (labsim/steps/breakages.py `breaks_after`).
"""
from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

BUILT = "the mesh of the lab file is built"
COPY_BUILT = "the mesh of that copy is built"
CLUSTERS = "the Talos clusters of the mesh are healthy with Cilium"
CHECKS = "the lab file passes its intent checks"
SETTLE = 15.0          # lab seconds for a change to reach the agents


def _kubeconfig(target, cluster: str) -> Path:
    return Path(target.workdir) / "talos" / cluster / "kubeconfig"


def _kube(target, cluster: str):
    from labsim.provisioners.mesh.kube import MeshKube
    return MeshKube(_kubeconfig(target, cluster))


def _helm(target, cluster: str, *args: str) -> None:
    subprocess.run(["helm", *args, "--kubeconfig", str(_kubeconfig(target, cluster))], env=target.tool_env(),
                   check=True, capture_output=True)


def _set(target, cluster: str, *sets: str) -> None:
    """An engineer changes the cilium release by hand: helm upgrade --reuse-values --set ..."""
    _helm(target, cluster, "repo", "add", "cilium", "https://helm.cilium.io/")
    args = [a for s in sets for a in ("--set", s)]
    _helm(target, cluster, "upgrade", "cilium", "cilium/cilium", "--version", "1.18.5", "-n", "kube-system",
          "--reuse-values", *args)
    target.clock.sleep(SETTLE)


def plan_checks_skipped(target, monkeypatch) -> None:
    """A mesh provisioner that forgets to check the lab file before touching clusters."""
    from labsim.provisioners.mesh import run
    monkeypatch.setattr(run, "plan_checks", lambda lab: [])


def west_ca_shared_early(target, monkeypatch) -> None:
    """Someone already copied east's cilium-ca to west and re-rendered west's chart."""
    east, west = _kube(target, "talos-east"), _kube(target, "talos-west")
    ca = east.get("Secret", "cilium-ca", "kube-system")
    cur = west.get("Secret", "cilium-ca", "kube-system")
    west.apply({"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "data": ca["data"],
                "metadata": {"name": "cilium-ca", "namespace": "kube-system",
                             "labels": cur["metadata"].get("labels") or {},
                             "annotations": cur["metadata"].get("annotations") or {}}})
    _set(target, "talos-west", "operator.replicas=2")


def routing_removed(target, monkeypatch) -> None:
    api = target.routeros("rb5009-01")
    row = next(r for r in api.path("ip", "address") if r.get("interface") == "VLAN2000")
    api.path("ip", "address").update(**{".id": row[".id"], "disabled": True})
    target.clock.sleep(SETTLE)


def settings_drift(target, monkeypatch) -> None:
    _set(target, "talos-east", "clustermesh.cacheTTL=5m")


def echo_local_affinity_none(target, monkeypatch) -> None:
    _kube(target, "talos-east").core.patch_namespaced_service(
        "echo-local", "mesh-demo", {"metadata": {"annotations": {"service.cilium.io/affinity": "none"}}})
    target.clock.sleep(SETTLE)


def west_echo_local_gone(target, monkeypatch) -> None:
    _kube(target, "talos-west").scale("echo-local", "mesh-demo", 0)
    target.clock.sleep(SETTLE)


def canary_weights_even(target, monkeypatch) -> None:
    kube = _kube(target, "talos-east")
    cec = kube.get("CiliumEnvoyConfig", "echo-canary", "mesh-demo")
    text = json.dumps(cec).replace('"weight": 25', '"weight": 50').replace('"weight": 75', '"weight": 50')
    kube.custom.replace_namespaced_custom_object("cilium.io", "v2", "mesh-demo", "ciliumenvoyconfigs", "echo-canary",
                                                 json.loads(text))
    target.clock.sleep(SETTLE)


def echo_replicas_even(target, monkeypatch) -> None:
    _kube(target, "talos-west").scale("echo", "mesh-demo", 1)
    target.clock.sleep(SETTLE)


def east_apiserver_unschedulable(target, monkeypatch) -> None:
    """The clustermesh-apiserver's pods can only go to a node that does not exist: once gone, it cannot return."""
    _kube(target, "talos-east").apps.patch_namespaced_deployment(
        "clustermesh-apiserver", "kube-system",
        {"spec": {"template": {"spec": {"nodeSelector": {"kubernetes.io/hostname": "no-such-node"}}}}})
    target.clock.sleep(SETTLE)


def cache_ttl_set_by_hand(target, monkeypatch) -> None:
    _set(target, "talos-east", "clustermesh.cacheTTL=1m")


def cache_ttl_reset(target, monkeypatch) -> None:
    _set(target, "talos-east", "clustermesh.cacheTTL=0s")


def static_route_between_vlans(target, monkeypatch) -> None:
    """A second way between the VLANs: rb5009-01 also routes VLAN2000's subnet through rb5009-02."""
    target.routeros("rb5009-01").path("ip", "route").add(**{"dst-address": "192.168.20.0/24",
                                                             "gateway": "192.168.15.3"})


# --- policy (features/mesh_policy.feature): an engineer's hand on the CiliumNetworkPolicies ----------------------------
def _policy_subjects(target):
    """The first two members and the frontend application's services, as the policy scenarios take them."""
    from labsim.steps.subjects import SELECTORS
    pair = SELECTORS["the first two mesh members"].resolve(target.lab)[0].attrs
    app = SELECTORS["the mesh's frontend application"].resolve(target.lab)[0]
    ns = next(g.namespace for g in target.lab.mesh.global_services if g.name == app.attrs["remote"])
    return pair, app, ns


def _cnp(target, cluster: str, name: str, ns: str, spec: dict) -> None:
    _kube(target, cluster).apply({"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
                                  "metadata": {"name": name, "namespace": ns}, "spec": spec})
    target.clock.sleep(SETTLE)


def policy_allow_all_by_hand(target, monkeypatch) -> None:
    """Someone "fixes" a client by hand in the second member: every endpoint of the namespace takes ingress from all."""
    pair, _, ns = _policy_subjects(target)
    _cnp(target, pair["b"], "allow-all-debug", ns, {"endpointSelector": {}, "ingress": [{"fromEntities": ["all"]}]})


def policy_deleted_by_hand(target, monkeypatch) -> None:
    """The remote-affinity service's access policy deleted by hand in the second member (kubectl delete cnp)."""
    from labsim.provisioners.mesh.demo import POLICY_PREFIX
    pair, app, ns = _policy_subjects(target)
    _kube(target, pair["b"]).delete("CiliumNetworkPolicy", POLICY_PREFIX + app.attrs["remote"], ns)
    _kube(target, pair["b"]).delete("CiliumNetworkPolicy", POLICY_PREFIX + app.attrs["local"], ns)
    target.clock.sleep(SETTLE)


def policy_deny_first_member_by_hand(target, monkeypatch) -> None:
    """A deny rule applied by hand in the second member: nothing from the first member's cluster reaches its
    local-affinity backends (so a failover from the first member lands on a wall)."""
    pair, app, ns = _policy_subjects(target)
    _cnp(target, pair["b"], "deny-first-member", ns, {
        "endpointSelector": {"matchLabels": {"app": app.attrs["local"]}},
        "ingressDeny": [{"fromEndpoints": [{"matchLabels": {"io.cilium.k8s.policy.cluster": pair["a cilium"],
                                                            "io.kubernetes.pod.namespace": ns}}]}]})


def clusterwide_deny_first_member_by_hand(target, monkeypatch) -> None:
    """A CiliumClusterwideNetworkPolicy applied by hand in the second member: no pod of the first member's cluster
    reaches any of its endpoints (cilium-cli's test workloads included)."""
    pair, _, _ = _policy_subjects(target)
    _kube(target, pair["b"]).custom.create_cluster_custom_object(
        "cilium.io", "v2", "ciliumclusterwidenetworkpolicies",
        {"apiVersion": "cilium.io/v2", "kind": "CiliumClusterwideNetworkPolicy",
         "metadata": {"name": "deny-first-member"},
         "spec": {"endpointSelector": {}, "ingressDeny": [{"fromEndpoints": [
             {"matchLabels": {"io.cilium.k8s.policy.cluster": pair["a cilium"]}}]}]}})
    target.clock.sleep(SETTLE)


MESH_BREAKAGES: dict[str, Callable] = {
    "mesh-clusterwide-deny-first-member-by-hand": clusterwide_deny_first_member_by_hand,
    "mesh-policy-allow-all-by-hand": policy_allow_all_by_hand,
    "mesh-policy-deleted-by-hand": policy_deleted_by_hand,
    "mesh-policy-deny-first-member-by-hand": policy_deny_first_member_by_hand,
    "mesh-plan-checks-skipped": plan_checks_skipped,
    "mesh-west-ca-shared-early": west_ca_shared_early,
    "mesh-routing-removed": routing_removed,
    "mesh-settings-drift": settings_drift,
    "mesh-echo-local-affinity-none": echo_local_affinity_none,
    "mesh-west-echo-local-gone": west_echo_local_gone,
    "mesh-canary-weights-even": canary_weights_even,
    "mesh-echo-replicas-even": echo_replicas_even,
    "mesh-east-apiserver-unschedulable": east_apiserver_unschedulable,
    "mesh-cache-ttl-set-by-hand": cache_ttl_set_by_hand,
    "mesh-cache-ttl-reset": cache_ttl_reset,
    "mesh-static-route-between-vlans": static_route_between_vlans,
}
AFTER: dict[str, str] = {
    "mesh-plan-checks-skipped": CHECKS,
    "mesh-west-ca-shared-early": CLUSTERS,
    "mesh-cache-ttl-reset": COPY_BUILT,
}


def breaks_after(name: str) -> str:
    return AFTER.get(name, BUILT)
