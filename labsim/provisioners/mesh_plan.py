"""A cluster's planned place in the ClusterMesh, from the lab file alone (no cluster is contacted).

The owners plan the piCluster (RKE2 with Cilium) as the third member before it joins: its Cilium cluster
id must be free among the clusters that run Cilium (members now or planned), within the mesh's
`max_connected_clusters`, and its pod CIDR must not overlap a member's (Cilium routes pod CIDRs across
the mesh; service CIDRs may overlap).
"""
from __future__ import annotations

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
    return out
