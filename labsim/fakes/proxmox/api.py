"""The routing table: API paths under /api2/json, their parameter schemas, and their handlers.

A handler gets a `Ctx` (cluster, the validated parameters as sent and converted, the authenticated
user) and returns the `data` of the answer, or a `Result` when the answer carries `total` or `changes`.
Errors are raised as `errors.ApiError`. Sources per endpoint: qemu-server PVE/API2/Qemu.pm and
Qemu/Agent.pm; pve-manager PVE/API2/{Cluster,Nodes,Network,Tasks,Storage/*}.pm.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from labsim.fakes.proxmox import errors as E
from labsim.fakes.proxmox.cluster import ProxmoxCluster
from labsim.fakes.proxmox.qemu import VM_CONFIG
from labsim.fakes.proxmox.schema import (
    P,
    Schema,
    fmt_cidrv4,
    fmt_configid_list,
    fmt_dns_name,
    fmt_iface,
    fmt_iface_list,
    fmt_ipv4,
    fmt_node,
    fmt_storage_id,
    schema,
)
from labsim.fakes.proxmox.tasks import decode_upid, split_user

BOOL = P("boolean")
INT = P("integer")
NODE = P(fmt=fmt_node, optional=False)
VMID = P("integer", minimum=100, maximum=999999999, optional=False)
STORAGE_ID = P(fmt=fmt_storage_id)


@dataclass
class Ctx:
    cluster: ProxmoxCluster
    method: str
    path: str
    raw: dict[str, str]
    args: dict[str, Any]
    user: str            # `root@pam`, or the token id `root@pam!ci`


@dataclass
class Result:
    data: Any
    total: int | None = None
    changes: str | None = None


Handler = Callable[[Ctx], Any]


@dataclass
class Route:
    method: str
    template: str
    handler: Handler
    schema: Schema
    regex: re.Pattern[str] = field(init=False)
    params: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.params = re.findall(r"\{(\w+)\}", self.template)
        self.regex = re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.template)) + "$")


PATH_PARAMS = {"node": NODE, "vmid": VMID, "upid": P(optional=False), "storage": P(fmt=fmt_storage_id, optional=False),
               "poolid": P(pattern=r"[A-Za-z0-9_\-]+", optional=False),
               "iface": P(fmt=fmt_iface, optional=False)}

ROUTES: list[Route] = []


def route(method: str, template: str, props: dict[str, P] | Schema | None = None):
    def deco(fn: Handler) -> Handler:
        base = props if isinstance(props, Schema) else schema(props or {})
        path_props = {p: PATH_PARAMS[p] for p in re.findall(r"\{(\w+)\}", template)}
        ROUTES.append(Route(method, template, fn, schema(path_props).extend(base)))
        return fn
    return deco


def match(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    for r in ROUTES:
        if r.method != method:
            continue
        m = r.regex.match(path)
        if m:
            return r, {k: unquote(v) for k, v in m.groupdict().items()}
    return None


def index(*names: str, key: str = "subdir") -> list[dict[str, str]]:
    return [{key: n} for n in names]


# --- access ----------------------------------------------------------------------------------------
@route("GET", "/access/ticket")
def get_ticket(ctx: Ctx) -> Any:
    return None


@route("POST", "/access/ticket", {"username": P(optional=False, max_length=64), "password": P(optional=False),
                                  "otp": P(), "path": P(max_length=64), "privs": P(), "realm": P(),
                                  "tfa-challenge": P(), "new-format": BOOL})
def post_ticket(ctx: Ctx) -> Any:
    with ctx.cluster.lock:
        return ctx.cluster.auth.login(ctx.raw["username"], ctx.raw["password"], ctx.raw.get("realm"))


@route("GET", "/access/domains")
def domains(ctx: Ctx) -> Any:
    return [{"realm": "pam", "type": "pam", "comment": "Linux PAM standard authentication"},
            {"realm": "pve", "type": "pve", "comment": "Proxmox VE authentication server"}]


# --- version / cluster -----------------------------------------------------------------------------
@route("GET", "/version")
def version(ctx: Ctx) -> Any:
    node = next(iter(ctx.cluster.nodes.values()))
    return {"version": node.version, "release": node.release, "repoid": node.repoid}


@route("GET", "/cluster/resources", {"type": P(enum=("vm", "storage", "node", "sdn"))})
def cluster_resources(ctx: Ctx) -> Any:
    return ctx.cluster.resources(ctx.raw.get("type"))


@route("GET", "/cluster/nextid", {"vmid": P("integer", minimum=100, maximum=999999999)})
def cluster_nextid(ctx: Ctx) -> Any:
    return ctx.cluster.nextid(ctx.args.get("vmid"))


@route("GET", "/cluster/status")
def cluster_status(ctx: Ctx) -> Any:
    out = []
    for i, node in enumerate(ctx.cluster.nodes.values()):
        ip = next((d["address"] for d in node.network.current.values() if d.get("address")), "127.0.0.1")
        out.append({"type": "node", "id": f"node/{node.name}", "name": node.name, "nodeid": i + 1 if
                    len(ctx.cluster.nodes) > 1 else 0, "ip": ip, "online": 1, "local": int(i == 0), "level": ""})
    return out


# --- nodes -----------------------------------------------------------------------------------------
@route("GET", "/nodes")
def nodes(ctx: Ctx) -> Any:
    with ctx.cluster.lock:
        return [ctx.cluster.node_entry(n) for n in ctx.cluster.nodes.values()]


@route("GET", "/nodes/{node}")
def node_index(ctx: Ctx) -> Any:
    return index("apt", "capabilities", "ceph", "certificates", "config", "disks", "dns", "firewall", "hardware",
                 "hosts", "journal", "lxc", "network", "qemu", "replication", "rrd", "rrddata", "scan",
                 "services", "status", "storage", "subscription", "syslog", "tasks", "time", "version")


@route("GET", "/nodes/{node}/status")
def node_status(ctx: Ctx) -> Any:
    return ctx.cluster.node_status(ctx.raw["node"])


@route("GET", "/nodes/{node}/version")
def node_version(ctx: Ctx) -> Any:
    node = ctx.cluster.node(ctx.raw["node"])
    return {"version": node.version, "release": node.release, "repoid": node.repoid}


# --- qemu ------------------------------------------------------------------------------------------
@route("GET", "/nodes/{node}/qemu", {"full": BOOL})
def qemu_list(ctx: Ctx) -> Any:
    return ctx.cluster.list_vms(ctx.raw["node"], bool(ctx.args.get("full")))


CREATE = VM_CONFIG.extend(schema({
    "vmid": VMID, "storage": STORAGE_ID, "start": BOOL, "pool": P(), "force": BOOL, "unique": BOOL,
    "live-restore": BOOL, "bwlimit": P("integer", minimum=0), "archive": P(max_length=255),
}))


@route("POST", "/nodes/{node}/qemu", CREATE)
def qemu_create(ctx: Ctx) -> Any:
    raw = {k: v for k, v in ctx.raw.items() if k != "node"}
    if "archive" in raw:
        raise E.die("restoring from a backup archive is not simulated")
    return ctx.cluster.create_vm(ctx.raw["node"], raw, ctx.user)


@route("GET", "/nodes/{node}/qemu/{vmid}")
def qemu_index(ctx: Ctx) -> Any:
    ctx.cluster.vm(ctx.cluster.node(ctx.raw["node"]).name, ctx.args["vmid"])
    return index("config", "pending", "status", "unlink", "vncproxy", "termproxy", "migrate", "resize", "move",
                 "rrd", "rrddata", "monitor", "agent", "snapshot", "spiceproxy", "sendkey", "firewall")


@route("GET", "/nodes/{node}/qemu/{vmid}/config", {"current": BOOL, "snapshot": P()})
def qemu_config(ctx: Ctx) -> Any:
    c = ctx.cluster
    with c.lock:
        if ctx.raw.get("snapshot") and ctx.raw.get("current") == "1":
            msg = "cannot use 'snapshot' parameter with 'current'"
            raise E.ParamError({"snapshot": msg, "current": msg})
        vm = c.vm(c.node(ctx.raw["node"]).name, ctx.args["vmid"])
        if ctx.raw.get("snapshot"):
            raise E.die(f"snapshot '{ctx.raw['snapshot']}' does not exist")
        return vm.config_json(current=ctx.raw.get("current") == "1")


@route("GET", "/nodes/{node}/qemu/{vmid}/pending")
def qemu_pending(ctx: Ctx) -> Any:
    c = ctx.cluster
    with c.lock:
        vm = c.vm(c.node(ctx.raw["node"]).name, ctx.args["vmid"])
        from labsim.fakes.proxmox.qemu import json_value
        out = []
        for k in sorted(set(vm.conf) | set(vm.pending) | vm.pending_delete):
            e: dict[str, Any] = {"key": k}
            if k in vm.conf:
                e["value"] = json_value(k, vm.conf[k])
            if k in vm.pending:
                e["pending"] = json_value(k, vm.pending[k])
            if k in vm.pending_delete:
                e["delete"] = 1
            out.append(e)
        out.append({"key": "digest", "value": vm.digest})
        return out


UPDATE = VM_CONFIG.extend(schema({
    "delete": P(fmt=fmt_configid_list), "revert": P(fmt=fmt_configid_list), "digest": P(max_length=40),
    "skiplock": BOOL, "force": BOOL,
}))


@route("PUT", "/nodes/{node}/qemu/{vmid}/config", UPDATE)
def qemu_config_put(ctx: Ctx) -> Any:
    raw = {k: v for k, v in ctx.raw.items() if k not in ("node", "vmid")}
    return ctx.cluster.update_vm(ctx.raw["node"], ctx.args["vmid"], raw, ctx.user, sync=True)


@route("POST", "/nodes/{node}/qemu/{vmid}/config",
       UPDATE.extend(schema({"background_delay": P("integer", minimum=1, maximum=30)})))
def qemu_config_post(ctx: Ctx) -> Any:
    raw = {k: v for k, v in ctx.raw.items() if k not in ("node", "vmid")}
    return ctx.cluster.update_vm(ctx.raw["node"], ctx.args["vmid"], raw, ctx.user, sync=False)


@route("GET", "/nodes/{node}/qemu/{vmid}/status")
def qemu_status_index(ctx: Ctx) -> Any:
    ctx.cluster.vm(ctx.cluster.node(ctx.raw["node"]).name, ctx.args["vmid"])
    return index("current", "reboot", "reset", "resume", "shutdown", "start", "stop", "suspend")


@route("GET", "/nodes/{node}/qemu/{vmid}/status/current")
def qemu_status_current(ctx: Ctx) -> Any:
    return ctx.cluster.vm_status_current(ctx.raw["node"], ctx.args["vmid"])


ACTIONS: dict[str, dict[str, P]] = {
    "start": {"skiplock": BOOL, "timeout": P("integer", minimum=0, maximum=86400), "machine": P(),
              "migratedfrom": P(fmt=fmt_node), "migration_type": P(enum=("secure", "insecure")),
              "migration_network": P(), "stateuri": P(), "targetstorage": P(), "force-cpu": P()},
    "stop": {"skiplock": BOOL, "timeout": P("integer", minimum=0), "keepActive": BOOL,
             "migratedfrom": P(fmt=fmt_node), "overrule-shutdown": BOOL},
    "shutdown": {"skiplock": BOOL, "timeout": P("integer", minimum=0), "forceStop": BOOL, "keepActive": BOOL},
    "reboot": {"timeout": P("integer", minimum=0)},
    "reset": {"skiplock": BOOL},
    "suspend": {"skiplock": BOOL, "todisk": BOOL, "statestorage": STORAGE_ID},
    "resume": {"skiplock": BOOL, "nocheck": BOOL},
}


def _action_handler(action: str) -> Handler:
    def handler(ctx: Ctx) -> Any:
        params = {k: v for k, v in ctx.raw.items() if k not in ("node", "vmid")}
        return ctx.cluster.vm_action(ctx.raw["node"], ctx.args["vmid"], action, params, ctx.user)
    handler.__name__ = f"qemu_{action}"
    return handler


for _action, _props in ACTIONS.items():
    route("POST", "/nodes/{node}/qemu/{vmid}/status/" + _action, _props)(_action_handler(_action))


@route("POST", "/nodes/{node}/qemu/{vmid}/clone", {
    "newid": VMID, "name": P(fmt=fmt_dns_name), "description": P(), "target": P(fmt=fmt_node),
    "full": BOOL, "storage": STORAGE_ID, "format": P(enum=("raw", "qcow2", "vmdk")), "pool": P(),
    "snapname": P(), "bwlimit": P("integer", minimum=0)})
def qemu_clone(ctx: Ctx) -> Any:
    params = {k: v for k, v in ctx.raw.items() if k not in ("node", "vmid")}
    return ctx.cluster.clone_vm(ctx.raw["node"], ctx.args["vmid"], params, ctx.user)


@route("DELETE", "/nodes/{node}/qemu/{vmid}", {"purge": BOOL, "destroy-unreferenced-disks": BOOL,
                                                "skiplock": BOOL})
def qemu_destroy(ctx: Ctx) -> Any:
    params = {k: v for k, v in ctx.raw.items() if k not in ("node", "vmid")}
    return ctx.cluster.destroy_vm(ctx.raw["node"], ctx.args["vmid"], params, ctx.user)


@route("PUT", "/nodes/{node}/qemu/{vmid}/resize", {
    "disk": P(pattern=r"(?:ide[0-3]|sata[0-5]|scsi(?:[0-9]|[12][0-9]|30)|virtio(?:[0-9]|1[0-5])|efidisk0|tpmstate0)",
              optional=False),
    "size": P(pattern=r"\+?\d+(?:\.\d+)?[KMGT]?", optional=False), "digest": P(max_length=40), "skiplock": BOOL})
def qemu_resize(ctx: Ctx) -> Any:
    params = {k: v for k, v in ctx.raw.items() if k not in ("node", "vmid")}
    return ctx.cluster.resize_disk(ctx.raw["node"], ctx.args["vmid"], params, ctx.user)


# --- guest agent -----------------------------------------------------------------------------------
@route("GET", "/nodes/{node}/qemu/{vmid}/agent")
def agent_index(ctx: Ctx) -> Any:
    return index("fsfreeze-freeze", "fsfreeze-status", "fsfreeze-thaw", "fstrim", "get-fsinfo",
                 "get-host-name", "get-memory-block-info", "get-memory-blocks", "get-osinfo", "get-time",
                 "get-timezone", "get-users", "get-vcpus", "info", "network-get-interfaces", "ping",
                 "shutdown", "suspend-disk", "suspend-hybrid", "suspend-ram", key="name")


@route("GET", "/nodes/{node}/qemu/{vmid}/agent/network-get-interfaces")
def agent_network(ctx: Ctx) -> Any:
    return ctx.cluster.agent_network(ctx.raw["node"], ctx.args["vmid"])


@route("POST", "/nodes/{node}/qemu/{vmid}/agent/ping")
def agent_ping(ctx: Ctx) -> Any:
    ctx.cluster.agent_check(ctx.raw["node"], ctx.args["vmid"])
    return {"result": {}}


@route("GET", "/nodes/{node}/qemu/{vmid}/agent/get-osinfo")
def agent_osinfo(ctx: Ctx) -> Any:
    vm = ctx.cluster.agent_check(ctx.raw["node"], ctx.args["vmid"])
    return {"result": dict(vm.agent_info.get("osinfo") or {"id": "linux", "name": "Linux",
                                                          "kernel-release": "unknown", "machine": "x86_64"})}


@route("GET", "/nodes/{node}/qemu/{vmid}/agent/get-host-name")
def agent_hostname(ctx: Ctx) -> Any:
    vm = ctx.cluster.agent_check(ctx.raw["node"], ctx.args["vmid"])
    return {"result": {"host-name": vm.agent_info.get("host-name") or vm.conf.get("name", f"vm{vm.vmid}")}}


# --- tasks -----------------------------------------------------------------------------------------
@route("GET", "/nodes/{node}/tasks", {
    "start": P("integer", minimum=0), "limit": P("integer", minimum=0), "vmid": P("integer", minimum=100),
    "typefilter": P(), "userfilter": P(), "errors": BOOL, "source": P(enum=("archive", "active", "all")),
    "since": P("integer"), "until": P("integer"), "statusfilter": P()})
def tasks_list(ctx: Ctx) -> Any:
    c, a = ctx.cluster, ctx.args
    with c.lock:
        node = c.node(ctx.raw["node"])
        source = ctx.raw.get("source", "archive")
        out = []
        for t in c.tasks.for_node(node.name):
            if source == "archive" and t.status == "running":
                continue
            if source == "active" and t.status != "running":
                continue
            if "vmid" in a and t.id != str(a["vmid"]):
                continue
            if a.get("typefilter") and t.type != a["typefilter"]:
                continue
            if a.get("userfilter") and a["userfilter"].lower() not in split_user(t.user)[0].lower():
                continue
            if a.get("errors") and t.exitstatus == "OK":
                continue
            if "since" in a and t.starttime < a["since"]:
                continue
            if "until" in a and t.starttime > a["until"]:
                continue
            out.append(t.list_json())
        start, limit = a.get("start", 0), a.get("limit") or 50
        return Result(out[start:start + limit], total=len(out))


def _task(ctx: Ctx):
    c = ctx.cluster
    c.node(ctx.raw["node"])
    upid = ctx.raw["upid"]
    if decode_upid(upid) is None:
        raise E.ParamError({"upid": E.UPID_UNPARSABLE})
    t = c.tasks.get(upid)
    if t is None or t.node != ctx.raw["node"]:
        raise E.ParamError({"upid": E.NO_SUCH_TASK})
    return t


@route("GET", "/nodes/{node}/tasks/{upid}")
def task_index(ctx: Ctx) -> Any:
    with ctx.cluster.lock:
        _task(ctx)
        return index("log", "status", key="name")


@route("GET", "/nodes/{node}/tasks/{upid}/status")
def task_status(ctx: Ctx) -> Any:
    with ctx.cluster.lock:
        return _task(ctx).status_json()


@route("GET", "/nodes/{node}/tasks/{upid}/log", {"start": P("integer", minimum=0), "limit": P("integer", minimum=0),
                                                 "download": BOOL})
def task_log(ctx: Ctx) -> Any:
    with ctx.cluster.lock:
        lines, total = _task(ctx).log_json(ctx.args.get("start", 0), ctx.args.get("limit") or 50)
        return Result(lines, total=total)


# --- network ---------------------------------------------------------------------------------------
NET_TYPES = ("bridge", "bond", "eth", "alias", "vlan", "fabric", "OVSBridge", "OVSBond", "OVSPort", "OVSIntPort",
             "vnet")
NET_CONF: dict[str, P] = {
    "type": P(enum=(*NET_TYPES, "unknown"), optional=False), "comments": P(), "comments6": P(),
    "autostart": BOOL, "bridge_vlan_aware": BOOL, "bridge_ports": P(fmt=fmt_iface_list),
    "bridge_vids": P(pattern=r"(?:\d+(?:-\d+)?)(?:[ ,;]+\d+(?:-\d+)?)*"), "slaves": P(fmt=fmt_iface_list),
    "bond-primary": P(fmt=fmt_iface), "bond_mode": P(enum=("balance-rr", "active-backup", "balance-xor",
                                                             "broadcast", "802.3ad", "balance-tlb", "balance-alb",
                                                             "balance-slb", "lacp-balance-slb",
                                                             "lacp-balance-tcp")),
    "bond_xmit_hash_policy": P(enum=("layer2", "layer2+3", "layer3+4")),
    "gateway": P(fmt=fmt_ipv4), "netmask": P(), "address": P(fmt=fmt_ipv4), "cidr": P(fmt=fmt_cidrv4),
    "gateway6": P(), "netmask6": P("integer", minimum=0, maximum=128), "address6": P(), "cidr6": P(),
    "mtu": P("integer", minimum=1280, maximum=65520), "vlan-id": P("integer", minimum=1, maximum=4094),
    "vlan-raw-device": P(fmt=fmt_iface), "ovs_bonds": P(), "ovs_bridge": P(), "ovs_options": P(max_length=1024),
    "ovs_ports": P(), "ovs_tag": P("integer", minimum=1, maximum=4094),
}


def _net_params(raw: dict[str, str]) -> dict[str, Any]:
    p: dict[str, Any] = {k: v for k, v in raw.items() if k not in ("node", "iface", "delete")}
    for k in ("autostart", "bridge_vlan_aware", "netmask6", "mtu", "vlan-id", "ovs_tag"):
        if k in p:
            p[k] = int(p[k])
    if "cidr" in p:
        if "address" in p:
            raise E.ParamError({"address": "address conflicts with cidr"})
        if "netmask" in p:
            raise E.ParamError({"netmask": "netmask conflicts with cidr"})
        addr, _, mask = p["cidr"].partition("/")
        p["address"], p["netmask"] = addr, mask
    if "address" in p and "cidr" not in p:
        p["cidr"] = f"{p['address']}/{p.get('netmask', '24')}"
    p["families"] = ["inet"] + (["inet6"] if p.get("address6") else [])
    p["method"] = "static" if p.get("address") else "manual"
    p["method6"] = "static" if p.get("address6") else "manual"
    return p


def _check_gateway(ifaces: dict[str, dict[str, Any]], iface: str, params: dict[str, Any]) -> None:
    if params.get("gateway"):
        for other, d in ifaces.items():
            if other != iface and d.get("gateway"):
                raise E.ParamError({"gateway": E.GATEWAY_DUP.format(iface=other)})


@route("GET", "/nodes/{node}/network", {"type": P(enum=(*NET_TYPES, "any_bridge", "any_local_bridge",
                                                         "include_sdn"))})
def network_list(ctx: Ctx) -> Any:
    c = ctx.cluster
    with c.lock:
        net = c.node(ctx.raw["node"]).network
        return Result(net.list_json(ctx.raw.get("type")), changes=net.changes())


@route("POST", "/nodes/{node}/network", {"iface": P(fmt=fmt_iface, optional=False), **NET_CONF})
def network_create(ctx: Ctx) -> Any:
    c = ctx.cluster
    with c.lock:
        net = c.node(ctx.raw["node"]).network
        iface = ctx.raw["iface"]
        if iface in net.view():
            raise E.ParamError({"iface": E.IFACE_EXISTS})
        params = _net_params(ctx.raw)
        _check_gateway(net.view(), iface, params)
        net.create(iface, params)
        return None


@route("PUT", "/nodes/{node}/network")
def network_reload(ctx: Ctx) -> Any:
    return ctx.cluster.reload_network(ctx.raw["node"], ctx.user)


@route("DELETE", "/nodes/{node}/network")
def network_revert(ctx: Ctx) -> Any:
    c = ctx.cluster
    with c.lock:
        c.node(ctx.raw["node"]).network.revert()
        return None


@route("GET", "/nodes/{node}/network/{iface}")
def network_get(ctx: Ctx) -> Any:
    c = ctx.cluster
    with c.lock:
        net = c.node(ctx.raw["node"]).network
        d = net.view().get(ctx.raw["iface"])
        if d is None:
            raise E.ParamError({"iface": E.IFACE_MISSING})
        return dict(d)


@route("PUT", "/nodes/{node}/network/{iface}", {**NET_CONF, "delete": P(fmt=fmt_configid_list)})
def network_update(ctx: Ctx) -> Any:
    c = ctx.cluster
    with c.lock:
        net = c.node(ctx.raw["node"]).network
        iface = ctx.raw["iface"]
        if iface not in net.view():
            raise E.ParamError({"iface": E.IFACE_MISSING})
        delete = [x for x in re.split(r"[,;\s\0]+", ctx.raw.get("delete", "")) if x]
        params = _net_params(ctx.raw)
        _check_gateway(net.view(), iface, params)
        net.update(iface, params, delete)
        return None


@route("DELETE", "/nodes/{node}/network/{iface}")
def network_delete(ctx: Ctx) -> Any:
    c = ctx.cluster
    with c.lock:
        net = c.node(ctx.raw["node"]).network
        if ctx.raw["iface"] not in net.view():
            raise E.ParamError({"iface": E.IFACE_MISSING})
        net.delete(ctx.raw["iface"])
        return None


# --- storage ---------------------------------------------------------------------------------------
@route("GET", "/nodes/{node}/storage", {"content": P(), "enabled": BOOL, "format": BOOL, "storage": STORAGE_ID,
                                        "target": P()})
def storage_list(ctx: Ctx) -> Any:
    c = ctx.cluster
    with c.lock:
        node = c.node(ctx.raw["node"])
        want = [x for x in re.split(r"[,;\s]+", ctx.raw.get("content", "")) if x]
        out = []
        for st in node.storage.values():
            if want and not any(st.supports(w) for w in want):
                continue
            if ctx.raw.get("storage") and st.name != ctx.raw["storage"]:
                continue
            if ctx.raw.get("enabled") == "1" and not st.enabled:
                continue
            out.append(st.status_json())
        return out


def _storage(ctx: Ctx):
    c = ctx.cluster
    node = c.node(ctx.raw["node"])
    st = node.storage.get(ctx.raw["storage"])
    if st is None:
        raise E.die(E.STORAGE_MISSING.format(storage=ctx.raw["storage"]))
    return st


@route("GET", "/nodes/{node}/storage/{storage}")
def storage_index(ctx: Ctx) -> Any:
    with ctx.cluster.lock:
        _storage(ctx)
        return index("content", "download-url", "file-restore", "import-metadata", "prunebackups", "rrd",
                     "rrddata", "status", "upload")


@route("GET", "/nodes/{node}/storage/{storage}/status")
def storage_status(ctx: Ctx) -> Any:
    with ctx.cluster.lock:
        return _storage(ctx).status_json()


@route("GET", "/nodes/{node}/storage/{storage}/content", {"content": P(), "vmid": P("integer", minimum=100)})
def storage_content(ctx: Ctx) -> Any:
    with ctx.cluster.lock:
        st = _storage(ctx)
        want = ctx.raw.get("content")
        out = []
        for vol in sorted(st.volumes.values(), key=lambda v: v.volid):
            if want and vol.content != want:
                continue
            if "vmid" in ctx.args and vol.vmid != ctx.args["vmid"]:
                continue
            out.append(vol.content_json())
        return out


# the routes of other modules (registered on import, after the ones above)
from labsim.fakes.proxmox import access, rrd  # noqa: E402,F401
