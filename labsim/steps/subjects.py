"""What a scenario is about, taken from the lab file: the lab subjects Examples tables name in words.

A feature never lists the default lab's names. Where a scenario is about particular things, its Examples name
them as a lab engineer would ("each Talos cluster on Proxmox with Cilium", "the first two mesh members"), and
the suite replaces each such phrase, when it collects the feature, with what the lab file it runs on has:

    Scenario Outline: <cluster> goes from maintenance mode to a healthy cluster with Cilium
      Given the Talos cluster "<cluster>" is provisioned
      Examples:
        | cluster                                 |
        | each Talos cluster on Proxmox with Cilium |

becomes one scenario per such cluster, with the concrete name in its title and step text (and so in the
sign-off report). A subject also has attributes, written `<column.attribute>` in the steps (`<pair.a>`,
`<hop.device>`). A phrase is one of three kinds:

- `each`: one scenario per subject found;
- `one`:  one scenario about the first subject found;
- `all`:  one scenario about all of them, named in one cell ("VLAN10, VLAN20 and VLAN30"; see `names()`).

When the lab file has no such subject, the scenario is not run: it is skipped as the declared deviation
"not in this lab: <what the lab file lacks>" (labsim/steps/lab_run.py), never an error. Feature tags say what a
whole feature needs (`TAG_NEEDS`: no `routeros.devices`, no fabric scenario). The phrases, with what each needs,
are the registry `SELECTORS` below; README "Your own lab" lists them for lab engineers.
"""
from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from labsim.provisioners.fabric.intent import trace_need, vlan_needs
from labsim.provisioners.lab.checks_proxmox import disk_device
from labsim.provisioners.lab.model import Lab, Rke2Cluster, TalosCluster
from labsim.provisioners.cloud.talos import cloud_clusters
from labsim.provisioners.mesh.workload import first_two, pairs, sees, shares_text, with_backends, workload

Mode = Literal["each", "one", "all"]


@dataclass(frozen=True)
class Subject:
    name: str
    attrs: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Selector:
    phrase: str
    needs: str                                  # what the lab file lacks when nothing is found
    pick: Callable[[Lab], list[Subject]]
    mode: Mode = "one"

    def resolve(self, lab: Lab) -> list[Subject]:
        found = self.pick(lab)
        if not found:
            return []
        if self.mode == "one":
            return found[:1]
        if self.mode == "all":
            return [Subject(join(s.name for s in found))]
        return found


SELECTORS: dict[str, Selector] = {}


def selector(phrase: str, needs: str, mode: Mode = "one"):
    def register(pick: Callable[[Lab], list[Subject]]) -> Callable[[Lab], list[Subject]]:
        if phrase in SELECTORS:
            raise ValueError(f"lab subject {phrase!r} registered twice")
        SELECTORS[phrase] = Selector(phrase, needs, pick, mode)
        return pick
    return register


def join(names) -> str:
    """"a", "a and b", "a, b and c": how an `all` subject names its members in one cell."""
    items = list(names)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def names(text: str) -> list[str]:
    """The names an `all` subject wrote into a step ("a, b and c"), back as a list."""
    head, _, last = text.rpartition(" and ")
    return [n.strip() for n in (head.split(", ") if head else []) + [last] if n.strip()]


# --- what the suite can build ------------------------------------------------------------------------------------
def talos_on_proxmox(lab: Lab) -> list[TalosCluster]:
    """Talos clusters whose machines are VMs on a Proxmox node of the lab file (what the Talos steps build)."""
    nodes = {n.name for n in (lab.proxmox.nodes if lab.proxmox else [])}
    return [c for c in lab.clusters if isinstance(c, TalosCluster) and c.machines is not None
            and c.proxmox_node in nodes]


def talos_with_cilium(lab: Lab) -> list[TalosCluster]:
    return [c for c in talos_on_proxmox(lab) if c.cilium is not None]


def rke2_with_cilium(lab: Lab) -> list:
    """RKE2 clusters whose CNI is Cilium (installed by RKE2 itself, rke2-cilium), on hosts of the lab file."""
    return [c for c in lab.clusters if c.distribution == "rke2" and c.cni == "cilium" and c.cilium is not None]


def mesh_buildable(lab: Lab) -> bool:
    """A mesh of two or more members the suite can build or join: Talos clusters on Proxmox with Cilium (the first
    two, which the scenarios measure between), and RKE2 clusters with Cilium."""
    if lab.mesh is None or len(lab.mesh.clusters) < 2:
        return False
    ours = {c.name for c in talos_with_cilium(lab)} | {c.name for c in rke2_with_cilium(lab)}
    first = first_two(lab)
    return all(m in ours for m in lab.mesh.clusters) and first is not None \
        and all(lab.cluster(m).distribution == "talos" for m in first)


# --- what whole features need (by feature tag) -----------------------------------------------------------------------
TAG_NEEDS: dict[str, tuple[str, Callable[[Lab], bool]]] = {
    "fabric": ("routeros.devices", lambda lab: bool(lab.routeros.devices)),
    "proxmox": ("proxmox.nodes with VMs planned (clusters[].machines)",
                lambda lab: bool(lab.proxmox and lab.proxmox.nodes and lab.vms())),
    "talos": ("clusters[]: a Talos cluster with machines on a Proxmox node", lambda lab: bool(talos_on_proxmox(lab))),
    "mesh": ("mesh: two or more members, Talos clusters on Proxmox with Cilium (the first two) or RKE2 clusters "
             "with Cilium", mesh_buildable),
    "ceph": ("clusters[].ceph on a Talos cluster on Proxmox with Cilium",
             lambda lab: any(c.ceph is not None for c in talos_with_cilium(lab))),
    "cloud": ("clusters[]: a Talos cluster whose hosts are cloud.servers", lambda lab: bool(cloud_clusters(lab))),
    "failover": ("dns.failover: a round-robin record over the workers of a Talos cluster on cloud servers",
                 lambda lab: bool(_failover(lab))),
    "backup": ("object_storage with a Talos cluster on cloud servers",
               lambda lab: lab.object_storage is not None and bool(cloud_clusters(lab))),
}


# --- the fabric -----------------------------------------------------------------------------------------------------
def _ordered(items) -> list:
    out: list = []
    for i in items:
        if i not in out:
            out.append(i)
    return out


@selector("the VLANs the lab's machines need",
          "vlans[] that a Proxmox node, host or cluster cabled to the fabric needs", "all")
def _needed_vlans(lab: Lab) -> list[Subject]:
    if not lab.routeros.devices:
        return []
    return [Subject(n) for n in _ordered(need.vlan for need in vlan_needs(lab) if need.targets and need.source)]


@selector("the VLANs with DHCP", "vlans[].dhcp", "all")
def _dhcp_vlans(lab: Lab) -> list[Subject]:
    return [Subject(v.name) for v in lab.vlans if v.dhcp is not None]


@selector("a VLAN with DHCP", "vlans[].dhcp")
def _dhcp_vlan(lab: Lab) -> list[Subject]:
    """A VLAN with its DHCP pool, and a pool range just outside its subnet (for a lab file copy that is wrong)."""
    out = []
    for v in lab.vlans:
        if v.dhcp is None:
            continue
        beyond = ipaddress.IPv4Network(((int(v.subnet.broadcast_address) + 1) % 2 ** 32, v.subnet.prefixlen))
        top = max(beyond.num_addresses - 2, 0)
        lo, hi = beyond.network_address + min(20, top), beyond.network_address + min(127, top)
        out.append(Subject(v.name, {"vlan": v.name, "outside": f"{lo}-{hi}",
                                    "path": f"vlans[{v.name}].dhcp.pool[0]"}))
    return out


@selector("a VLAN tagged on a trunk to a machine that needs it",
          "routeros.devices[].trunks: a trunk carrying a VLAN tagged to a machine that needs it")
def _trunk_hop(lab: Lab) -> list[Subject]:
    out = []
    for need in vlan_needs(lab):
        for target, tr in trace_need(lab, need):
            if not tr.reached or len(tr.hops) < 2:
                continue
            hop = tr.hops[-2]
            if hop.tagged and hop.egress and hop.device in {d.identity for d in lab.routeros.devices}:
                out.append(Subject(f"{need.vlan} on {hop.device} {hop.egress}", {
                    "vlan": need.vlan, "vid": str(need.vid), "device": hop.device, "port": hop.egress,
                    "target": str(target), "hop": f"{hop.device} {hop.egress}"}))
    return out


def _free_address(lab: Lab, vlan) -> ipaddress.IPv4Address | None:
    """The highest address of a VLAN's subnet nobody uses: no device, gateway, pool, lease, host or VIP."""
    used = {a.ip for v in lab.vlans for a in v.addresses.values()} | {v.gateway for v in lab.vlans if v.gateway}
    used |= {h.address for h in lab.hosts if h.address} | {c.vip for c in lab.clusters if c.vip}
    pools = [r for v in lab.vlans if v.dhcp for r in v.dhcp.pool]
    used |= {s.address for v in lab.vlans if v.dhcp for s in v.dhcp.static_leases}
    for ip in reversed(list(vlan.subnet.hosts())):
        if ip not in used and not any(ip in r for r in pools):
            return ip
    return None


@selector("a VLAN gateway's address", "vlans[]: a VLAN other than the bridge's own whose gateway a device holds "
                                      "(not the address the device is managed on)")
def _gateway_address(lab: Lab) -> list[Subject]:
    """The last non-native VLAN whose gateway address a RouterOS device holds, with a free address to move it to.
    Never a device's management address: changing that by hand would cut the suite off the device in a real lab."""
    managed = {d.identity: d.management.address for d in lab.routeros.devices}
    out = []
    for v in reversed(lab.vlans):
        dev = next((d for d, a in v.addresses.items() if a.ip == v.gateway and managed.get(d) != a.ip), None)
        free = _free_address(lab, v) if dev else None
        if v.native or dev is None or free is None:
            continue
        have = v.addresses[dev]
        out.append(Subject(f"{dev} on {v.name}", {"vlan": v.name, "device": dev, "have": str(have),
                                                   "new": f"{free}/{v.subnet.prefixlen}"}))
    return out


@selector("each connected pair of mesh VLANs", "mesh: two connected members on different VLANs", "each")
def _mesh_vlan_pairs(lab: Lab) -> list[Subject]:
    out, seen = [], set()
    vlan = {c.name: c.vlan for c in lab.clusters}
    for a, b in pairs(lab):
        va, vb = vlan.get(a), vlan.get(b)
        if va and vb and va != vb and frozenset((va, vb)) not in seen:
            seen.add(frozenset((va, vb)))
            out.append(Subject(f"{va} and {vb}", {"a": va, "b": vb}))
    return out


# --- Proxmox VMs --------------------------------------------------------------------------------------------------------
@selector("a cluster VLAN tagged on the trunk to its Proxmox node, and a cluster on another VLAN",
          "clusters[]: two Talos clusters on Proxmox on different VLANs, one tagged on a trunk to its node")
def _cluster_trunk(lab: Lab) -> list[Subject]:
    clusters = [c for c in talos_on_proxmox(lab) if c.vlan]
    out = []
    for c in clusters:
        others = [o.name for o in clusters if o.vlan != c.vlan]
        if not others:
            continue
        for need in vlan_needs(lab):
            if need.vlan != c.vlan or not any(x.startswith(f"cluster {c.name} ") for x in need.consumers):
                continue
            for target, tr in trace_need(lab, need):
                hop = tr.hops[-2] if tr.reached and len(tr.hops) >= 2 else None
                if hop is not None and hop.tagged and hop.egress:
                    out.append(Subject(c.name, {"vlan": c.vlan, "device": hop.device, "port": hop.egress,
                                                "hop": f"{hop.device} {hop.egress}", "others": join(others)}))
                    break
    return out[:1]


@selector("the last VM", "clusters[].machines: a VM on a Proxmox node")
def _last_vm(lab: Lab) -> list[Subject]:
    vms = [vm for c in talos_on_proxmox(lab) for vm in c.vms()]
    return [Subject(vm.name, {"vmid": str(vm.vmid), "node": str(vm.node)}) for vm in reversed(vms)]


@selector("three VMs of the lab's clusters", "clusters[].machines: three VMs on Proxmox")
def _three_vms(lab: Lab) -> list[Subject]:
    """A control plane to resize, a worker (of the same cluster) to move to another VLAN, a VM of another cluster
    (else any third) to stop: the first control plane, the second worker, the last cluster's second control plane."""
    clusters = talos_on_proxmox(lab)
    vms = [vm for c in clusters for vm in c.vms()]
    if len(vms) < 3:
        return []
    first = next((vm for vm in vms if vm.role == "controlplane"), vms[0])
    mates = [vm for vm in vms if vm.cluster == first.cluster and vm.name != first.name]
    workers = [vm for vm in mates if vm.role == "worker"]
    second = (workers[1] if len(workers) > 1 else workers[0]) if workers else (mates or [v for v in vms if v != first])[0]
    rest = [vm for vm in vms if vm.name not in (first.name, second.name)]
    elsewhere = [vm for vm in rest if vm.cluster != first.cluster]
    pool = elsewhere or rest
    cps = [vm for vm in pool if vm.role == "controlplane" and vm.cluster == pool[-1].cluster]
    third = cps[1] if len(cps) > 1 else (cps or pool)[0]
    vid = lab.vlan(second.vlan).id if second.vlan else 1
    other = next((v.id for c in clusters if c.vlan and c.vlan != second.vlan for v in [lab.vlan(c.vlan)]),
                 next((v.id for v in lab.vlans if v.id != vid and not v.native), vid % 4094 + 1))
    return [Subject(join([first.name, second.name, third.name]), {
        "first": first.name, "first memory": str(first.memory_mib), "first less memory": str(first.memory_mib // 2),
        "second": second.name, "second vid": str(vid), "other vid": str(other), "third": third.name})]


# --- Talos clusters ----------------------------------------------------------------------------------------------------
@selector("each Talos cluster on Proxmox with Cilium", "clusters[]: a Talos cluster on Proxmox with cilium:", "each")
def _each_talos(lab: Lab) -> list[Subject]:
    return [Subject(c.name) for c in talos_with_cilium(lab)]


@selector("the first Talos cluster on Proxmox with Cilium", "clusters[]: a Talos cluster on Proxmox with cilium:")
def _first_talos(lab: Lab) -> list[Subject]:
    return _each_talos(lab)


@selector("the last Talos cluster on Proxmox with Cilium", "clusters[]: a Talos cluster on Proxmox with cilium:")
def _last_talos(lab: Lab) -> list[Subject]:
    return list(reversed(_each_talos(lab)))


@selector("each Talos cluster on Proxmox with Cilium and a VIP",
          "clusters[].vip on a Talos cluster on Proxmox with cilium:", "each")
def _each_vip(lab: Lab) -> list[Subject]:
    return [Subject(c.name) for c in talos_with_cilium(lab) if c.vip is not None]


@selector("the first Talos cluster with three control planes and a VIP",
          "clusters[]: a Talos cluster on Proxmox with cilium:, three control planes and a vip")
def _three_cps(lab: Lab) -> list[Subject]:
    return [Subject(c.name) for c in talos_with_cilium(lab) if c.vip and len(c.control_planes()) == 3]


@selector("a worker of a Talos cluster with two or more workers",
          "clusters[].machines.workers: two or more workers in a Talos cluster on Proxmox with cilium:")
def _a_worker(lab: Lab) -> list[Subject]:
    return [Subject(c.workers()[0].name, {"cluster": c.name}) for c in talos_with_cilium(lab) if len(c.workers()) >= 2]


@selector("the first Talos cluster with workers",
          "clusters[].machines.workers in a Talos cluster on Proxmox with cilium:")
def _with_workers(lab: Lab) -> list[Subject]:
    return [Subject(c.name) for c in talos_with_cilium(lab) if c.workers()]


# --- the mesh ------------------------------------------------------------------------------------------------------------
MESH_NEEDS = "mesh: two connected members, Talos clusters on Proxmox with cilium:"


@selector("the first two mesh members", MESH_NEEDS)
def _first_two(lab: Lab) -> list[Subject]:
    if not mesh_buildable(lab):
        return []
    a, b = first_two(lab)  # type: ignore[misc]
    ca, cb = lab.cluster(a), lab.cluster(b)
    limit = lab.mesh.max_connected_clusters  # type: ignore[union-attr]
    return [Subject(f"{a} and {b}", {
        "a": a, "b": b, "a cilium": ca.cilium_name, "b cilium": cb.cilium_name,
        "a id": str(ca.cilium.cluster_id), "b id": str(cb.cilium.cluster_id),  # type: ignore[union-attr]
        "a pod subnet": str(ca.pod_subnet), "id range": f"1-{limit}", "id above range": str(limit + 1),
        "max connected": str(limit), "other max connected": "511" if limit == 255 else "255"})]


@selector("the first mesh member and the others", MESH_NEEDS)
def _first_and_others(lab: Lab) -> list[Subject]:
    """The first member (the client of the traffic scenarios) as `a`, and every member it is connected to as `b`
    ("west" in a two-member mesh of east and west, "west and pi" in a mesh of three): what the failover and canary
    scenarios say about "the other side", which in a mesh of three is the two others together."""
    first = _first_two(lab)
    if not first:
        return []
    a = first[0].attrs["a"]
    others = [m for m in sees(lab, a) if m != a]
    return [Subject(join([a, *others]), {**first[0].attrs, "b": join(others)})]


@selector("the router between the first two mesh members",
          "routeros.devices: a device holding the first mesh member's VLAN gateway and an address in the second's")
def _mesh_router(lab: Lab) -> list[Subject]:
    if not mesh_buildable(lab):
        return []
    a, b = first_two(lab)  # type: ignore[misc]
    va, vb = lab.cluster(a).vlan, lab.cluster(b).vlan
    if not va or not vb or va == vb:
        return []
    gw = lab.vlan(va).gateway
    dev = next((d for d, addr in lab.vlan(va).addresses.items() if addr.ip == gw), None)
    if dev is None or dev not in lab.vlan(vb).addresses:
        return []
    return [Subject(dev, {"vlan": vb, "a": a, "b": b})]


def _in_first_two_only(lab: Lab, replicas: dict) -> bool:
    """Backends in no member but the first two: what a scenario about the pair claims of every request (all answered
    by the other one, all lost with the router between them) holds only then."""
    a, b = first_two(lab)  # type: ignore[misc]
    return not any(int(n) for m, n in replicas.items() if m not in (a, b))


def _service(affinity: str, members: int = 0, pair_only: bool = False):
    """The mesh's first service with this affinity; with `members`, the first one with backends in that many of the
    members the first member sees (the three-member scenarios); with `pair_only`, the first one backed by the first
    two members only. Its `shares` say who answers the first member's requests
    (labsim/provisioners/mesh/workload.py `answered`), and with the first's or the second's backends gone."""
    def pick(lab: Lab) -> list[Subject]:
        if not mesh_buildable(lab):
            return []
        wl = workload(lab)
        a, b = first_two(lab)  # type: ignore[misc]
        g = next((g for g in wl.services if g.affinity == affinity
                  and len([m for m in sees(lab, a) if g.replicas.get(m, 0)]) >= members
                  and (not pair_only or _in_first_two_only(lab, g.replicas))), None)
        if g is None:
            return []
        without_b = wl.answered(g.name, a, lab, frozenset({b}))
        return [Subject(g.name, {"a replicas": str(g.replicas.get(a, 0)), "b replicas": str(g.replicas.get(b, 0)),
                                 "a replicas plus one": str(g.replicas.get(a, 0) + 1),
                                 "a share": str(wl.share(g.name, a, a, lab)),
                                 "b share": str(wl.share(g.name, b, a, lab)),
                                 "shares": shares_text(wl.answered(g.name, a, lab)),
                                 "shares without a": shares_text(wl.answered(g.name, a, lab, frozenset({a}))),
                                 "shares without b": shares_text(without_b),
                                 "answering without b": join(with_backends(without_b) or [a])})]
    return pick


SERVICE_NEEDS = ("mesh.global_services: a service with affinity {0} (a lab file that names none gets the suite's "
                 "probe services)")
selector("the mesh's service with affinity local", SERVICE_NEEDS.format("local"))(_service("local"))
selector("the mesh's service with affinity none", SERVICE_NEEDS.format("none"))(_service("none"))
selector("the mesh's service with affinity remote", SERVICE_NEEDS.format("remote"))(_service("remote"))
selector("the mesh's service with affinity remote, backed by the first two members only",
         "mesh.global_services: a service with affinity remote whose backends (replicas) are all in the first two "
         "members")(_service("remote", pair_only=True))
THREE_NEEDS = ("mesh.global_services: a service with affinity {0} and backends (replicas) in three of the members the "
               "first member sees (itself and those it is connected to)")
selector("the mesh's service with affinity none in three members", THREE_NEEDS.format("none"))(_service("none", 3))
selector("the mesh's service with affinity local in three members", THREE_NEEDS.format("local"))(_service("local", 3))


@selector("the mesh's Envoy canary", "mesh.canary over a local- and a remote-affinity service")
def _canary(lab: Lab) -> list[Subject]:
    if not mesh_buildable(lab):
        return []
    wl = workload(lab)
    c = wl.canary
    if c is None:
        return []
    by_affinity = {g.affinity: g.name for g in wl.services if g.name in c.weights}
    if "local" not in by_affinity or "remote" not in by_affinity:
        return []
    local, remote = by_affinity["local"], by_affinity["remote"]
    a, _ = first_two(lab)  # type: ignore[misc]
    return [Subject(c.name, {"local": local, "remote": remote, "a share": str(c.weights[local]),
                             "b share": str(c.weights[remote]), "shares": shares_text(wl.answered(c.name, a, lab))})]


def _frontend(pair_only: bool = False):
    """The first application that reaches a remote-affinity service (for traffic across the mesh) and a
    local-affinity one (for failover), with the local service's backends in the first member; with `pair_only`, the
    remote service backed by the first two members only (the scenarios about the pair)."""
    def pick(lab: Lab) -> list[Subject]:
        if not mesh_buildable(lab):
            return []
        wl = workload(lab)
        a, _ = first_two(lab)  # type: ignore[misc]
        for app in lab.mesh.applications:  # type: ignore[union-attr]
            reached = [g for g in wl.services if g.name in app.reaches]
            remote = next((g for g in reached if g.affinity == "remote"), None)
            local = next((g for g in reached if g.affinity == "local"), None)
            if remote and local and (not pair_only or _in_first_two_only(lab, remote.replicas)):
                return [Subject(app.name, {"remote": remote.name, "local": local.name,
                                           "local a replicas": str(local.replicas.get(a, 0))})]
        return []
    return pick


FRONTEND_NEEDS = "mesh.applications: an application reaching a local- and a remote-affinity global service"
selector("the mesh's frontend application", FRONTEND_NEEDS)(_frontend())
selector("the mesh's frontend application, its remote service backed by the first two members only",
         FRONTEND_NEEDS + ", the remote one with backends (replicas) in the first two members only")(_frontend(True))


# --- Rook-Ceph -------------------------------------------------------------------------------------------------------------
@selector("each cluster with Rook-Ceph", "clusters[].ceph on a Talos cluster on Proxmox with cilium:", "each")
def _each_ceph(lab: Lab) -> list[Subject]:
    return [Subject(c.name) for c in talos_with_cilium(lab) if c.ceph is not None]


@selector("the first Rook-Ceph cluster with three OSD hosts",
          "clusters[].ceph on a Talos cluster with exactly three workers with a ceph disk")
def _ceph_three(lab: Lab) -> list[Subject]:
    out = []
    for c in talos_with_cilium(lab):
        osd = [vm for vm in c.vms() if vm.ceph_disks]
        if c.ceph is None or len(osd) != 3:
            continue
        dev = disk_device(osd[2], osd[2].ceph_disks[0]) or ""
        pool = c.ceph.pools[0].name if c.ceph.pools else "ceph-blockpool"
        out.append(Subject(c.name, {"first worker": osd[0].name, "second worker": osd[1].name,
                                    "third worker": osd[2].name, "pool": pool, "disk": dev.rsplit("/", 1)[-1]}))
    return out


# --- hosts ------------------------------------------------------------------------------------------------------------------
@selector("the Proxmox nodes with SSH logins", "proxmox.nodes[].ssh", "all")
def _pve_ssh(lab: Lab) -> list[Subject]:
    return [Subject(n.name) for n in (lab.proxmox.nodes if lab.proxmox else []) if n.ssh is not None]


@selector("each RKE2 cluster with SSH logins to its hosts", "clusters[]: an RKE2 cluster whose hosts[] have ssh:",
          "each")
def _rke2(lab: Lab) -> list[Subject]:
    ssh = {h.name for h in lab.hosts if h.ssh is not None}
    return [Subject(c.name) for c in lab.clusters
            if isinstance(c, Rke2Cluster) and c.members() and all(m.name in ssh for m in c.members())]


@selector("each cluster with Cilium planned to join the mesh",
          "clusters[]: a cluster with cilium: that is not yet in mesh.clusters", "each")
def _planned(lab: Lab) -> list[Subject]:
    if lab.mesh is None:
        return []
    return [Subject(c.name, {"id": str(c.cilium.cluster_id)}) for c in lab.clusters
            if c.cilium is not None and c.name not in lab.mesh.clusters]


@selector("the tools the lab file pins", "tools", "all")
def _tools(lab: Lab) -> list[Subject]:
    return [Subject(t) for t in lab.tools]


# --- cloud labs -----------------------------------------------------------------------------------------------------
@selector("each Talos cluster on cloud servers", "clusters[]: a Talos cluster whose hosts are cloud.servers", "each")
def _each_cloud(lab: Lab) -> list[Subject]:
    return [Subject(c.name) for c in cloud_clusters(lab)]


@selector("the first Talos cluster on cloud servers with object storage",
          "object_storage with a Talos cluster whose hosts are cloud.servers")
def _cloud_backup(lab: Lab) -> list[Subject]:
    return [Subject(c.name) for c in cloud_clusters(lab)] if lab.object_storage is not None else []


def _failover(lab: Lab) -> list[Subject]:
    """The round-robin name with its cluster, a worker the suite can power off through its provider's API (one of a
    managed provider, else any), and the watcher's settings the scenarios quote."""
    if lab.dns is None or lab.dns.failover is None or lab.cloud is None:
        return []
    fo = lab.dns.failover
    rec = lab.dns.record(fo.record)
    if rec is None:
        return []
    for c in cloud_clusters(lab):
        workers = [m.name for m in c.workers() if m.name in rec.nodes]
        if not workers:
            continue
        managed = [w for w in workers if lab.cloud.managed(lab.cloud.server(w))]
        worker = (managed or workers)[0]
        return [Subject(lab.dns.fqdn(fo.record), {"cluster": c.name, "worker": worker,
                                                  "recover after": str(fo.recover_after)})]
    return []


selector("the round-robin name of a cloud cluster",
         "dns.failover: a round-robin record over the workers of a Talos cluster on cloud servers")(_failover)
