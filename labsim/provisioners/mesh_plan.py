"""A cluster's planned place in the ClusterMesh, from the lab file alone (no cluster is contacted).

The owners plan the piCluster (RKE2 with Cilium) as the third member before it joins: its Cilium cluster
id must be free among the clusters that run Cilium (members now or planned), within the mesh's
`max_connected_clusters`, and its pod CIDR must not overlap a member's (Cilium routes pod CIDRs across
the mesh; service CIDRs may overlap). A hybrid mesh (Talos and RKE2) holds only when the cluster replaces
kube-proxy as the members do (global NodePort and host clients reach remote backends only with kube-proxy
replacement) and its Cilium is at most one minor version from each member's (Cilium's upgrade guide,
Documentation/operations/upgrade.rst: one minor at a time, ClusterMesh working while members run N and N+1), and
when its Cilium runs with the mesh's `max_connected_clusters` (fixed once installed; `cilium clustermesh connect`
refuses "remote and local clusters have different max connected clusters").
"""
from __future__ import annotations

import re

from labsim.provisioners.vocabulary import Result
from labsim.provisioners.lab.model import Lab


def mesh_plan(lab: Lab, name: str, cluster_id: int) -> list[Result]:
    c = lab.cluster(name)
    members = list(lab.mesh.clusters) if lab.mesh else []
    state = "a member" if name in members else "planned (not yet in mesh.clusters)"
    ev = {"cluster": name, "mesh_members": members, "membership": state}
    if c.cilium is None:
        return [Result("mesh-plan", name, False, f"{name} has no cilium section: it cannot join the mesh", ev)]
    out = [Result("mesh-plan-cluster-id", name, c.cilium.cluster_id == cluster_id,
                  f"{name} has Cilium cluster id {c.cilium.cluster_id}" +
                  ("" if c.cilium.cluster_id == cluster_id else f", the plan says {cluster_id}"),
                  {**ev, "cluster_id": c.cilium.cluster_id})]
    others = [o for o in lab.clusters if o.name != name and o.cilium is not None]
    same = [o.name for o in others if o.cilium.cluster_id == c.cilium.cluster_id]
    limit = lab.mesh.max_connected_clusters if lab.mesh else 255
    ok = not same and 1 <= c.cilium.cluster_id <= limit
    out.append(Result("mesh-plan-id-unique", name, ok,
                      f"cluster id {c.cilium.cluster_id} is free among {', '.join(o.name for o in others) or 'no other cluster'}"
                      if ok else (f"cluster id {c.cilium.cluster_id} is also {', '.join(same)}'s" if same
                                  else f"cluster id {c.cilium.cluster_id} is outside 1-{limit}"),
                      {**ev, "ids": {o.name: o.cilium.cluster_id for o in others}}))
    pod = getattr(c, "pod_subnet", None)
    clash = [f"{o.name} ({o.pod_subnet})" for o in others
             if o.name in members and pod is not None and o.pod_subnet.overlaps(pod)]
    out.append(Result("mesh-plan-pod-cidr", name, not clash,
                      f"pod CIDR {pod} overlaps {', '.join(clash)}" if clash
                      else f"pod CIDR {pod} is apart from the members' ({', '.join(f'{o.name} {o.pod_subnet}' for o in others if o.name in members)})",
                      {**ev, "pod_subnet": str(pod)}))
    limit_own = c.cilium.max_connected_clusters
    out.append(Result("mesh-plan-max-connected", name, limit_own is None or limit_own == limit,
                      f"{name}'s Cilium runs with max_connected_clusters {limit_own if limit_own is not None else limit}"
                      + ("" if limit_own is None or limit_own == limit else f", the mesh's is {limit}"),
                      {**ev, "max_connected_clusters": {name: limit_own, "mesh": limit}}))
    return out + hybrid(lab, c, members, ev)


def _minor(version) -> tuple[int, int] | None:
    m = re.match(r"v?(\d+)\.(\d+)", str(version or ""))
    return (int(m.group(1)), int(m.group(2))) if m else None


def hybrid(lab: Lab, c, members: list[str], ev: dict) -> list[Result]:
    """Kube-proxy replacement as the other members have it, and Cilium within one minor version of theirs."""
    others = [lab.cluster(n) for n in members if n != c.name and lab.cluster(n).cilium is not None]
    if not others:
        return []
    kpr = {o.name: o.replaces_kube_proxy for o in others}
    odd = [n for n, v in kpr.items() if v != c.replaces_kube_proxy]
    word = "replaces" if c.replaces_kube_proxy else "does not replace"
    out = [Result("mesh-plan-kpr", c.name, not odd,
                  f"{c.name} {word} kube-proxy, as " + ", ".join(kpr) + " do" if not odd else
                  f"{c.name} {word} kube-proxy, {', '.join(odd)} " + ("do not" if c.replaces_kube_proxy else "do"),
                  {**ev, "kube_proxy_replacement": {c.name: c.replaces_kube_proxy, **kpr}})]
    mine = _minor(c.cilium.version)
    theirs = {o.name: _minor(o.cilium.version) for o in others}
    far = [n for n, v in theirs.items() if mine and v and (v[0] != mine[0] or abs(v[1] - mine[1]) > 1)]
    out.append(Result("mesh-plan-cilium-version", c.name, not far,
                      f"Cilium {c.cilium.version} on {c.name} is within one minor version of "
                      + ", ".join(f"{o.name} {o.cilium.version}" for o in others) if not far else
                      f"Cilium {c.cilium.version} on {c.name} is more than one minor version from "
                      + ", ".join(f"{n} {lab.cluster(n).cilium.version}" for n in far),
                      {**ev, "versions": {c.name: str(c.cilium.version),
                                          **{o.name: str(o.cilium.version) for o in others}}}))
    return out
