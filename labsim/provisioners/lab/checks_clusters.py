"""Intent checks on clusters (Talos, RKE2), Cilium ClusterMesh and Rook-Ceph.

Facts (shared/reference/domain.md): Cilium cluster ids are 1-255 in a mesh (1-511 with
max_connected_clusters 511, the only other supported value) and unique; cluster names at most 32
lower-case alphanumerics and '-' (cilium pkg/clustermesh/types); pod CIDRs of mesh members must not
overlap, service CIDRs may; etcd needs floor(n/2)+1 members, so 4 control planes tolerate no more
failures than 3; Ceph with failure domain host needs at least `size` hosts with OSDs, and one mon per
node unless allowMultiplePerNode.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import combinations

from labsim.provisioners.lab.checks_context import Context
from labsim.provisioners.lab.checks_core import Hit, producer
from labsim.provisioners.lab.model import Rke2Cluster, TalosCluster, parse_ip

_CILIUM_NAME = re.compile(r"^([a-z0-9]|[a-z0-9][a-z0-9-]{0,30}[a-z0-9])$")
NODEPORT_RANGE = (30000, 32767)


@producer(
    ("duplicate-cluster-name", "error", "Is each cluster name used once?"),
    ("cluster-vlan-unknown", "error", "Does every cluster's VLAN exist?"),
    ("unknown-host", "error", "Is every host a cluster names in hosts (or cloud.servers)?"),
    ("no-control-plane", "error", "Does every cluster have a control plane?"),
    ("control-plane-count-even", "warning", "Is every cluster's control-plane count odd?"),
    ("cluster-vlan-no-dhcp", "warning", "Does every VLAN with Talos VMs (which boot with DHCP) have a DHCP server?"),
)
def clusters(ctx: Context) -> Iterator[Hit]:
    seen: dict[str, int] = {}
    for i, (c, cp) in enumerate(zip(ctx.lab.clusters, ctx.cluster_paths)):
        if c.name in seen:
            yield Hit("duplicate-cluster-name", f"clusters[{i}].name",
                      f"cluster name {c.name} is used by clusters[{seen[c.name]}] and clusters[{i}]", {"name": c.name})
        seen.setdefault(c.name, i)
        if c.vlan is not None and c.vlan not in ctx.vlans:
            yield Hit("cluster-vlan-unknown", f"{cp}.vlan",
                      f"cluster {c.name} sits on VLAN {c.vlan}, which is not in vlans ({', '.join(ctx.vlans) or 'none'})",
                      {"vlan": c.vlan})
        groups: list[tuple[str, list[str]]] = []
        if isinstance(c, Rke2Cluster):
            groups = [("hosts.servers", c.hosts.servers), ("hosts.agents", c.hosts.agents)]
        elif c.hosts is not None:
            groups = [("hosts.control_plane", c.hosts.control_plane), ("hosts.workers", c.hosts.workers)]
        for field, names in groups:
            for k, h in enumerate(names):
                if h not in ctx.hosts and h not in ctx.servers:
                    yield Hit("unknown-host", f"{cp}.{field}[{k}]",
                              f"cluster {c.name} names host {h}, which is not in hosts"
                              + (" or cloud.servers" if ctx.servers else ""), {"host": h})
        n = len(c.control_planes())
        what = "servers" if isinstance(c, Rke2Cluster) else "control planes"
        if n == 0:
            yield Hit("no-control-plane", cp, f"cluster {c.name} has no {what}", {"count": 0})
        elif n % 2 == 0:
            yield Hit("control-plane-count-even", cp,
                      f"cluster {c.name} has {n} {what}: etcd needs {n // 2 + 1} of them for quorum, so {n} tolerate no "
                      f"more failures than {n - 1}; use an odd number", {"count": n})
        if isinstance(c, TalosCluster) and c.machines is not None and c.vlan in ctx.vlans and ctx.vlans[c.vlan].dhcp is None:
            yield Hit("cluster-vlan-no-dhcp", f"{cp}.vlan",
                      f"cluster {c.name}'s VMs boot with DHCP on {c.vlan}, which has no DHCP server", {"vlan": c.vlan})


@producer(
    ("endpoint-host-not-vip-or-node", "error",
     "Does every cluster endpoint point at its VIP or a control-plane node?"),
    ("pod-service-subnet-overlap", "error", "Do a cluster's pod and service subnets stay apart?"),
    ("cluster-subnet-overlaps-vlan", "error", "Do pod and service subnets stay clear of every VLAN subnet?"),
    ("cni-conflict", "error", "Is the cluster's own CNI off (or Cilium) when Cilium is planned?"),
    ("kube-proxy-and-replacement", "warning", "Does a cluster whose Cilium replaces kube-proxy run without kube-proxy?"),
    ("no-service-proxy", "error", "Does something implement Services (kube-proxy or Cilium's replacement)?"),
    ("pxe-talos-version-mismatch", "warning", "Does the PXE boot file's Talos version match the clusters on that VLAN?"),
)
def cluster_network(ctx: Context) -> Iterator[Hit]:
    leases = {lease.host: lease.address for v in ctx.lab.vlans if v.dhcp for lease in v.dhcp.static_leases}
    for c, cp in zip(ctx.lab.clusters, ctx.cluster_paths):
        host = c.endpoint_host
        ip = parse_ip(host)
        if ip is not None:
            cps = [m.name for m in c.control_planes()]
            node_ips = {}
            for name in cps:
                h = ctx.hosts.get(name)
                if h is not None and h.address is not None:
                    node_ips[h.address] = name
                elif name in leases:
                    node_ips[leases[name]] = name
            if ip != c.vip and ip not in node_ips:
                want = [f"VIP {c.vip}"] if c.vip else []
                want += [f"{n} {a}" for a, n in node_ips.items()]
                yield Hit("endpoint-host-not-vip-or-node", f"{cp}.endpoint",
                          f"cluster {c.name}'s endpoint {c.endpoint} points at {ip}, which is neither its VIP nor a "
                          f"control plane's known address ({', '.join(want) or 'none known: set vip'})",
                          {"endpoint": c.endpoint, "host": host})
        if c.pod_subnet.overlaps(c.service_subnet):
            yield Hit("pod-service-subnet-overlap", f"{cp}.service_subnet",
                      f"cluster {c.name}'s service subnet {c.service_subnet} overlaps its pod subnet {c.pod_subnet}",
                      {"pod_subnet": str(c.pod_subnet), "service_subnet": str(c.service_subnet)})
        for field in ("pod_subnet", "service_subnet"):
            net = getattr(c, field)
            for v in ctx.vlans.values():
                if net.overlaps(v.subnet):
                    yield Hit("cluster-subnet-overlaps-vlan", f"{cp}.{field}",
                              f"cluster {c.name}'s {field.replace('_', ' ')} {net} overlaps {v.name}'s subnet {v.subnet}",
                              {field: str(net), "vlan": v.name, "subnet": str(v.subnet)})
        if c.cilium is not None and c.replaces_kube_proxy and c.kube_proxy:
            yield Hit("kube-proxy-and-replacement", f"{cp}.cilium.kube_proxy_replacement",
                      f"Cilium replaces kube-proxy on {c.name}, which keeps kube-proxy too: both program the Service "
                      f"rules (set kube_proxy: false, or kube_proxy_replacement: false)",
                      {"kube_proxy": True, "kube_proxy_replacement": True})
        if c.cilium is not None and not c.replaces_kube_proxy and not c.kube_proxy:
            yield Hit("no-service-proxy", f"{cp}.cilium.kube_proxy_replacement",
                      f"{c.name} runs without kube-proxy and Cilium does not replace it: nothing implements Services "
                      f"(set kube_proxy_replacement: true, or kube_proxy: true)",
                      {"kube_proxy": False, "kube_proxy_replacement": False})
        if c.cilium is not None:
            ok = ("none", "custom") if isinstance(c, TalosCluster) else ("cilium", "none")
            if c.cni not in ok:
                yield Hit("cni-conflict", f"{cp}.cni",
                          f"cluster {c.name} plans Cilium but its cni is {c.cni}; two CNIs would fight over the pods "
                          f"(use {' or '.join(ok)})", {"cni": c.cni})
        if isinstance(c, TalosCluster) and c.vlan in ctx.vlans:
            v = ctx.vlans[c.vlan]
            boot = v.dhcp.boot_file if v.dhcp else None
            m = re.search(r"v?(\d+\.\d+\.\d+)", boot or "")
            if boot and "talos" in boot.lower() and m and m.group(1) != c.version.lstrip("v"):
                yield Hit("pxe-talos-version-mismatch", f"{ctx.vlan_path(v.name)}.dhcp.boot_file",
                          f"PXE boot file {boot} is Talos {m.group(1)}, but cluster {c.name} on {v.name} runs Talos "
                          f"{c.version}", {"boot_file": boot, "version": c.version})


@producer(
    ("cilium-cluster-name-invalid", "error", "Is every Cilium cluster name valid (<= 32 lower-case alphanumerics and '-')?"),
    ("cluster-id-out-of-range", "error", "Is every Cilium cluster id within 1-255 (1-511 with max_connected_clusters 511)?"),
    ("cluster-id-duplicate", "error", "Is every mesh member's Cilium cluster id unique?"),
    ("max-connected-clusters", "error", "Is max_connected_clusters 255 or 511?"),
    ("mesh-cluster-unknown", "error", "Is every cluster the mesh names a cluster of the lab and a mesh member?"),
    ("mesh-cluster-without-cilium", "error", "Does every mesh member plan Cilium?"),
    ("mesh-hub-missing", "error", "Does a hub-and-spoke mesh name its hub?"),
    ("mesh-too-small", "warning", "Does the mesh have at least two clusters?"),
    ("mesh-pod-cidr-overlap", "error", "Are the mesh members' pod subnets unique and non-overlapping?"),
    ("mesh-pod-service-overlap", "warning", "Does no member's pod subnet overlap another member's service subnet?"),
    ("clustermesh-nodeport-shared", "warning",
     "Do mesh members with kube-proxy replacement use different clustermesh-apiserver NodePorts?"),
    ("nodeport-out-of-range", "error", "Is every clustermesh NodePort within 30000-32767?"),
    ("canary-service-unknown", "error", "Does the canary weigh global services that exist?"),
    ("canary-weights-not-100", "warning", "Do the canary weights add up to 100?"),
    ("application-service-unknown", "error", "Does every mesh application reach global services that exist?"),
    ("mesh-kpr-mixed", "error", "Do all mesh members replace kube-proxy, or none (a hybrid Talos/RKE2 mesh too)?"),
    ("mesh-cilium-versions", "error", "Are the mesh members' Cilium versions at most one minor version apart?"),
    ("mesh-max-connected-differs", "error",
     "Does every mesh member's Cilium run with the mesh's max_connected_clusters?"),
)
def mesh(ctx: Context) -> Iterator[Hit]:
    m = ctx.lab.mesh
    limit = m.max_connected_clusters if m and m.max_connected_clusters in (255, 511) else 255
    members = [n for n in (m.clusters if m else []) if n in ctx.clusters]
    for c, cp in zip(ctx.lab.clusters, ctx.cluster_paths):
        if c.cilium is None:
            continue
        if not _CILIUM_NAME.match(c.cilium_name) or len(c.cilium_name) > 32:
            where = f"{cp}.cilium.cluster_name" if c.cilium.cluster_name else f"{cp}.name"
            yield Hit("cilium-cluster-name-invalid", where,
                      f"{c.cilium_name!r} is not a valid Cilium cluster name (at most 32 lower-case letters, digits and "
                      f"'-', starting and ending with a letter or digit); set cilium.cluster_name",
                      {"name": c.cilium_name})
        elif c.cilium_name == "default" and c.cilium.cluster_id != 0:
            yield Hit("cilium-cluster-name-invalid", f"{cp}.name",
                      "Cilium refuses the default cluster name 'default' with a non-zero cluster id", {"name": "default"})
        low = 1 if c.name in members else 0
        if not low <= c.cilium.cluster_id <= limit:
            yield Hit("cluster-id-out-of-range", f"{cp}.cilium.cluster_id",
                      f"cluster {c.name}'s Cilium cluster id {c.cilium.cluster_id} is outside {low}-{limit}"
                      + (" (mesh members need 1 or more)" if low and c.cilium.cluster_id < low else ""),
                      {"cluster_id": c.cilium.cluster_id, "range": [low, limit]})
        if c.cilium.clustermesh_node_port is not None and not (
                NODEPORT_RANGE[0] <= c.cilium.clustermesh_node_port <= NODEPORT_RANGE[1]):
            yield Hit("nodeport-out-of-range", f"{cp}.cilium.clustermesh_node_port",
                      f"clustermesh NodePort {c.cilium.clustermesh_node_port} of {c.name} is outside the Kubernetes "
                      f"NodePort range {NODEPORT_RANGE[0]}-{NODEPORT_RANGE[1]}", {"port": c.cilium.clustermesh_node_port})
    if m is None:
        return
    if m.max_connected_clusters not in (255, 511):
        yield Hit("max-connected-clusters", "mesh.max_connected_clusters",
                  f"max_connected_clusters is {m.max_connected_clusters}; Cilium supports 255 and 511 only",
                  {"value": m.max_connected_clusters})
    for k, name in enumerate(m.clusters):
        if name not in ctx.clusters:
            yield Hit("mesh-cluster-unknown", f"mesh.clusters[{k}]",
                      f"the mesh names cluster {name}, which is not in clusters ({', '.join(ctx.clusters) or 'none'})",
                      {"cluster": name})
        elif ctx.clusters[name].cilium is None:
            yield Hit("mesh-cluster-without-cilium", f"mesh.clusters[{k}]",
                      f"mesh member {name} has no cilium settings (version, cluster_id)", {"cluster": name})
    refs: list[tuple[str, str]] = []
    if m.hub is not None:
        refs.append(("mesh.hub", m.hub))
    elif m.topology == "hub-and-spoke":
        yield Hit("mesh-hub-missing", "mesh.hub", "a hub-and-spoke mesh needs hub: the cluster the others connect to", {})
    if m.ca is not None and m.ca.source is not None:
        refs.append(("mesh.ca.source", m.ca.source))
    for s in m.global_services:
        for cl in s.replicas:
            refs.append((f"mesh.global_services[{s.name}].replicas.{cl}", cl))
    for path, name in refs:
        if name not in m.clusters:
            known = "is not in clusters" if name not in ctx.clusters else "is not a member of the mesh (mesh.clusters)"
            yield Hit("mesh-cluster-unknown", path, f"{name} {known}", {"cluster": name})
    if len(m.clusters) < 2:
        yield Hit("mesh-too-small", "mesh.clusters", f"a mesh of {len(m.clusters)} cluster(s) connects nothing",
                  {"count": len(m.clusters)})
    # clustermesh.maxConnectedClusters: "Supported values are 255 and 511", fixed once Cilium is installed and the
    # same on every member (cilium-cli clustermesh connect refuses "remote and local clusters have different max
    # connected clusters"; domain.md 1.1): a member whose Cilium another tool installs says what it runs with.
    for name in dict.fromkeys(members):
        c = ctx.clusters[name]
        own = c.cilium.max_connected_clusters if c.cilium is not None else None
        if own is not None and own != m.max_connected_clusters:
            yield Hit("mesh-max-connected-differs", f"{ctx.cluster_path(name)}.cilium.max_connected_clusters",
                      f"{name}'s Cilium runs with max_connected_clusters {own}, the mesh's is "
                      f"{m.max_connected_clusters}: every member needs the same, and Cilium cannot change it once "
                      f"installed", {"value": own, "mesh": m.max_connected_clusters})
    ids: dict[int, str] = {}
    for k, name in enumerate(m.clusters):
        c = ctx.clusters.get(name)
        if c is None or c.cilium is None:
            continue
        cid = c.cilium.cluster_id
        if cid in ids and ids[cid] != name:
            yield Hit("cluster-id-duplicate", f"{ctx.cluster_path(name)}.cilium.cluster_id",
                      f"mesh members {ids[cid]} and {name} both have Cilium cluster id {cid}", {"cluster_id": cid})
        ids.setdefault(cid, name)
    mem = [ctx.clusters[n] for n in dict.fromkeys(members)]
    for a, b in combinations(mem, 2):
        if a.pod_subnet.overlaps(b.pod_subnet):
            yield Hit("mesh-pod-cidr-overlap", f"{ctx.cluster_path(b.name)}.pod_subnet",
                      f"pod subnet {b.pod_subnet} of {b.name} overlaps pod subnet {a.pod_subnet} of {a.name}; "
                      f"pod CIDRs in a mesh must be unique", {"pod_subnet": str(b.pod_subnet), "other": a.name,
                                                              "other_pod_subnet": str(a.pod_subnet)})
        for x, y in ((a, b), (b, a)):
            if x.pod_subnet.overlaps(y.service_subnet):
                yield Hit("mesh-pod-service-overlap", f"{ctx.cluster_path(x.name)}.pod_subnet",
                          f"pod subnet {x.pod_subnet} of {x.name} overlaps service subnet {y.service_subnet} of {y.name}",
                          {"pod_subnet": str(x.pod_subnet), "service_subnet": str(y.service_subnet)})
    ports: dict[int, str] = {}
    for c in mem:
        if c.cilium is None or not c.replaces_kube_proxy or c.cilium.clustermesh_service_type != "NodePort":
            continue
        port = c.cilium.clustermesh_node_port or 32379
        if port in ports:
            yield Hit("clustermesh-nodeport-shared", f"{ctx.cluster_path(c.name)}.cilium.clustermesh_node_port",
                      f"{c.name} and {ports[port]} both expose the clustermesh-apiserver on NodePort {port}; with kube-proxy "
                      f"replacement each cluster needs its own or traffic goes to a local backend (cilium#24692)",
                      {"port": port})
        ports.setdefault(port, c.name)
    if m.canary is not None:
        names = {s.name for s in m.global_services}
        for svc in m.canary.weights:
            if svc not in names:
                yield Hit("canary-service-unknown", f"mesh.canary.weights.{svc}",
                          f"canary {m.canary.name} weighs {svc}, which is not a global service ({', '.join(sorted(names)) or 'none'})",
                          {"service": svc})
        total = sum(m.canary.weights.values())
        if total != 100:
            yield Hit("canary-weights-not-100", "mesh.canary.weights",
                      f"canary {m.canary.name}'s weights add up to {total}, not 100", {"total": total})
    # Hybrid meshes (Talos and RKE2 members): global NodePort and host clients reach remote backends only with
    # kube-proxy replacement (domain.md 1.3 Limits), so a mesh mixing KPR and kube-proxy members behaves differently
    # per member; and Cilium supports clusters one minor version apart (Documentation/operations/upgrade.rst: an
    # upgrade goes one minor at a time, the mesh keeps working while members run versions N and N+1).
    kpr = {c.name: c.replaces_kube_proxy for c in mem if c.cilium is not None}
    if len(set(kpr.values())) > 1:
        off = [n for n, v in kpr.items() if not v]
        yield Hit("mesh-kpr-mixed", f"{ctx.cluster_path(off[0])}.cilium.kube_proxy_replacement",
                  f"mesh members {', '.join(n for n, v in kpr.items() if v)} replace kube-proxy, "
                  f"{', '.join(off)} do not; give every member the same kube-proxy replacement", kpr)
    minors = {}
    for c in mem:
        if c.cilium is not None:
            mm = re.match(r"v?(\d+)\.(\d+)", str(c.cilium.version))
            if mm:
                minors[c.name] = (int(mm.group(1)), int(mm.group(2)))
    if minors and max(minors.values())[0] == min(minors.values())[0] \
            and max(minors.values())[1] - min(minors.values())[1] > 1 or len({v[0] for v in minors.values()}) > 1:
        lo = min(minors, key=minors.get)
        hi = max(minors, key=minors.get)
        yield Hit("mesh-cilium-versions", f"{ctx.cluster_path(hi)}.cilium.version",
                  f"mesh members run Cilium {'.'.join(map(str, minors[lo]))} ({lo}) and "
                  f"{'.'.join(map(str, minors[hi]))} ({hi}): more than one minor version apart", minors)
    reachable = {s.name for s in m.global_services} | ({m.canary.name} if m.canary else set())
    for app in m.applications:
        for k, svc in enumerate(app.reaches):
            if svc not in reachable:
                yield Hit("application-service-unknown", f"mesh.applications[{app.name}].reaches[{k}]",
                          f"application {app.name} reaches {svc}, which is not a global service or the canary "
                          f"({', '.join(sorted(reachable)) or 'none'})", {"service": svc})


@producer(
    ("ceph-size-exceeds-osd-hosts", "error", "Are there at least `size` hosts with an OSD disk for every Ceph pool?"),
    ("ceph-mons-exceed-nodes", "error", "Are there enough nodes for one mon each (allow_multiple_per_node false)?"),
    ("ceph-mon-count-even", "warning", "Is the number of Ceph mons odd?"),
    ("ceph-min-size-invalid", "error", "Is every pool's min_size between 1 and its size?"),
    ("ceph-pool-no-redundancy", "warning", "Does every Ceph pool keep more than one copy?"),
    ("ceph-mons-not-ha", "warning", "Does Ceph run at least three mons, each on its own node (a quorum that survives a node)?"),
    ("ceph-mgr-not-ha", "warning", "Does Ceph run a standby mgr (two or more)?"),
)
def ceph(ctx: Context) -> Iterator[Hit]:
    for c, cp in zip(ctx.lab.clusters, ctx.cluster_paths):
        if c.ceph is None:
            continue
        ceph = c.ceph
        vms = c.vms()
        known_disks = bool(vms)
        osd_hosts = [vm.name for vm in vms if vm.ceph_disks]
        osds = sum(len(vm.ceph_disks) for vm in vms)
        schedulable = [mb.name for mb in c.members()
                       if mb.role == "worker" or isinstance(c, Rke2Cluster) or
                       (isinstance(c, TalosCluster) and c.allow_scheduling_on_control_planes)]
        for pool in ceph.pools:
            pp = f"{cp}.ceph.pools[{pool.name}]"
            if known_disks:
                count, unit = (len(osd_hosts), "hosts with a Ceph disk") if pool.failure_domain == "host" \
                    else (osds, "Ceph disks (OSDs)")
                if pool.failure_domain in ("host", "osd") and pool.size > count:
                    listed = f" ({', '.join(osd_hosts)})" if osd_hosts else ""
                    yield Hit("ceph-size-exceeds-osd-hosts", f"{pp}.size",
                              f"pool {pool.name} keeps {pool.size} copies with failure domain {pool.failure_domain}, but "
                              f"cluster {c.name} has only {count} {unit}{listed}: its placement groups stay undersized",
                              {"size": pool.size, "count": count, "osd_hosts": osd_hosts})
            if pool.min_size is not None and not 1 <= pool.min_size <= pool.size:
                yield Hit("ceph-min-size-invalid", f"{pp}.min_size",
                          f"pool {pool.name} has min_size {pool.min_size}; it must be between 1 and its size {pool.size}",
                          {"min_size": pool.min_size, "size": pool.size})
            if pool.size == 1:
                yield Hit("ceph-pool-no-redundancy", f"{pp}.size",
                          f"pool {pool.name} keeps one copy: losing any OSD loses data (POOL_NO_REDUNDANCY)", {"size": 1})
        if not ceph.allow_multiple_per_node and ceph.mons > len(schedulable):
            yield Hit("ceph-mons-exceed-nodes", f"{cp}.ceph.mons",
                      f"cluster {c.name} asks for {ceph.mons} mons, one per node, but has {len(schedulable)} node(s) that "
                      f"run workloads ({', '.join(schedulable) or 'none'})", {"mons": ceph.mons, "nodes": schedulable})
        if ceph.mons < 3:
            yield Hit("ceph-mons-not-ha", f"{cp}.ceph.mons",
                      f"cluster {c.name} runs {ceph.mons} mon(s): losing one loses the monitor quorum, and with it the "
                      f"cluster (Rook's production setting is three)", {"mons": ceph.mons})
        elif ceph.allow_multiple_per_node:
            yield Hit("ceph-mons-not-ha", f"{cp}.ceph.allow_multiple_per_node",
                      f"cluster {c.name} allows several mons per node: one node going down can take the quorum with it",
                      {"mons": ceph.mons})
        if ceph.mgrs < 2:
            yield Hit("ceph-mgr-not-ha", f"{cp}.ceph.mgrs",
                      f"cluster {c.name} runs {ceph.mgrs} mgr: while it restarts or its node is down there is no "
                      f"standby (dashboard, orchestration and PG stats stop)", {"mgrs": ceph.mgrs})
        if ceph.mons % 2 == 0:
            yield Hit("ceph-mon-count-even", f"{cp}.ceph.mons",
                      f"{ceph.mons} mons tolerate no more failures than {ceph.mons - 1}; use an odd number", {"mons": ceph.mons})
