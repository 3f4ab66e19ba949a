"""/access/permissions and /pools: what a user may do, and resource pools.

Permissions (pve-access-control PVE/API2/AccessControl.pm `permissions`): a map path -> privilege -> 1 of the
authenticated user (or `userid`, which only root may ask for others). root@pam and its API tokens (the simulated
lab's tokens are not privilege-separated) hold every privilege on `/`. Pools (pve-access-control PVE/API2/Pool.pm):
index, create, read (members with their stats), update (vms/storage, `delete`, `transfer`), delete (only empty);
errors die with the texts of Pool.pm inside lock_user_config's "create pool failed: ..." wrapper.
"""
from __future__ import annotations

import re
from typing import Any

from labsim.fakes.proxmox import errors as E
from labsim.fakes.proxmox.api import BOOL, Ctx, P, route

# every privilege PVE 8 knows (pve-access-control PVE/AccessControl.pm $privgroups and the built-in roles)
PRIVILEGES = (
    "Datastore.Allocate", "Datastore.AllocateSpace", "Datastore.AllocateTemplate", "Datastore.Audit",
    "Group.Allocate", "Mapping.Audit", "Mapping.Modify", "Mapping.Use", "Permissions.Modify", "Pool.Allocate",
    "Pool.Audit", "Realm.Allocate", "Realm.AllocateUser", "SDN.Allocate", "SDN.Audit", "SDN.Use", "Sys.AccessNetwork",
    "Sys.Audit", "Sys.Console", "Sys.Incoming", "Sys.Modify", "Sys.PowerMgmt", "Sys.Syslog", "User.Modify",
    "VM.Allocate", "VM.Audit", "VM.Backup", "VM.Clone", "VM.Config.CDROM", "VM.Config.CPU", "VM.Config.Cloudinit",
    "VM.Config.Disk", "VM.Config.HWType", "VM.Config.Memory", "VM.Config.Network", "VM.Config.Options",
    "VM.Console", "VM.Migrate", "VM.Monitor", "VM.PowerMgmt", "VM.Snapshot", "VM.Snapshot.Rollback",
)
POOLID = P(pattern=r"[A-Za-z0-9_\-]+", optional=False)


@route("GET", "/access/permissions", {"path": P(), "userid": P()})
def permissions(ctx: Ctx) -> Any:
    user = ctx.raw.get("userid") or ctx.user
    root = ctx.user.split("!", 1)[0] == "root@pam"
    if user != ctx.user and not root:
        raise E.ApiError(403, "Permission check failed (/access, Sys.Audit)")
    privs = {p: 1 for p in PRIVILEGES} if user.split("!", 1)[0] == "root@pam" else {}
    path = ctx.raw.get("path")
    return {path: privs} if path else {"/": privs}


def _pools(ctx: Ctx) -> dict[str, dict[str, Any]]:
    return ctx.cluster.pools


def _fail(what: str, msg: str) -> E.ApiError:
    return E.die(f"{what}: {msg}")


@route("GET", "/pools", {"poolid": P(), "type": P(enum=("qemu", "lxc", "storage"))})
def pool_index(ctx: Ctx) -> Any:
    with ctx.cluster.lock:
        pools = _pools(ctx)
        if ctx.raw.get("poolid"):                     # PVE 8.1+: one pool, with its members
            pid = ctx.raw["poolid"]
            if pid not in pools:
                raise E.die(f"pool '{pid}' does not exist")
            return [{"poolid": pid, **_pool_json(ctx, pid, ctx.raw.get("type"))}]
        return [{"poolid": p, **({"comment": pools[p]["comment"]} if pools[p].get("comment") is not None else {})}
                for p in sorted(pools)]


@route("POST", "/pools", {"poolid": POOLID, "comment": P()})
def pool_create(ctx: Ctx) -> Any:
    with ctx.cluster.lock:
        pid = ctx.raw["poolid"]
        if pid in _pools(ctx):
            raise _fail("create pool failed", f"pool '{pid}' already exists")
        _pools(ctx)[pid] = {"vms": set(), "storage": set(), "comment": ctx.raw.get("comment") or None}
        return None


def _pool_json(ctx: Ctx, pid: str, kind: str | None = None) -> dict[str, Any]:
    pool = _pools(ctx)[pid]
    members = []
    if kind in (None, "qemu"):
        for vmid in sorted(pool["vms"]):
            vm = ctx.cluster.vms.get(vmid)
            if vm is None:
                continue
            s = ctx.cluster.vm_status(vm)
            members.append({"id": f"qemu/{vmid}", "type": "qemu", "vmid": vmid, "node": vm.node, "name": s["name"],
                            "status": s["status"], "cpu": s["cpu"], "maxcpu": s["cpus"], "mem": s["mem"],
                            "maxmem": s["maxmem"], "disk": s["disk"], "maxdisk": s["maxdisk"],
                            "uptime": s["uptime"], "template": 0})
    if kind in (None, "storage"):
        node = next(iter(ctx.cluster.nodes.values()))
        for sid in sorted(pool["storage"]):
            st = node.storage.get(sid)
            if st is None:
                continue
            j = st.status_json()
            members.append({"id": f"storage/{node.name}/{sid}", "type": "storage", "storage": sid, "node": node.name,
                            "disk": j.get("used", 0), "maxdisk": j.get("total", 0), "status": "available"})
    out: dict[str, Any] = {"members": members}
    if pool.get("comment") is not None:
        out["comment"] = pool["comment"]
    return out


@route("GET", "/pools/{poolid}", {"type": P(enum=("qemu", "lxc", "storage"))})
def pool_read(ctx: Ctx) -> Any:
    with ctx.cluster.lock:
        pid = ctx.raw["poolid"]
        if pid not in _pools(ctx):
            raise E.die(f"pool '{pid}' does not exist")
        return _pool_json(ctx, pid, ctx.raw.get("type"))


@route("PUT", "/pools/{poolid}", {"comment": P(), "vms": P(pattern=r"\d+(?:[,;\s]+\d+)*"), "storage": P(),
                                  "transfer": BOOL, "delete": BOOL})
def pool_update(ctx: Ctx) -> Any:
    c = ctx.cluster
    with c.lock:
        pid = ctx.raw["poolid"]
        pools = _pools(ctx)
        if pid not in pools:
            raise _fail("update pools failed", f"pool '{pid}' does not exist")
        pool = pools[pid]
        if "comment" in ctx.raw:
            pool["comment"] = ctx.raw["comment"]
        delete = ctx.args.get("delete")
        for vmid in (int(x) for x in re.split(r"[,;\s]+", ctx.raw.get("vms", "")) if x):
            if delete:
                if vmid not in pool["vms"]:
                    raise _fail("update pools failed", f"VM {vmid} is not a pool member")
                pool["vms"].discard(vmid)
                continue
            if vmid in pool["vms"]:
                raise _fail("update pools failed", f"VM {vmid} is already a pool member")
            other = next((p for p, cfg in pools.items() if vmid in cfg["vms"]), None)
            if other is not None:
                if not ctx.args.get("transfer"):
                    raise _fail("update pools failed",
                                f"VM {vmid} belongs already to pool '{other}' and transfer is not set")
                pools[other]["vms"].discard(vmid)
            pool["vms"].add(vmid)
        for sid in (x for x in re.split(r"[,;\s]+", ctx.raw.get("storage", "")) if x):
            if delete:
                if sid not in pool["storage"]:
                    raise _fail("update pools failed", f"Storage '{sid}' is not a pool member")
                pool["storage"].discard(sid)
            elif sid in pool["storage"]:
                raise _fail("update pools failed", f"Storage '{sid}' is already a pool member")
            else:
                pool["storage"].add(sid)
        return None


@route("DELETE", "/pools/{poolid}")
def pool_delete(ctx: Ctx) -> Any:
    with ctx.cluster.lock:
        pid = ctx.raw["poolid"]
        pools = _pools(ctx)
        if pid not in pools:
            raise _fail("delete pool failed", f"pool '{pid}' does not exist")
        live = set(ctx.cluster.vms)
        for vmid in sorted(pools[pid]["vms"]):
            if vmid in live:
                raise _fail("delete pool failed", f"pool '{pid}' is not empty (contains VM {vmid})")
        for sid in sorted(pools[pid]["storage"]):
            raise _fail("delete pool failed", f"pool '{pid}' is not empty (contains storage '{sid}')")
        del pools[pid]
        return None
