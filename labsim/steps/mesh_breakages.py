"""Ways to break a simulated lab for features/mesh_failover.feature and mesh_policy.feature (`--sim-break NAME`),
each the opposite of what a scenario claims. They act as an engineer at the keyboard (helm, the Kubernetes API, a
router's API, a lab file edited by hand) on the subjects the scenarios take from the lab file (the first two mesh
members, the router between them, the mesh's services and canary). The registry and its rules are in
labsim/steps/breaking.py.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml

from labsim import fastyaml, yamlbounds
from labsim.steps.breaking import Strike, breakage

BUILT = "the mesh of the lab file is built"
COPY_BUILT = "the mesh of that copy is built"
CLUSTERS = "the Talos clusters of the mesh are healthy with Cilium"
SETTLE = 15.0          # lab seconds for a change to reach the agents


def _pair(target) -> dict[str, str]:
    from labsim.steps.subjects import SELECTORS
    return SELECTORS["the first two mesh members"].resolve(target.lab)[0].attrs


def _service(target, affinity: str) -> tuple[str, str]:
    """(name, namespace) of the mesh's global service with this affinity."""
    from labsim.provisioners.mesh.workload import workload
    g = workload(target.lab).with_affinity(affinity)
    return g.name, g.namespace


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
    version = str(target.lab.cluster(cluster).cilium.version)
    _helm(target, cluster, "repo", "add", "cilium", "https://helm.cilium.io/")
    args = [a for s in sets for a in ("--set", s)]
    _helm(target, cluster, "upgrade", "cilium", "cilium/cilium", "--version", version, "-n", "kube-system",
          "--reuse-values", *args)
    target.clock.sleep(SETTLE)


@breakage("mesh-broken-copy-put-right", after="a copy of the lab file where <change>")
def broken_copy_put_right(target, at: Strike) -> None:
    """Someone puts the copy's clusters back as the lab file has them before the run: the copy the run is handed is
    valid, so a refusal would be refusing without looking."""
    copy = at.request.getfixturevalue("mesh").copy
    data = fastyaml.load(copy.read_text())
    data["clusters"] = yamlbounds.load_file(target.labfile)["clusters"]
    copy.write_text(fastyaml.dump(data, sort_keys=False))


@breakage("mesh-ca-shared-early", after=CLUSTERS)
def ca_shared_early(target, at: Strike) -> None:
    """Someone already copied the first member's cilium-ca to the second and re-rendered its chart."""
    p = _pair(target)
    first, second = _kube(target, p["a"]), _kube(target, p["b"])
    ca = first.get("Secret", "cilium-ca", "kube-system")
    cur = second.get("Secret", "cilium-ca", "kube-system")
    second.apply({"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "data": ca["data"],
                  "metadata": {"name": "cilium-ca", "namespace": "kube-system",
                               "labels": cur["metadata"].get("labels") or {},
                               "annotations": cur["metadata"].get("annotations") or {}}})
    _set(target, p["b"], "operator.replicas=2")


@breakage("mesh-routing-removed", after=BUILT)
def routing_removed(target, at: Strike) -> None:
    """The router between the first two members has its address in the second's VLAN disabled by hand."""
    from labsim.steps.subjects import SELECTORS
    r = SELECTORS["the router between the first two mesh members"].resolve(target.lab)[0]
    api = target.routeros(r.name)
    row = next(x for x in api.path("ip", "address") if x.get("interface") == r.attrs["vlan"])
    api.path("ip", "address").update(**{".id": row[".id"], "disabled": True})
    target.clock.sleep(SETTLE)


@breakage("mesh-lost-member-powered-on", before="cilium clustermesh status of <a> names <b> as not connected")
def lost_member_powered_on(target, at: Strike) -> None:
    """Someone powers every machine of the lost member back on (Proxmox start) before its status is judged."""
    from labsim.steps import proxmox_hands
    from labsim.steps.mesh_steps import _member
    lost = _member(target.lab, _pair(target)["b"])
    for vm in target.lab.cluster(lost).vms():
        proxmox_hands.start(target, vm.name)
    target.clock.sleep(180)


@breakage("mesh-settings-drift", after=BUILT)
def settings_drift(target, at: Strike) -> None:
    _set(target, _pair(target)["a"], "clustermesh.cacheTTL=5m")


@breakage("mesh-cilium-config-edited-by-hand", after=BUILT)
def cilium_config_edited_by_hand(target, at: Strike) -> None:
    """`kubectl edit cm cilium-config` in the first member: max-connected-clusters changed by hand."""
    limit = target.lab.mesh.max_connected_clusters
    _kube(target, _pair(target)["a"]).core.patch_namespaced_config_map(
        "cilium-config", "kube-system", {"data": {"max-connected-clusters": "511" if limit == 255 else "255"}})


@breakage("mesh-local-affinity-none", after=BUILT)
def local_affinity_none(target, at: Strike) -> None:
    """The local-affinity service's affinity annotation set to none by hand in the first member."""
    name, ns = _service(target, "local")
    _kube(target, _pair(target)["a"]).core.patch_namespaced_service(
        name, ns, {"metadata": {"annotations": {"service.cilium.io/affinity": "none"}}})
    target.clock.sleep(SETTLE)


@breakage("mesh-second-local-backends-gone", after=BUILT)
def second_local_backends_gone(target, at: Strike) -> None:
    """The local-affinity service's backends in every member the first one is connected to (the second, and in a
    mesh of three the third too) scaled to 0 by hand: nowhere to fail over to."""
    from labsim.provisioners.mesh.workload import sees
    name, ns = _service(target, "local")
    first = _pair(target)["a"]
    for member in sees(target.lab, first)[1:]:
        _member_kube(target, member).scale(name, ns, 0)
    target.clock.sleep(SETTLE)


def _member_kube(target, cluster: str):
    """A member's API as an engineer reaches it: a Talos member's kubeconfig from talosctl, an RKE2 member's own."""
    from labsim.provisioners.mesh.kube import MeshKube
    if target.lab.cluster(cluster).distribution == "rke2":
        return MeshKube(target.kubeconfig(cluster))
    return _kube(target, cluster)


@breakage("mesh-third-member-backends-changed-by-hand", after=BUILT)
def third_member_backends_changed_by_hand(target, at: Strike) -> None:
    """In a mesh of three, an engineer rescales the third member's backends by hand (`kubectl scale` there): the
    affinity-none service to three more than the lab file says, the local-affinity one to 0, the remote-affinity one
    to two more. What the first member's requests get from each member is no longer what the lab file says."""
    from labsim.provisioners.mesh.workload import sees, workload
    lab = target.lab
    seen = sees(lab, _pair(target)["a"])
    if len(seen) < 3:
        raise AssertionError(f"mesh-third-member-backends-changed-by-hand needs a mesh of three; this one has {seen}")
    third = seen[2]
    kube = _member_kube(target, third)
    for g in workload(lab).services:
        have = int(g.replicas.get(third, 0))
        kube.scale(g.name, g.namespace, {"none": have + 3, "local": 0, "remote": have + 2}[g.affinity])
    target.clock.sleep(SETTLE)


@breakage("mesh-canary-weights-even", after=BUILT)
def canary_weights_even(target, at: Strike) -> None:
    """The canary's CiliumEnvoyConfig edited by hand in the first member: every backend weighs the same."""
    from labsim.provisioners.mesh.workload import workload
    c = workload(target.lab).canary
    kube = _kube(target, _pair(target)["a"])
    cec = kube.get("CiliumEnvoyConfig", c.name, c.namespace)

    def even(node):
        if isinstance(node, dict):
            return {k: (50 if k == "weight" else even(v)) for k, v in node.items()}
        return [even(v) for v in node] if isinstance(node, list) else node
    kube.custom.replace_namespaced_custom_object("cilium.io", "v2", c.namespace, "ciliumenvoyconfigs", c.name,
                                                 json.loads(json.dumps(even(cec))))
    target.clock.sleep(SETTLE)


@breakage("mesh-none-replicas-even", after=(BUILT, COPY_BUILT))
def none_replicas_even(target, at: Strike) -> None:
    """The affinity-none service scaled by hand in the second member to as many backends as the first has: Cilium
    picks one backend per connection at random among all of them, so each member's share is its share of the
    backends (https://docs.cilium.io/en/stable/network/clustermesh/services/), no longer the lab file's."""
    name, ns = _service(target, "none")
    p = _pair(target)
    from labsim.provisioners.mesh.workload import workload
    g = workload(target.lab).with_affinity("none")
    _kube(target, p["b"]).scale(name, ns, g.replicas.get(p["a"], 1))
    target.clock.sleep(SETTLE)


@breakage("mesh-apiserver-unschedulable", after=BUILT)
def apiserver_unschedulable(target, at: Strike) -> None:
    """The first member's clustermesh-apiserver can only go to a node that does not exist: once gone, it cannot
    return."""
    _kube(target, _pair(target)["a"]).apps.patch_namespaced_deployment(
        "clustermesh-apiserver", "kube-system",
        {"spec": {"template": {"spec": {"nodeSelector": {"kubernetes.io/hostname": "no-such-node"}}}}})
    target.clock.sleep(SETTLE)


@breakage("mesh-apiserver-back-by-gitops",
          after="the clustermesh-apiserver of <cluster> is scaled to <replicas> replicas at <seconds> seconds into the probe")
def apiserver_back_by_gitops(target, at: Strike) -> None:
    """A GitOps controller's self-heal (Argo CD, Flux) puts the clustermesh-apiserver's replicas back at once: it never
    goes away, so KVStoreMesh in the other member keeps syncing and learns a new backend as soon as it is ready
    (https://docs.cilium.io/en/stable/network/clustermesh/clustermesh/ "KVStoreMesh"; Cilium CI's stress recipe
    relies on the apiserver being away for the new endpoint to stay unknown)."""
    from labsim.steps.mesh_steps import _member
    _kube(target, _member(target.lab, at.args["cluster"])).scale("clustermesh-apiserver", "kube-system", 1)
    target.clock.sleep(SETTLE)


@breakage("mesh-backends-restarted-while-apiserver-away",
          after='the "<service>" backends of <cluster> are scaled to <replicas> while its clustermesh-apiserver is away')
def backends_restarted_while_apiserver_away(target, at: Strike) -> None:
    """`kubectl delete pod -l <the service's selector>` in that member while its clustermesh-apiserver is away: the
    ReplicaSet brings new pods at new addresses, but the other member cannot learn it until the apiserver returns
    and keeps sending to the last-known backends, which are gone (Cilium's clustermesh troubleshooting: remote
    state is only refreshed through the clustermesh-apiserver,
    https://docs.cilium.io/en/stable/network/clustermesh/clustermesh/#troubleshooting)."""
    from labsim.provisioners.mesh.workload import workload
    from labsim.steps.mesh_steps import _member
    member, service = _member(target.lab, at.args["cluster"]), at.args["service"]
    ns = workload(target.lab).namespace_of(service)
    kube = _kube(target, member)
    sel = (kube.get("Service", service, ns) or {}).get("spec", {}).get("selector") or {}
    assert sel, f"--sim-break: the Service {ns}/{service} in {member} has no selector"
    kube.core.delete_collection_namespaced_pod(ns, label_selector=",".join(f"{k}={v}" for k, v in sel.items()))
    target.clock.sleep(SETTLE)


@breakage("mesh-stray-backends-by-hand", after=BUILT)
def stray_backends_by_hand(target, at: Strike) -> None:
    """An engineer's debugging copy of every global service's backends left running in each member: a second
    Deployment (another name, one replica) whose pods carry the service's selector labels. Kubernetes' EndpointSlice
    controller puts every ready pod the Service's selector matches among its endpoints, whoever owns it
    (https://kubernetes.io/docs/concepts/services-networking/endpoint-slices/), and Cilium balances over those
    (and the other members' through the mesh): scaling the lab file's Deployment to 0 no longer empties a side."""
    from labsim.provisioners.mesh.workload import workload
    pair = _pair(target)
    for cluster in (pair["a"], pair["b"]):
        kube = _kube(target, cluster)
        for g in workload(target.lab).services:
            dep = kube.get("Deployment", g.name, g.namespace)
            if dep is None:
                continue
            labels = {**(dep["spec"]["template"]["metadata"].get("labels") or {}), "debug-copy": "true"}
            kube.apply({"apiVersion": "apps/v1", "kind": "Deployment",
                        "metadata": {"name": f"{g.name}-debug", "namespace": g.namespace},
                        "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                                 "template": {"metadata": {"labels": labels}, "spec": dep["spec"]["template"]["spec"]}}})
    target.clock.sleep(60)


@breakage("mesh-apiserver-scaled-to-zero-by-hand", after=BUILT)
def apiserver_scaled_to_zero(target, at: Strike) -> None:
    """`kubectl -n kube-system scale deploy clustermesh-apiserver --replicas=0` in the first member."""
    _kube(target, _pair(target)["a"]).scale("clustermesh-apiserver", "kube-system", 0)
    target.clock.sleep(SETTLE)


@breakage("mesh-cache-ttl-set-by-hand", after=BUILT)
def cache_ttl_set_by_hand(target, at: Strike) -> None:
    _set(target, _pair(target)["a"], "clustermesh.cacheTTL=1m")


@breakage("mesh-cache-ttl-reset", after=COPY_BUILT)
def cache_ttl_reset(target, at: Strike) -> None:
    _set(target, _pair(target)["a"], "clustermesh.cacheTTL=0s")


@breakage("mesh-static-route-between-vlans", after=BUILT)
def static_route_between_vlans(target, at: Strike) -> None:
    """A second way between the VLANs: the router also routes the second member's subnet through another device
    that holds an address in both VLANs."""
    from labsim.steps.subjects import SELECTORS
    r = SELECTORS["the router between the first two mesh members"].resolve(target.lab)[0]
    va, vb = (target.lab.vlan(target.lab.cluster(r.attrs[k]).vlan) for k in ("a", "b"))
    via = next(d for d in va.addresses if d != r.name and d in vb.addresses)
    target.routeros(r.name).path("ip", "route").add(**{"dst-address": str(vb.subnet),
                                                       "gateway": str(va.addresses[via].ip)})


# --- policy (features/mesh_policy.feature): an engineer's hand on the CiliumNetworkPolicies ----------------------------
def _policy_subjects(target):
    """The first two members and the frontend application's services, as the policy scenarios take them."""
    from labsim.steps.subjects import SELECTORS
    pair = _pair(target)
    app = SELECTORS["the mesh's frontend application"].resolve(target.lab)[0]
    ns = next(g.namespace for g in target.lab.mesh.global_services if g.name == app.attrs["remote"])
    return pair, app, ns


def _cnp(target, cluster: str, name: str, ns: str, spec: dict) -> None:
    _kube(target, cluster).apply({"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
                                  "metadata": {"name": name, "namespace": ns}, "spec": spec})
    target.clock.sleep(SETTLE)


@breakage("mesh-policy-allow-all-by-hand", after=BUILT)
def policy_allow_all_by_hand(target, at: Strike) -> None:
    """Someone "fixes" a client by hand in the second member: every endpoint of the namespace takes ingress from all."""
    pair, _, ns = _policy_subjects(target)
    _cnp(target, pair["b"], "allow-all-debug", ns, {"endpointSelector": {}, "ingress": [{"fromEntities": ["all"]}]})


@breakage("mesh-policy-deleted-by-hand", after=BUILT)
def policy_deleted_by_hand(target, at: Strike) -> None:
    """The remote-affinity service's access policy deleted by hand in the second member (kubectl delete cnp)."""
    from labsim.provisioners.mesh.demo import POLICY_PREFIX
    pair, app, ns = _policy_subjects(target)
    _kube(target, pair["b"]).delete("CiliumNetworkPolicy", POLICY_PREFIX + app.attrs["remote"], ns)
    _kube(target, pair["b"]).delete("CiliumNetworkPolicy", POLICY_PREFIX + app.attrs["local"], ns)
    target.clock.sleep(SETTLE)


@breakage("mesh-policy-put-back-by-hand", after='the access policy of "<service>" is deleted by hand in <cluster>')
def policy_put_back_by_hand(target, at: Strike) -> None:
    """A second engineer `kubectl apply`s the deleted access policy back at once, as the lab file's applications
    have it: there is nothing missing for the verification to find."""
    from labsim.provisioners.mesh import demo
    from labsim.provisioners.mesh.workload import workload
    from labsim.steps.mesh_steps import _member
    kube = _kube(target, _member(target.lab, at.args["cluster"]))
    for doc in demo.policies(workload(target.lab), target.lab):
        if doc["metadata"]["name"] == demo.POLICY_PREFIX + at.args["service"]:
            kube.apply(doc)
    target.clock.sleep(SETTLE)


@breakage("mesh-app-affinities-swapped-by-hand", after=BUILT)
def app_affinities_swapped_by_hand(target, at: Strike) -> None:
    """The affinity annotations of the frontend application's services swapped by hand in every member: its
    remote-affinity service set to `local`, its local-affinity one to `remote`. Cilium then prefers the client's
    own cluster for the first and the other cluster for the second (service.cilium.io/affinity,
    https://docs.cilium.io/en/stable/network/clustermesh/affinity/, cilium/cilium#19521)."""
    pair, app, ns = _policy_subjects(target)
    swap = {app.attrs["remote"]: "local", app.attrs["local"]: "remote"}
    for cluster in (pair["a"], pair["b"]):
        for name, affinity in swap.items():
            _kube(target, cluster).core.patch_namespaced_service(
                name, ns, {"metadata": {"annotations": {"service.cilium.io/affinity": affinity}}})
    target.clock.sleep(SETTLE)


@breakage("mesh-policy-deny-first-member-by-hand", after=BUILT)
def policy_deny_first_member_by_hand(target, at: Strike) -> None:
    """A deny rule applied by hand in the second member: nothing from the first member's cluster reaches its
    local-affinity backends (so a failover from the first member lands on a wall)."""
    pair, app, ns = _policy_subjects(target)
    _cnp(target, pair["b"], "deny-first-member", ns, {
        "endpointSelector": {"matchLabels": {"app": app.attrs["local"]}},
        "ingressDeny": [{"fromEndpoints": [{"matchLabels": {"io.cilium.k8s.policy.cluster": pair["a cilium"],
                                                            "io.kubernetes.pod.namespace": ns}}]}]})


@breakage("mesh-clusterwide-deny-first-member-by-hand", after=BUILT)
def clusterwide_deny_first_member_by_hand(target, at: Strike) -> None:
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


@breakage("mesh-rke2-remotes-removed-by-hand", after=BUILT)
def rke2_remotes_removed_by_hand(target, at: Strike) -> None:
    """An engineer edits the RKE2 member's rke2-cilium HelmChartConfig by hand and drops its clustermesh remotes;
    RKE2's helm-controller installs that, and the member's agents leave the mesh."""

    from labsim.provisioners.mesh.kube import MeshKube
    lab = target.lab
    member = next(c for c in lab.mesh.clusters if lab.cluster(c).distribution == "rke2")
    kube = MeshKube(target.kubeconfig(member))
    cfg = kube.get("HelmChartConfig", "rke2-cilium", "kube-system")
    values = fastyaml.load(cfg["spec"]["valuesContent"]) or {}
    values.get("clustermesh", {}).pop("config", None)
    kube.apply({"apiVersion": "helm.cattle.io/v1", "kind": "HelmChartConfig",
                "metadata": {"name": "rke2-cilium", "namespace": "kube-system"},
                "spec": {"valuesContent": yaml.safe_dump(values, sort_keys=False)}})
    target.clock.sleep(SETTLE)
