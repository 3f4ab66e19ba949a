"""The COSI resources `talosctl get` reads from a simulated node, shaped as machined serves them:
`metadata{namespace,type,id,version,owner,phase,created,updated}` and a type-specific `spec`.

Each definition is the resource's ResourceDefinition as Talos registers it (pkg/machinery/resources/*: the type,
its default namespace, its explicit aliases and its print columns as JSONPath), and names the function that derives
its items from the node. The other aliases are made as COSI makes them (cosi-project/runtime
pkg/resource/meta/spec/resource_definition.go Fill: the singular display type, the plural name, the name with its
suffix's leading elements, the upper-case letters and their plural: `linkstatus`, `linkstatuses`,
`linkstatuses.net`, `ls`, `lss`). The server evaluates the print columns (a JSONPath subset: `{.a.b}`, `{.a[:]}`,
`{.a[?(@.k=="v")].f}`, printed as kubectl's jsonpath prints them), so talosctl prints what it is sent.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from labsim.fakes.talos import hardware, machine, services
from labsim.fakes.talos.machineconfig import load_all
from labsim.fakes.talos.texts import SYSTEM_PARTITIONS_MIB
from labsim.fakes.tools.gofmt import humanize_bytes

if TYPE_CHECKING:
    from labsim.fakes.talos.node import TalosNode


@dataclass(frozen=True)
class Definition:
    type: str                                 # `LinkStatuses.net.talos.dev`
    namespace: str                            # the default namespace
    aliases: tuple[str, ...]                  # the explicit ones (ResourceDefinitionSpec.Aliases)
    columns: tuple[tuple[str, str], ...]      # PrintColumns: (name, JSONPath)
    items: Callable[[TalosNode], list[tuple[str, dict[str, Any]]]]   # (id, spec)
    maintenance: bool = False                 # readable with --insecure in maintenance mode
    sensitive: bool = False

    @property
    def plural(self) -> str:
        return self.type.split(".", 1)[0]

    @property
    def display(self) -> str:                 # DisplayType: the singular name, the TYPE column
        return _singular(self.plural)

    def all_aliases(self) -> list[str]:
        name, suffix = self.type.split(".", 1)
        shown = [*self.aliases, self.display.lower()]
        upper = "".join(c for c in name if c.isupper())
        if len(upper) > 1:
            shown.append(upper.lower())
            if not upper.endswith("S"):
                shown.append(upper.lower() + "s")
        parts = suffix.split(".")
        out = [name.lower()] + [".".join([name.lower(), *parts[:i]]) for i in range(1, len(parts))] + shown
        return list(dict.fromkeys(out))

    def spec_json(self) -> dict[str, Any]:
        """This definition as a ResourceDefinition's spec (what `talosctl get rd` shows)."""
        name, suffix = self.type.split(".", 1)
        shown = [a for a in dict.fromkeys(self.all_aliases()) if a in (*self.aliases, self.display.lower()) or
                 a == "".join(c for c in name if c.isupper()).lower() or
                 a == "".join(c for c in name if c.isupper()).lower() + "s"]
        return {"type": self.type, "displayType": self.display, "defaultNamespace": self.namespace,
                "aliases": shown, "allAliases": self.all_aliases(),
                "printColumns": [{"name": n, "jsonPath": j} for n, j in self.columns],
                **({"sensitivity": "sensitive"} if self.sensitive else {})}


def _singular(plural: str) -> str:
    for end, repl in (("ies", "y"), ("ses", "s"), ("xes", "x")):
        if plural.endswith(end) and plural not in ("Services", "Nodenames"):
            return plural[: -len(end)] + repl
    return plural[:-1] if plural.endswith("s") else plural


def _stage(node: TalosNode) -> list[tuple[str, dict[str, Any]]]:
    ready = node.stage == "running"
    unmet = [] if ready or node.stage == "maintenance" else [{"name": "nodeReady", "reason": "node is not ready"}]
    return [("machine", {"stage": node.stage, "status": {"ready": ready, "unmetConditions": unmet}})]


def _members(node: TalosNode) -> list[tuple[str, dict[str, Any]]]:
    if node.cluster is None:
        return []
    out = []
    for n in sorted(node.cluster.nodes.values(), key=lambda n: n.hostname):
        if n.stage == "off" or not n.address:
            continue
        node_id = hashlib.sha256(f"{n.vm.node}/{n.vmid}".encode()).hexdigest()[:43]
        out.append((n.hostname, {"nodeId": node_id, "addresses": [n.address],
                                 "hostname": n.hostname, "machineType": n.config.type if n.config else "unknown",
                                 "operatingSystem": f"Talos (v{n.version})"}))
    return out


def _services(node: TalosNode) -> list[tuple[str, dict[str, Any]]]:
    return [(s.id, {"running": s.state == "Running", "healthy": bool(s.healthy), "unknown": s.healthy is None})
            for s in services.services(node)]


def _machineconfig(node: TalosNode) -> list[tuple[str, dict[str, Any]]]:
    if node.config is None:
        return []
    docs = [d for d in load_all(node.config.text) if d]
    return [("v1alpha1", docs[0])]


def _disks(node: TalosNode) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for d in hardware.disks(node.vm):
        out.append((d.name, {"dev_path": d.dev, "size": d.size, "pretty_size": humanize_bytes(d.size), "io_size": 512,
                             "sector_size": 512, "readonly": False, "cdrom": d.cdrom, "model": d.model,
                             "transport": d.transport, "rotational": True, "wwid": "", "serial": ""}))
    return out


def _addresses(node: TalosNode) -> list[tuple[str, dict[str, Any]]]:
    lease = node.vm.world.get("lease")
    out = [("lo/127.0.0.1/8", {"address": "127.0.0.1/8", "linkName": "lo", "family": "inet4", "scope": "host"})]
    if lease is not None:
        link = f"ens{18 + int(lease.nic[3:])}"
        out.append((f"{link}/{lease.address}/{lease.prefix}",
                    {"address": f"{lease.address}/{lease.prefix}", "linkName": link, "family": "inet4",
                     "scope": "global"}))
        cluster = node.cluster
        if cluster is not None and cluster.vip_holder == node.vmid and cluster.vip:
            out.append((f"{link}/{cluster.vip}/32", {"address": f"{cluster.vip}/32", "linkName": link,
                                                     "family": "inet4", "scope": "global"}))
    return out


def _volumes(node: TalosNode) -> list[tuple[str, dict[str, Any]]]:
    disk = hardware.disk(node.vm, (node.config.install_disk if node.config else "") or "")
    if disk is None or node.stage == "maintenance":
        return []
    size = max(0, disk.size - SYSTEM_PARTITIONS_MIB * 1024 ** 2)
    return [("EPHEMERAL", {"phase": "ready", "location": f"{disk.dev}6", "size": size, "prettySize": humanize_bytes(size)})]


def _nodename(node: TalosNode) -> list[tuple[str, dict[str, Any]]]:
    return [("nodename", {"nodename": node.hostname, "hostnameVersion": "1"})] if node.config else []



def _links(node: TalosNode) -> list[tuple[str, dict[str, Any]]]:
    return machine.links(node) if node.stage != "off" else []


def _routes(node: TalosNode) -> list[tuple[str, dict[str, Any]]]:
    return machine.routes(node)


def _hostname(node: TalosNode) -> list[tuple[str, dict[str, Any]]]:
    return [("hostname", {"hostname": node.hostname, "domainname": ""})]


def _resolvers(node: TalosNode) -> list[tuple[str, dict[str, Any]]]:
    return [("resolvers", {"dnsServers": machine.resolvers(node), "searchDomains": []})]


def _time(node: TalosNode) -> list[tuple[str, dict[str, Any]]]:
    synced = node.stage != "maintenance" and node.address is not None
    return [("node", {"synced": synced, "epoch": 1, "syncDisabled": False})]


def _static_pods(node: TalosNode) -> list[tuple[str, dict[str, Any]]]:
    if not node.control_plane or node.etcd != "running":
        return []
    version = (node.config.kubernetes_version if node.config else None) or "1.34.1"
    return [(name, {"pod": {"apiVersion": "v1", "kind": "Pod",
                            "metadata": {"name": name, "namespace": "kube-system",
                                         "labels": {"k8s-app": name, "tier": "control-plane"}},
                            "spec": {"containers": [{"name": name, "image": f"registry.k8s.io/{name}:v{version}"}],
                                     "hostNetwork": True, "priorityClassName": "system-cluster-critical"}}})
            for name in STATIC_PODS]


def _static_pod_status(node: TalosNode) -> list[tuple[str, dict[str, Any]]]:
    if not node.control_plane or not node.kubelet:
        return []
    out = []
    for name in STATIC_PODS:
        ready = node.apiserver if name == "kube-apiserver" else node.etcd == "running"
        status = "True" if ready else "False"
        out.append((f"kube-system/{name}-{node.hostname}",
                    {"phase": "Running" if ready else "Pending",
                     "conditions": [{"type": t, "status": status} for t in
                                    ("Initialized", "Ready", "ContainersReady", "PodScheduled")],
                     "hostIP": node.address or "", "podIP": node.address or ""}))
    return out


def _etcd_member(node: TalosNode) -> list[tuple[str, dict[str, Any]]]:
    cluster = node.cluster
    if cluster is None or not node.control_plane or node.vmid not in cluster.members or node.etcd != "running":
        return []
    return [("local", {"memberID": cluster.members[node.vmid].id})]


def _definitions(node: TalosNode) -> list[tuple[str, dict[str, Any]]]:
    return [(d.type.lower(), d.spec_json()) for d in DEFINITIONS]


STATIC_PODS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")


def _cols(*pairs: tuple[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple((name, path if path.startswith("{") else "{." + path + "}") for name, path in pairs)


# Sources: pkg/machinery/resources/{runtime,cluster,config,block,network,k8s,time,etcd}/*.go ResourceDefinition().
DEFINITIONS = [
    Definition("MachineStatuses.runtime.talos.dev", "runtime", (),
               _cols(("Stage", "stage"), ("Ready", "status.ready")), _stage, maintenance=True),
    Definition("Members.cluster.talos.dev", "cluster", (),
               _cols(("Hostname", "hostname"), ("Machine Type", "machineType"), ("OS", "operatingSystem"),
                     ("Addresses", "addresses")), _members),
    Definition("Services.v1alpha1.talos.dev", "runtime", ("svc",),
               _cols(("Running", "running"), ("Healthy", "healthy"), ("Health Unknown", "unknown")), _services),
    Definition("MachineConfigs.config.talos.dev", "config", ("mc",), (), _machineconfig, sensitive=True),
    Definition("Disks.block.talos.dev", "runtime", (),
               _cols(("Size", "pretty_size"), ("Read Only", "readonly"), ("Transport", "transport"),
                     ("Rotational", "rotational"), ("WWID", "wwid"), ("Model", "model"), ("Serial", "serial")),
               _disks, maintenance=True),
    Definition("AddressStatuses.net.talos.dev", "network", ("address", "addresses"),
               _cols(("Address", "address"), ("Link", "linkName")), _addresses, maintenance=True),
    Definition("LinkStatuses.net.talos.dev", "network", ("link", "links"),
               _cols(("Type", "type"), ("Kind", "kind"), ("Hw Addr", "hardwareAddr"),
                     ("Oper State", "operationalState"), ("Link State", "linkState")), _links, maintenance=True),
    Definition("RouteStatuses.net.talos.dev", "network", ("route", "routes"),
               _cols(("Destination", "dst"), ("Gateway", "gateway"), ("Link", "outLinkName"),
                     ("Metric", "priority")), _routes, maintenance=True),
    Definition("HostnameStatuses.net.talos.dev", "network", ("hostname",),
               _cols(("Hostname", "hostname"), ("Domainname", "domainname")), _hostname, maintenance=True),
    Definition("ResolverStatuses.net.talos.dev", "network", ("resolvers",),
               _cols(("Resolvers", "dnsServers"), ("Search Domains", "searchDomains")), _resolvers,
               maintenance=True),
    Definition("TimeStatuses.v1alpha1.talos.dev", "runtime", (), _cols(("Synced", "synced")), _time),
    Definition("VolumeStatuses.block.talos.dev", "runtime", (),
               _cols(("Phase", "phase"), ("Location", "location"), ("Size", "prettySize")), _volumes),
    Definition("Nodenames.kubernetes.talos.dev", "controlplane", (), _cols(("Nodename", "nodename")), _nodename),
    Definition("StaticPods.kubernetes.talos.dev", "k8s", (), (), _static_pods),
    Definition("StaticPodStatuses.kubernetes.talos.dev", "k8s", ("podstatus",),
               _cols(("Ready", '{.conditions[?(@.type=="Ready")].status}')), _static_pod_status),
    Definition("EtcdMembers.etcd.talos.dev", "etcd", (), _cols(("Member ID", "memberID")), _etcd_member),
    Definition("ResourceDefinitions.meta.cosi.dev", "meta", ("api-resources",),
               _cols(("Aliases", "{.aliases[:]}")), _definitions, maintenance=True),
]


def definition(name: str) -> Definition | None:
    low = name.lower()
    for d in DEFINITIONS:
        if low == d.type.lower() or low in d.all_aliases():
            return d
    return None


# --- print columns: the JSONPath subset Talos's definitions use ------------------------------------------------
_STEP = re.compile(r'\.([\w-]+)|\[:\]|\[\?\(@\.([\w-]+)=="([^"]*)"\)\]')


def column(spec: Any, path: str) -> str:
    """A print column's text, as k8s.io/client-go/util/jsonpath prints results (lists and maps as JSON, several
    results separated by a space, a missing key as nothing)."""
    values = [spec]
    for m in _STEP.finditer(path.strip("{}")):
        nxt: list[Any] = []
        for v in values:
            if m.group(1) is not None:
                if isinstance(v, dict) and m.group(1) in v:
                    nxt.append(v[m.group(1)])
            elif m.group(2) is not None:
                nxt += [x for x in (v if isinstance(v, list) else []) if isinstance(x, dict)
                        and str(x.get(m.group(2))) == m.group(3)]
            else:
                nxt += list(v) if isinstance(v, list) else []
        values = nxt
    return " ".join(_text(v) for v in values)


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, dict)):
        return json.dumps(v, separators=(",", ":"))
    return "" if v is None else str(v)


def read(node: TalosNode, d: Definition, rid: str | None, now: str) -> list[dict[str, Any]]:
    out = []
    for item_id, spec in d.items(node):
        if rid is not None and item_id != rid:
            continue
        version = int((node.vm.world.get("installed") or {}).get("config_version", 1)) \
            if d.namespace == "config" else 1
        out.append({"metadata": {"namespace": d.namespace, "type": d.type, "id": item_id, "version": version,
                                 "owner": "", "phase": "running", "created": now, "updated": now},
                    "spec": spec, "columns": [column(spec, path) for _, path in d.columns]})
    return out
