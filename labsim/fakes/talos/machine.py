"""What a simulated Talos node holds besides its services: containers, images and their stats, memory, the files
`talosctl read`/`list` see, sockets, service logs, its network as the kernel has it, its time and its etcd member.

Everything is derived from the node's life in the simulator (which services run since when, the VM's sizing, its
NIC and DHCP lease, the cluster's Kubernetes pods on it, etcd membership), never stored twice: two reads at the
same moment agree, and a rebooted node shows a new boot.

Names and values as Talos shows them: system containers (containerd namespace `system`) are the services run by
the containerd runner (apid, trustd, etcd, kubelet: internal/app/machined/pkg/system/services), CRI pods and
containers are `namespace/pod` and `namespace/pod:container:id` (internal/pkg/containers/cri), images as the
versions Talos 1.11.3 pins (pkg/machinery/constants: etcd v3.6.5, pause 3.10, kubelet ghcr.io/siderolabs/kubelet).
Per-container memory and CPU figures are ours: plausible, stable, growing with uptime.
"""
from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from labsim.fakes.talos import hardware, services
from labsim.fakes.talos.machineconfig import load_all

if TYPE_CHECKING:
    from labsim.fakes.talos.node import TalosNode

ETCD_IMAGE = "gcr.io/etcd-development/etcd:v3.6.5"
PAUSE_IMAGE = "registry.k8s.io/pause:3.10"
KUBELET_IMAGE = "ghcr.io/siderolabs/kubelet"
DEFAULT_NTP = "time.cloudflare.com"      # Talos's default time server (pkg/machinery/constants DefaultNTPServer)
SYSTEM_CONTAINERS = ("apid", "trustd", "etcd", "kubelet")
# per-container resident memory (MB) and CPU use (cores) at rest: ours
USAGE = {"apid": (24.0, 0.002), "trustd": (14.0, 0.001), "etcd": (92.0, 0.03), "kubelet": (66.0, 0.02),
         "kube-apiserver": (380.0, 0.06), "kube-controller-manager": (62.0, 0.01), "kube-scheduler": (28.0, 0.004)}


def _h(*parts: Any) -> str:
    return hashlib.sha256("/".join(str(p) for p in parts).encode()).hexdigest()


def _pid(node: TalosNode, name: str) -> int:
    return 1000 + int(_h(node.vmid, node.boot_id, name)[:6], 16) % 9000


def uptime(node: TalosNode) -> float:
    return max(0.0, node.talos.clock.now() - node.booted_at)


def kubelet_image(node: TalosNode) -> str:
    cfg = node.config
    version = (cfg.kubernetes_version if cfg else None) or "1.34.1"
    return f"{KUBELET_IMAGE}:v{version}"


# --- containers ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Container:
    namespace: str        # system | k8s.io
    id: str
    pod_id: str
    image: str
    pid: int
    status: str
    name: str             # what the usage figures and logs key on


def system_containers(node: TalosNode) -> list[Container]:
    out = []
    for s in services.services(node):
        if s.id not in SYSTEM_CONTAINERS or s.state != "Running":
            continue
        image = {"etcd": ETCD_IMAGE, "kubelet": kubelet_image(node)}.get(s.id, "")
        out.append(Container("system", s.id, s.id, image, _pid(node, s.id), "RUNNING", s.id))
    return out


def cri_containers(node: TalosNode) -> list[Container]:
    """The pods the cluster scheduled on this node and runs (the static pods of a control plane among them)."""
    cluster = node.cluster
    if cluster is None or cluster.kube is None or not node.kubelet:
        return []
    out = []
    for pod in cluster.kube.pods_on(node.hostname):
        md, st = pod["metadata"], pod.get("status") or {}
        if st.get("phase") != "Running":
            continue
        pod_id = f"{md['namespace']}/{md['name']}"
        out.append(Container("k8s.io", pod_id, pod_id, PAUSE_IMAGE, _pid(node, pod_id), "SANDBOX_READY",
                             md["name"]))
        for c in pod["spec"].get("containers") or []:
            cid = f"{pod_id}:{c['name']}:{_h(node.boot_id, pod_id, c['name'])[:12]}"
            out.append(Container("k8s.io", cid, pod_id, c.get("image", ""), _pid(node, cid), "CONTAINER_RUNNING",
                                 c["name"]))
    return out


def containers(node: TalosNode, kubernetes: bool) -> list[Container]:
    return cri_containers(node) if kubernetes else system_containers(node)


def stats(node: TalosNode, kubernetes: bool) -> list[dict[str, Any]]:
    """ContainerStats: memory in bytes, CPU as cumulative nanoseconds since the container started."""
    out = []
    up = uptime(node)
    for c in containers(node, kubernetes):
        if c.id != c.pod_id or c.namespace == "system":
            mem, cpu = USAGE.get(c.name, (18.0, 0.003))
            jitter = int(_h(c.id)[:4], 16) / 0xFFFF
            out.append({"namespace": c.namespace, "id": c.id, "pod_id": c.pod_id, "name": c.name,
                        "memory_usage": int(mem * (0.9 + 0.2 * jitter) * 1e6), "cpu_usage": int(up * cpu * 1e9)})
        else:
            out.append({"namespace": c.namespace, "id": c.id, "pod_id": c.pod_id, "name": c.name,
                        "memory_usage": 0, "cpu_usage": 0})
    return out


def images(node: TalosNode, namespace: str) -> list[dict[str, Any]]:
    """`image list`: the images containerd holds in that namespace (cri: every image of the pods it ran)."""
    names: dict[str, int] = {}
    if namespace == "system":
        if node.control_plane:
            names[ETCD_IMAGE] = 63_000_000
        names[kubelet_image(node)] = 104_000_000
    else:
        for c in cri_containers(node):
            names.setdefault(c.image, 0)
    out = []
    for name in sorted(names):
        size = names[name] or 20_000_000 + int(_h(name)[:6], 16) % 80_000_000
        out.append({"name": name, "digest": "sha256:" + _h("digest", name), "size": size,
                    "created": node.booted_at})
    return out


# --- memory ------------------------------------------------------------------------------------------------------------
def meminfo(node: TalosNode) -> dict[str, int]:
    """/proc/meminfo in kB, from the VM's RAM and what runs on it."""
    total = hardware.memtotal_mib(node.vm) * 1024
    used = int(sum(s["memory_usage"] for s in stats(node, False) + stats(node, True)) / 1024) + 180_000
    used = min(used, int(total * 0.9))
    cached = int(total * 0.18)
    buffers = int(total * 0.01)
    free = max(0, total - used - cached - buffers)
    return {"MemTotal": total, "MemFree": free, "MemAvailable": free + cached + buffers, "Buffers": buffers,
            "Cached": cached, "SwapCached": 0, "Active": int(used * 0.6), "Inactive": int(cached * 0.7),
            "Shmem": int(total * 0.004), "SwapTotal": 0, "SwapFree": 0, "Slab": int(total * 0.03),
            "KernelStack": 8_000, "PageTables": 6_000, "AnonPages": used, "Mapped": int(cached * 0.3)}


# --- network ---------------------------------------------------------------------------------------------------------
def link_name(node: TalosNode) -> str:
    lease = node.vm.world.get("lease")
    nic = lease.nic if lease is not None else next(iter(node.vm.nets()), "net0")
    return f"ens{18 + int(nic[3:] or 0)}"


def dhcp_network(node: TalosNode) -> dict[str, str]:
    """The DHCP network row (gateway, DNS) of the server that leased the node its address."""
    lease = node.vm.world.get("lease")
    world = getattr(node.talos, "world", None)
    if lease is None or world is None or lease.device not in world.devices:
        return {}
    addr = ipaddress.IPv4Address(lease.address)
    for row in world.devices[lease.device].rows("/ip/dhcp-server/network"):
        try:
            if addr in ipaddress.IPv4Network(row.get("address", ""), strict=False):
                return row
        except ValueError:
            continue
    return {}


def links(node: TalosNode) -> list[dict[str, Any]]:
    mac = (hardware.mac(node.vm) or "").lower()
    up = node.vm.world.get("lease") is not None
    return [("lo", {"type": "loopback", "kind": "", "hardwareAddr": "00:00:00:00:00:00", "index": 1, "mtu": 65536,
                    "operationalState": "unknown", "linkState": True}),
            (link_name(node), {"type": "ether", "kind": "", "hardwareAddr": mac, "index": 2, "mtu": 1500,
                               "operationalState": "up" if up else "down", "linkState": up, "driver": "virtio_net",
                               "busPath": "0000:00:12.0"})]


def routes(node: TalosNode) -> list[tuple[str, dict[str, Any]]]:
    lease = node.vm.world.get("lease")
    if lease is None:
        return []
    link = link_name(node)
    net = ipaddress.IPv4Interface(f"{lease.address}/{lease.prefix}").network
    out = [(f"inet4/{net}/{link}/1024",
            {"family": "inet4", "dst": str(net), "src": lease.address, "gateway": "", "outLinkName": link,
             "table": "main", "priority": 1024, "scope": "link", "type": "unicast", "protocol": "kernel"})]
    gw = (dhcp_network(node).get("gateway") or "").split(",")[0]
    if gw:
        out.insert(0, (f"inet4/{gw}//1024",
                       {"family": "inet4", "dst": "", "src": lease.address, "gateway": gw, "outLinkName": link,
                        "table": "main", "priority": 1024, "scope": "global", "type": "unicast",
                        "protocol": "dhcp"}))
    return out


def resolvers(node: TalosNode) -> list[str]:
    return [d for d in (dhcp_network(node).get("dns-server") or "").split(",") if d]


def sockets(node: TalosNode, listening: bool) -> list[dict[str, Any]]:
    """What `netstat` sees on the host network: the services' listeners, or the connections between nodes."""
    addr = node.address or "0.0.0.0"
    up = {s.id for s in services.services(node) if s.state == "Running"}
    out: list[dict[str, Any]] = []

    def listen(proto: str, ip: str, port: int, name: str) -> None:
        out.append({"l4proto": proto, "localip": ip, "localport": port, "remoteip": "::" if ":" in ip else "0.0.0.0",
                    "remoteport": 0, "state": "LISTEN", "pid": _pid(node, name), "name": name})
    if listening:
        if "apid" in up:
            listen("tcp6", "::", 50000, "apid")
        if "trustd" in up:
            listen("tcp6", "::", 50001, "trustd")
        if "etcd" in up:
            listen("tcp", addr, 2379, "etcd")
            listen("tcp", "127.0.0.1", 2379, "etcd")
            listen("tcp", addr, 2380, "etcd")
        if "kubelet" in up:
            listen("tcp", "127.0.0.1", 10248, "kubelet")
            listen("tcp6", "::", 10250, "kubelet")
        if node.apiserver:
            listen("tcp6", "::", 6443, "kube-apiserver")
        if node.config and node.config.kubeprism and "kubelet" in up:
            listen("tcp", "127.0.0.1", node.config.kubeprism_port, "machined")
        return sorted(out, key=lambda r: (r["l4proto"], r["localport"], r["localip"]))
    cluster = node.cluster
    if cluster is not None and "kubelet" in up and node.address:
        for i, cp in enumerate(n for n in cluster.control_planes() if n.apiserver and n.reachable and n.address):
            out.append({"l4proto": "tcp", "localip": node.address, "localport": 40000 + i * 7 + node.vmid % 7,
                        "remoteip": cp.address, "remoteport": 6443, "state": "ESTABLISHED",
                        "pid": _pid(node, "kubelet"), "name": "kubelet"})
    if cluster is not None and node.etcd == "running" and node.address:
        for peer in cluster.control_planes():
            if peer is not node and peer.etcd == "running" and peer.address:
                out.append({"l4proto": "tcp", "localip": node.address, "localport": 2380, "remoteip": peer.address,
                            "remoteport": 45000 + peer.vmid % 1000, "state": "ESTABLISHED",
                            "pid": _pid(node, "etcd"), "name": "etcd"})
    return out


# --- time ---------------------------------------------------------------------------------------------------------------
def ntp_servers(node: TalosNode) -> list[str]:
    doc = next((d for d in load_all(node.config.text) if isinstance(d, dict) and d.get("version") == "v1alpha1"),
               {}) if node.config else {}
    servers = (((doc.get("machine") or {}).get("time") or {}).get("servers")) or []
    return [str(s) for s in servers] or [DEFAULT_NTP]


# --- service logs ------------------------------------------------------------------------------------------------------
def service_log(node: TalosNode, sid: str) -> list[str] | None:
    """The log of a service as Talos keeps it (/var/log/<service>.log via the logging manager): its events this
    boot, in the service's own format. None: no such service on this node."""
    known = {s.id: s for s in services.services(node)}
    if sid not in known:
        return None
    out = []
    now, wall = node.talos.clock.now(), node.talos.clock.utcnow()
    prefix = f"[talos] service[{sid}]("
    for t, facility, _prio, message in node.kmsg:
        if facility == "user" and message.startswith(prefix):
            out.append(_log_line(sid, wall - timedelta(seconds=now - t), message[len(prefix):].split("): ", 1)[-1]))
    if sid == "etcd" and node.etcd == "running":
        out.append(_log_line(sid, None, "ready to serve client requests"))
    if sid == "kubelet" and node.kubelet:
        out.append(_log_line(sid, None, "Successfully registered node"))
    return out


def _log_line(sid: str, stamp: Any, text: str) -> str:
    when = stamp.strftime("%Y/%m/%d %H:%M:%S") if stamp is not None else ""
    if sid == "etcd":
        return f'{{"level":"info","msg":"{text}"}}'
    return f"{when} {text}".strip()


# --- files ---------------------------------------------------------------------------------------------------------------
DIRS = ("/", "/etc", "/proc", "/var", "/var/log", "/var/lib", "/var/lib/kubelet", "/var/lib/etcd", "/system",
        "/system/state", "/usr", "/usr/local", "/opt", "/boot")


def files(node: TalosNode) -> dict[str, str]:
    """Path -> content of the regular files a read or a listing may show."""
    vm = node.vm
    mem = meminfo(node)
    up = uptime(node)
    out = {
        "/proc/meminfo": "".join(f"{k + ':':<16}{v:>8} kB\n" for k, v in mem.items()),
        "/proc/cpuinfo": "".join(f"processor\t: {i}\nvendor_id\t: AuthenticAMD\nmodel name\t: QEMU Virtual CPU "
                                 "version 2.5+\ncpu MHz\t\t: 2400.000\n\n" for i in range(vm.cpus())),
        "/proc/version": "Linux version 6.12.52-talos (@buildkitsandbox) #1 SMP PREEMPT_DYNAMIC\n",
        "/proc/uptime": f"{up:.2f} {up * vm.cpus() * 0.9:.2f}\n",
        "/proc/loadavg": "0.42 0.38 0.33 2/512 4242\n",
        "/proc/cmdline": "talos.platform=metal console=tty0 init_on_alloc=1 slab_nomerge pti=on consoleblank=0\n",
        "/etc/hostname": node.hostname + "\n",
        "/etc/os-release": (f'NAME="Talos"\nID=talos\nVERSION_ID=v{node.version}\nPRETTY_NAME="Talos (v{node.version})"\n'
                            'HOME_URL="https://www.talos.dev/"\nBUG_REPORT_URL="https://github.com/siderolabs/talos/'
                            'issues"\nVENDOR_NAME="Sidero Labs"\nVENDOR_URL="https://www.siderolabs.com/"\n'),
        "/etc/resolv.conf": "".join(f"nameserver {d}\n" for d in resolvers(node)) or "nameserver 127.0.0.53\n",
        "/etc/hosts": f"127.0.0.1 localhost\n{node.address or '127.0.1.1'} {node.hostname}\n::1 localhost "
                      "ip6-localhost ip6-loopback\n",
    }
    if node.config is not None and node.stage != "maintenance":
        out["/system/state/config.yaml"] = node.config.text
        out["/var/lib/kubelet/config.yaml"] = ("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
                                               "authentication:\n  anonymous:\n    enabled: false\n"
                                               "cgroupDriver: systemd\nclusterDomain: cluster.local\n")
        out["/var/lib/kubelet/kubeconfig"] = "apiVersion: v1\nkind: Config\n"
    for sid in (s.id for s in services.services(node)):
        log = service_log(node, sid) or []
        out[f"/var/log/{sid}.log"] = "".join(line + "\n" for line in log)
    if node.control_plane and node.etcd_data:
        out["/var/lib/etcd/member/snap/db"] = ""
    return out


def file_mode(path: str) -> int:
    return 0o444 if path.startswith("/proc/") else (0o600 if path.startswith(("/system/", "/var/lib/")) else 0o644)


def directories(node: TalosNode) -> set[str]:
    dirs = set(DIRS)
    for path in files(node):
        parts = path.split("/")[1:-1]
        for i in range(1, len(parts) + 1):
            dirs.add("/" + "/".join(parts[:i]))
    if node.control_plane and node.etcd_data:
        dirs |= {"/var/lib/etcd/member", "/var/lib/etcd/member/snap", "/var/lib/etcd/member/wal"}
    return dirs


# --- etcd --------------------------------------------------------------------------------------------------------------------
def etcd_status(node: TalosNode) -> dict[str, Any]:
    """EtcdMemberStatus of this node's member: the DB grows with the cluster's Kubernetes writes, the raft index
    follows them, the leader is the first member of its etcd cluster that runs (sizes are ours)."""
    cluster = node.cluster
    assert cluster is not None
    me = cluster.members[node.vmid]
    peers = [m for m in cluster.members_of(node)
             if m.vmid in cluster.nodes and cluster.etcd_up(cluster.nodes[m.vmid])]
    leader = min(peers, key=lambda m: (cluster.nodes[m.vmid].booted_at, m.hostname)) if peers else me
    writes = cluster.kube.cluster.store.rv if cluster.kube is not None else 0
    index = 4_000 + 7 * int(writes) + int(uptime(node) / 10)
    db = 2_400_000 + 2_000 * int(writes)
    term = 1 + sum(1 for n in cluster.nodes.values() if n.control_plane and n.boot_id > 1)
    return {"member_id": int(me.id, 16), "db_size": db, "db_size_in_use": int(db * 0.62),
            "leader": int(leader.id, 16), "raft_index": index, "raft_term": term, "raft_applied_index": index,
            "is_learner": me.learner, "protocol_version": "3.6.0", "storage_version": "3.6.0", "errors": []}
