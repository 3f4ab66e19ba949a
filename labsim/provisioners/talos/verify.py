"""Read-only verification of a Talos cluster: every `talosctl health` check, then what Kubernetes reports
(all nodes Ready and schedulable, CoreDNS ready, the Cilium agents ready everywhere and configured as the lab
file says, kube-proxy absent when the lab file disables it) and the shared VIP held by exactly one control
plane. Nothing here writes."""
from __future__ import annotations

from pathlib import Path

from labsim.provisioners.vocabulary import Result
from labsim.provisioners.talos import cilium as C
from labsim.provisioners.talos import health as H
from labsim.provisioners.talos.apply import json_stream, talos
from labsim.provisioners.talos.context import TalosContext
from labsim.provisioners.talos.kube import Kube, internal_ip, ready
from labsim.provisioners.talos.nodes import Machine


def health_results(cluster: str, h: H.Health) -> list[Result]:
    out = []
    for check in H.CHECKS:
        state = h.state(check)
        if state is None:
            out.append(Result("talos-health", f"{cluster} {check}", False, "not reached: an earlier check failed"))
        else:
            ok = state in ("OK", "SKIP")
            out.append(Result("talos-health", f"{cluster} {check}", ok, state,
                              {} if ok else {"error": h.error, "last_lines": h.lines[-5:]}))
    return out


def kube_results(lab, cluster: str, kube: Kube, machines: list[Machine]) -> list[Result]:
    c = lab.cluster(cluster)
    out = []
    nodes = {internal_ip(n): n for n in kube.nodes()}
    for m in machines:
        n = nodes.get(m.address)
        out.append(Result("k8s-node-ready", f"{cluster} {m.name}", n is not None and ready(n),
                          "Ready" if n is not None and ready(n) else
                          ("no Node with this address" if n is None else "NotReady"),
                          {"address": m.address}))
    for m in machines:
        n = nodes.get(m.address)
        if n is not None:
            cordoned = bool(n.spec.unschedulable)
            out.append(Result("k8s-node-schedulable", f"{cluster} {m.name}", not cordoned,
                              "cordoned (spec.unschedulable)" if cordoned else "schedulable"))
    dns = kube.deployment("coredns")
    want = (dns.spec.replicas or 0) if dns else 0
    have = (dns.status.ready_replicas or 0) if dns else 0
    out.append(Result("coredns-ready", cluster, dns is not None and have == want and want > 0,
                      f"{have}/{want} CoreDNS replicas ready" if dns else "no coredns Deployment"))
    ds = kube.daemonset("cilium")
    if ds is None:
        out.append(Result("cilium-ready", cluster, False, "no cilium DaemonSet in kube-system"))
    else:
        st = ds.status
        ok = st.desired_number_scheduled == len(machines) and st.number_ready == st.desired_number_scheduled
        out.append(Result("cilium-ready", cluster, ok, f"{st.number_ready or 0}/{st.desired_number_scheduled or 0} "
                          f"agents ready on {len(machines)} nodes"))
    if c.cilium is not None and ds is not None:
        out.append(cilium_settings(lab, cluster, kube, ds))
    proxy = kube.daemonset("kube-proxy")
    if c.kube_proxy:
        out.append(Result("kube-proxy", cluster, proxy is not None, "kube-proxy runs" if proxy else
                          "no kube-proxy DaemonSet although the lab file wants kube-proxy"))
    else:
        out.append(Result("kube-proxy", cluster, proxy is None, "absent, as the lab file disables it" if proxy is None
                          else "a kube-proxy DaemonSet runs although the lab file disables kube-proxy"))
    return out


def cilium_settings(lab, cluster: str, kube: Kube, ds) -> Result:
    """What Cilium runs with, from the cluster (the `cilium-config` ConfigMap and the agent's container), against
    the Talos values the lab file makes (labsim/provisioners/talos/cilium.py)."""
    v = C.values(lab, cluster)
    want = {"cluster-name": str(v["cluster"]["name"]), "cluster-id": str(v["cluster"]["id"]),
            "ipam": v["ipam"]["mode"], "kube-proxy-replacement": str(v["kubeProxyReplacement"]).lower(),
            "cgroup-root": v["cgroup"]["hostRoot"],
            "enable-l2-announcements": str(v["l2announcements"]["enabled"]).lower()}
    cm = kube.configmap("cilium-config")
    have = {k: (cm.data or {}).get(k) for k in want} if cm is not None else {}
    agent = next((c for c in ds.spec.template.spec.containers or [] if c.name == "cilium-agent"), None)
    env = {e.name: e.value for e in (agent.env or [])} if agent else {}
    caps = sorted((agent.security_context.capabilities.add or []) if agent and agent.security_context
                  and agent.security_context.capabilities else [])
    want_api = {"KUBERNETES_SERVICE_HOST": C.KUBEPRISM[0], "KUBERNETES_SERVICE_PORT": str(C.KUBEPRISM[1])}
    have_api = {k: env.get(k) for k in want_api}
    wrong = [f"{k}={have.get(k)!r} (want {w!r})" for k, w in want.items() if have.get(k) != w]
    wrong += [f"{k}={have_api[k]!r} (want {w!r})" for k, w in want_api.items() if have_api[k] != w]
    if caps != sorted(C.AGENT_CAPS):
        extra, missing = sorted(set(caps) - set(C.AGENT_CAPS)), sorted(set(C.AGENT_CAPS) - set(caps))
        wrong.append(f"agent capabilities: extra {extra}, missing {missing}")
    return Result("cilium-settings", cluster, not wrong, "as the lab file says" if not wrong else "; ".join(wrong),
                  {"config": have, "api": have_api, "capabilities": caps})


def vip_holders(ctx: TalosContext, talosconfig: Path, machines: list[Machine], vip: str) -> list[str]:
    """The control planes that carry the VIP on a link (`talosctl get addresses`)."""
    cps = [m for m in machines if m.control_plane and m.address]
    r = ctx.tools.run(talos(talosconfig, cps, cps, "get", "addresses", "-o", "json"), check=False)
    on = {o["node"] for o in json_stream(r.stdout) if o["spec"].get("address", "").split("/")[0] == vip}
    return [m.name for m in cps if m.address in on]


def vip_result(lab, cluster: str, holders: list[str]) -> Result:
    vip = str(lab.cluster(cluster).vip)
    return Result("talos-vip", f"{cluster} {vip}", len(holders) == 1,
                  f"held by {holders[0]}" if len(holders) == 1 else
                  ("held by no control plane" if not holders else f"held by several: {', '.join(holders)}"),
                  {"holders": holders})


def members(ctx: TalosContext, talosconfig: Path, machines: list[Machine]) -> list[dict]:
    """`talosctl get members -o json` from the first control plane that answers: each member's spec, as the
    cluster discovery of that node sees the cluster."""
    cps = [m for m in machines if m.control_plane and m.address]
    r = ctx.tools.run(talos(talosconfig, cps, cps[:1], "get", "members", "-o", "json"), check=False)
    try:
        return [o["spec"] for o in json_stream(r.stdout)]
    except ValueError:
        return []


def members_results(lab, cluster: str, specs: list[dict]) -> list[Result]:
    """Every machine the lab file plans is a member with its role and the planned Talos version, and no other
    member is there. The spec fields are Talos's Members resource (pkg/machinery/resources/cluster/member.go:
    hostname, machineType, operatingSystem); operatingSystem is `fmt.Sprintf("%s (%s)", version.Name, version.Tag)`
    in internal/app/machined/pkg/controllers/cluster/local_affiliate.go, e.g. "Talos (v1.11.3)"."""
    c = lab.cluster(cluster)
    want_os = f"Talos (v{str(c.version).removeprefix('v')})"
    seen = {s.get("hostname"): s for s in specs}
    out = []
    for m in c.members():
        role = "controlplane" if m.role == "controlplane" else "worker"
        s = seen.pop(m.name, None)
        if s is None:
            out.append(Result("talos-member", f"{cluster} {m.name}", False,
                              f"not a member: talosctl get members lists {sorted(x for x in [*seen] if x) or 'nobody'}"))
            continue
        wrong = [f"{k} {s.get(k)!r} (the lab file plans {w!r})"
                 for k, w in (("machineType", role), ("operatingSystem", want_os)) if s.get(k) != w]
        out.append(Result("talos-member", f"{cluster} {m.name}", not wrong,
                          "; ".join(wrong) if wrong else f"{role}, {want_os}", {"spec": s}))
    for name, s in seen.items():
        out.append(Result("talos-member", f"{cluster} {name}", False,
                          "a member the lab file does not plan for this cluster", {"spec": s}))
    return out
