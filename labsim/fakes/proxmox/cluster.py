"""The Proxmox VE cluster model behind the API: nodes, storages, networks, VMs, tasks, auth, faults.

Everything here is independent of HTTP; `api.py` maps requests onto these methods and `server.py`
speaks the wire. All state changes happen under `cluster.lock`, which is the virtual clock's own lock,
so task completions (clock callbacks) and HTTP handler threads never deadlock: whoever holds the clock
holds the cluster. Lock order for the world model: take the clock's lock first, then your own.

Hooks for the world model:
  cluster.on_vm_event:   [fn(event, vm)], events "created", "started", "stopped", "destroyed",
                         "config-changed", "suspended", "resumed" (a reboot or reset is "stopped" then
                         "started": the guest restarts)
  cluster.on_node_event: [fn(event, node)], events "network-reloaded"
  vm.agent_interfaces:   the guest agent's network-get-interfaces answer; None -> a guest without a lease
                         (`lo` and its NICs with only an IPv6 link-local address)
  vm.agent_running:      None -> the agent answers `agent_start_delay` virtual seconds after start
"""
from __future__ import annotations

import hashlib
import ipaddress
import re
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from labsim.fakes.clock import VirtualClock
from labsim.fakes.proxmox import errors as E
from labsim.fakes.proxmox.auth import Auth
from labsim.fakes.proxmox.faults import Faults
from labsim.fakes.proxmox.network import NodeNetwork
from labsim.fakes.proxmox.qemu import (
    BOOT_FMT,
    FAST_PLUG,
    HOTPLUG_RE,
    VM_CONFIG,
    Drive,
    MacAllocator,
    Net,
    QemuVM,
    default_boot_order,
    is_drive_key,
    is_net_key,
)
from labsim.fakes.proxmox.schema import FormatError, format_size, parse_size
from labsim.fakes.proxmox.storage import GIB, MIB, Storage, StorageError
from labsim.fakes.proxmox.tasks import Task, TaskError, TaskManager

QEMU_VERSION = "8.1.5"        # [unv] the QEMU PVE 8.2 shipped
MACHINE = "pc-i440fx-8.1+pve0"

DURATIONS: dict[str, float] = {
    "qmcreate": 2.0, "qmcreate_per_disk": 1.0, "qmstart": 1.5, "qmstop": 1.0, "qmshutdown": 4.0,
    "qmreboot": 6.0, "qmreset": 0.5, "qmsuspend": 0.5, "qmresume": 0.5, "qmclone": 2.0,
    "qmclone_per_gib": 1 / 32, "qmdestroy": 2.0, "qmconfig": 0.5, "srvreload": 2.0,
}

VmHook = Callable[[str, QemuVM], None]


class ProxmoxNode:
    """One Proxmox VE host, built from the lab file's `proxmox.nodes[]` entry."""

    def __init__(self, name: str, *, cpus: int, memory_gib: float, version: str, nics: list[str],
                 bridges: list[dict[str, Any]], storage: list[dict[str, Any]], images: list[dict[str, Any]],
                 cpu_model: str = "AMD EPYC 7702P 64-Core Processor", boot_uptime: float = 3600.0):
        if not re.fullmatch(r"[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?", name):
            raise ValueError(f"invalid Proxmox node name {name!r}")
        self.name = name
        self.cpus = int(cpus)
        self.memory = int(float(memory_gib) * GIB)
        self.version = str(version)
        self.cpu_model = cpu_model
        self.nics = list(nics)
        self.network = NodeNetwork(self.nics, list(bridges or []))
        self.storage: dict[str, Storage] = {}
        for d in storage or []:
            st = Storage.from_dict(d)
            self.storage[st.name] = st
        self.images: list[dict[str, Any]] = [dict(i) for i in images or []]
        for img in self.images:
            volid = str(img["volid"])
            sid = volid.split(":", 1)[0]
            if sid not in self.storage:
                raise ValueError(f"node {name}: image {volid} is on unknown storage {sid!r}")
            meta = {k: v for k, v in img.items() if k not in ("volid", "size", "size_mib")}
            size = img.get("size") or (int(img["size_mib"]) * MIB if img.get("size_mib") else None)
            self.storage[sid].add_file(volid, size=size, **meta)
        self.status = "online"
        self.boot_uptime = float(boot_uptime)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ProxmoxNode:
        return cls(str(d["name"]), cpus=int(d.get("cpus", 8)), memory_gib=float(d.get("memory_gib", 64)),
                   version=str(d.get("version", "8.2.4")), nics=list(d.get("nics") or []),
                   bridges=list(d.get("bridges") or []), storage=list(d.get("storage") or []),
                   images=list(d.get("images") or []))

    @property
    def release(self) -> str:
        return ".".join(self.version.split(".")[:2])

    @property
    def repoid(self) -> str:
        return hashlib.sha1(f"pve-manager {self.version}".encode()).hexdigest()[:16]   # [unv] a stand-in

    def find_volume(self, volid: str):
        sid = volid.split(":", 1)[0]
        st = self.storage.get(sid)
        return st.volumes.get(volid) if st else None


class ProxmoxCluster:
    def __init__(self, nodes: list[ProxmoxNode], clock: VirtualClock, *, users: dict[str, str],
                 tokens: dict[str, str], seed: int = 0, agent_start_delay: float = 5.0,
                 durations: dict[str, float] | None = None):
        if not nodes:
            raise ValueError("a Proxmox cluster needs at least one node")
        self.nodes: dict[str, ProxmoxNode] = {n.name: n for n in nodes}
        self.clock = clock
        self.seed = seed
        # One lock for the whole cluster, shared with the clock (see module docstring).
        self.lock = getattr(clock, "lock", None) or clock._lock
        self.auth = Auth(clock, users, tokens, seed)
        self.tasks = TaskManager(clock, seed, lambda node: self.nodes[node].boot_uptime + clock.now())
        self.faults = Faults(self)
        self.macs = MacAllocator(seed)
        self._mac_index: dict[str, int] = {}           # MAC -> NICs holding it (see _macs_in_use)
        self._mac_held: dict[int, frozenset[str]] = {}  # VM id -> the MACs counted for it
        self._mac_changed: set[int] = set()             # VM ids to count again
        self.vms: dict[int, QemuVM] = {}
        self.pools: dict[str, dict[str, Any]] = {}    # /pools (labsim/fakes/proxmox/access.py)
        self.agent_start_delay = float(agent_start_delay)
        self.durations = {**DURATIONS, **(durations or {})}
        self.on_vm_event: list[VmHook] = []
        self.on_node_event: list[Callable[[str, ProxmoxNode], None]] = []
        self.writes = 0
        self.write_log: list[tuple[str, str, dict[str, str]]] = []
        self.ssl_fingerprint: str | None = None
        self._uuid_count: dict[tuple[int, str], int] = {}

    # --- helpers ------------------------------------------------------------------------------------
    def epoch(self) -> int:
        return int(self.clock.utcnow().timestamp())

    def fire(self, event: str, vm: QemuVM) -> None:
        for fn in list(self.on_vm_event):
            fn(event, vm)

    def node(self, name: str) -> ProxmoxNode:
        n = self.nodes.get(name)
        if n is None:
            raise E.die(E.HOSTNAME_LOOKUP.format(node=name))
        return n

    def vm(self, node: str, vmid: int) -> QemuVM:
        vm = self.vms.get(int(vmid))
        if vm is None or vm.node != node:
            raise E.die(E.CONF_MISSING.format(node=node, vmid=vmid))
        return vm

    def record_write(self, method: str, path: str, params: dict[str, str]) -> None:
        with self.lock:
            self.writes += 1
            self.write_log.append((method, path, dict(params)))

    def _uuid(self, vmid: int, kind: str) -> str:
        n = self._uuid_count.get((vmid, kind), 0)
        self._uuid_count[(vmid, kind)] = n + 1
        return str(uuid.UUID(bytes=hashlib.md5(f"{kind}:{self.seed}:{vmid}:{n}".encode()).digest(), version=4))

    def _macs_in_use(self) -> set[str]:
        """Every MAC a VM's config holds, current or pending. Kept as an index (MAC -> how many NICs hold it) that
        only VMs changed since the last call update: read afresh from every VM at each create, it made creating
        N VMs quadratic (1,800 VMs took 4.4x the time of 600)."""
        index, held = self._mac_index, self._mac_held
        changed = self._mac_changed
        changed.update(k for k in held.keys() - self.vms.keys())       # destroyed
        changed.update(k for k in self.vms.keys() - held.keys())       # added without a watch (tests)
        while changed:
            vmid = changed.pop()
            for mac in held.pop(vmid, ()):
                index[mac] -= 1
                if not index[mac]:
                    del index[mac]
            vm = self.vms.get(vmid)
            if vm is not None:
                held[vmid] = vm.macs()
                for mac in held[vmid]:
                    index[mac] = index.get(mac, 0) + 1
        return set(index)

    def _watch(self, vm: QemuVM) -> None:
        vm.watch(self._vm_changed)   # a bound method, not a closure: a copied or pickled lab keeps it right

    def _vm_changed(self, vm: QemuVM) -> None:
        self._mac_changed.add(vm.vmid)

    def _task(self, node: str, typ: str, wid: str, user: str, duration: float, work: Callable[[Task], None],
              on_fail: Callable[[Task, str], None] | None = None) -> Task:
        fault = self.faults.take_task_fault(typ, node, wid)

        def locked_work(task: Task) -> None:
            with self.lock:
                work(task)

        def locked_fail(task: Task, msg: str) -> None:
            with self.lock:
                if on_fail:
                    on_fail(task, msg)
        return self.tasks.start(node, typ, wid, user, duration, locked_work, on_fail=locked_fail, fault=fault)

    def _storage(self, node: ProxmoxNode, sid: str) -> Storage:
        st = node.storage.get(sid)
        if st is None:
            raise E.die(E.STORAGE_MISSING.format(storage=sid))
        return st

    # --- config parameter preparation (shared by create and update) ------------------------------
    def _prepare(self, node: ProxmoxNode, vmid: int, raw: dict[str, str], default_storage: str | None) -> None:
        """Resolve `cdrom`, check drives' storages, print drives and nets PVE's way (new MACs)."""
        if "cdrom" in raw:
            value = raw.pop("cdrom")
            if "media=" not in value:
                value += ",media=cdrom"
            raw["ide2"] = value
        errors: dict[str, str] = {}
        in_use = self._macs_in_use()
        for key in sorted(raw):
            if is_drive_key(key):
                d = Drive.parse(key, raw[key])
                new = d.new_disk
                if new is not None:
                    sid = new[0] or default_storage
                    if not sid:
                        raise E.die(E.NO_STORAGE_ID)
                    st = self._storage(node, sid)
                    if not st.supports("images"):
                        errors["storage"] = E.NO_VM_IMAGES.format(storage=sid)
                        continue
                    d.file = f"{sid}:{new[1]:g}"
                elif d.volid:
                    self._storage(node, d.volid.split(":", 1)[0])
                raw[key] = d.print()
            elif is_net_key(key):
                n = Net.parse(raw[key])
                if not n.macaddr:
                    n.macaddr = self.macs.new(vmid, key, in_use)
                in_use.add(n.macaddr)
                raw[key] = n.print()
        if errors:
            raise E.ParamError(errors)

    def _alloc_new_disks(self, node: ProxmoxNode, vm: QemuVM, conf: dict[str, str], task: Task | None,
                         allocated: list[str]) -> None:
        """Turn `storage:SIZE` drive values in `conf` into allocated volumes (raises StorageError)."""
        for key in sorted(k for k in conf if is_drive_key(k)):
            d = Drive.parse(key, conf[key])
            new = d.new_disk
            if new is None:
                continue
            sid, gib = new
            st = self._storage(node, sid or "")
            vol, log = st.alloc_image(vm.vmid, int(gib * GIB), ctime=self.epoch())
            allocated.append(vol.volid)
            if task:
                for line in log:
                    task.print(line)
            d.file = vol.volid
            d.opts["size"] = format_size(vol.size)
            conf[key] = d.print()

    def _free_volumes(self, node: ProxmoxNode, volids: Iterable[str], task: Task | None = None) -> None:
        for volid in volids:
            st = node.storage.get(volid.split(":", 1)[0])
            if st:
                for line in st.free(volid):
                    if task:
                        task.print(line)

    # --- VM create ----------------------------------------------------------------------------------
    def create_vm(self, node_name: str, raw: dict[str, str], user: str) -> str:
        with self.lock:
            node = self.node(node_name)
            raw = dict(raw)
            vmid = int(raw.pop("vmid"))
            start = raw.pop("start", "0") == "1"
            default_storage = raw.pop("storage", None)
            for k in ("pool", "force", "unique", "live-restore", "bwlimit"):
                raw.pop(k, None)
            if vmid in self.vms:
                raise E.die(E.CREATE_EXISTS.format(vmid=vmid, node=self.vms[vmid].node))
            self._prepare(node, vmid, raw, default_storage)
            vm = QemuVM(vmid=vmid, node=node.name, conf={"lock": "create"})
            self._watch(vm)
            self.vms[vmid] = vm
            new_disks = sum(1 for k in raw if is_drive_key(k) and Drive.parse(k, raw[k]).new_disk)
            allocated: list[str] = []

            def work(task: Task) -> None:
                conf = dict(raw)
                try:
                    self._alloc_new_disks(node, vm, conf, task, allocated)
                except StorageError as exc:
                    self._free_volumes(node, allocated)
                    allocated.clear()
                    raise TaskError(E.CREATE_FAILED.format(vmid=vmid, err=exc))
                if not conf.get("boot"):
                    order = default_boot_order(conf)
                    if order:
                        conf["boot"] = order
                conf.setdefault("smbios1", f"uuid={self._uuid(vmid, 'smbios1')}")
                if conf.get("vmgenid", "1") == "1":
                    conf["vmgenid"] = self._uuid(vmid, "vmgenid")
                conf["meta"] = f"creation-qemu={QEMU_VERSION},ctime={self.epoch()}"
                vm.conf = conf
                self.fire("created", vm)
                if start:
                    task.print("Execute autostart")
                    self.vm_action(node.name, vmid, "start", {}, user)

            def on_fail(task: Task, msg: str) -> None:
                self._free_volumes(node, allocated)
                if self.vms.get(vmid) is vm:
                    del self.vms[vmid]

            d = self.durations
            task = self._task(node.name, "qmcreate", str(vmid), user,
                              d["qmcreate"] + d["qmcreate_per_disk"] * new_disks, work, on_fail)
            return task.upid

    # --- VM config ----------------------------------------------------------------------------------
    def update_vm(self, node_name: str, vmid: int, raw: dict[str, str], user: str, *, sync: bool) -> str | None:
        with self.lock:
            node = self.node(node_name)
            raw = dict(raw)
            raw.pop("vmid", None)
            digest = raw.pop("digest", None)
            skiplock = raw.pop("skiplock", "0") == "1"
            delete_str = raw.pop("delete", "")
            revert_str = raw.pop("revert", "")
            raw.pop("force", None)
            raw.pop("background_delay", None)
            if not delete_str and not revert_str and not raw:
                raise E.die(E.NO_OPTIONS)
            deletes: list[str] = []
            for opt in [x for x in re.split(r"[,;\s\0]+", delete_str) if x]:
                opt = "ide2" if opt == "cdrom" else opt
                if opt in raw or (opt == "ide2" and "cdrom" in raw):
                    raise E.ParamError({"delete": E.DELETE_AND_SET.format(opt=opt)})
                if VM_CONFIG.lookup(opt) is None:
                    raise E.ParamError({"delete": E.DELETE_UNKNOWN.format(opt=opt)})
                deletes.append(opt)
            reverts = [x for x in re.split(r"[,;\s\0]+", revert_str) if x]
            for opt in reverts:
                if VM_CONFIG.lookup(opt) is None:
                    raise E.ParamError({"revert": E.DELETE_UNKNOWN.format(opt=opt)})
            vm = self.vm(node.name, vmid)
            self._prepare(node, vm.vmid, raw, None)
            if digest and digest != vm.digest:
                raise E.die(E.DIGEST_MISMATCH)
            if vm.lock and not skiplock:
                raise E.die(E.LOCKED.format(lock=vm.lock))
            eff = vm.effective()
            if "memory" in raw or "balloon" in raw:
                maxmem = _mem(raw.get("memory") or eff.get("memory") or "512")
                balloon = int(raw["balloon"]) if "balloon" in raw else int(eff.get("balloon", "0") or 0)
                if balloon and balloon > maxmem:
                    raise E.die(E.BALLOON_TOO_LARGE)
            if "boot" in raw:
                order = BOOT_FMT.parse(raw["boot"]).get("order") or ""
                for dev in [x for x in order.split(";") if x]:
                    if dev in deletes or not (dev in eff or dev in raw):
                        raise E.die(E.BOOT_DEVICE.format(dev=dev))

            def apply(task: Task | None) -> None:
                for opt in reverts:
                    vm.pending.pop(opt, None)
                    vm.pending_delete.discard(opt)
                try:
                    self._apply_update(node, vm, raw, deletes, task)
                except StorageError as exc:
                    if task is None:
                        raise E.die(str(exc))
                    raise TaskError(str(exc))
                self.fire("config-changed", vm)

            if sync:
                apply(None)
                return None
            task = self._task(node.name, "qmconfig", str(vm.vmid), user, self.durations["qmconfig"],
                              lambda t: apply(t))
            task.print(f"update VM {vm.vmid}: " + " ".join(f"-{k} {v}" for k, v in sorted(raw.items())))
            return task.upid

    def _add_unused(self, vm: QemuVM, volid: str) -> None:
        for v in vm.conf.values():
            if v == volid:
                return
        i = 0
        while f"unused{i}" in vm.conf:
            i += 1
        vm.conf[f"unused{i}"] = volid

    def _detach(self, node: ProxmoxNode, vm: QemuVM, key: str, task: Task | None) -> None:
        """Remove `key` from the live config; a disk volume becomes `unusedN`, an unused disk is destroyed."""
        value = vm.conf.pop(key, None)
        if value is None:
            return
        if key.startswith("unused"):
            self._free_volumes(node, [value], task)
        elif is_drive_key(key):
            d = Drive.parse(key, value)
            if not d.is_cdrom and d.volid:
                self._add_unused(vm, d.volid)

    def _apply_update(self, node: ProxmoxNode, vm: QemuVM, raw: dict[str, str], deletes: list[str],
                      task: Task | None) -> None:
        running = vm.status == "running"
        for opt in deletes:
            if opt not in vm.effective():
                if task:
                    task.print(f"cannot delete '{opt}' - not set in current configuration!")
                continue
            vm.pending.pop(opt, None)
            if running and not (opt in FAST_PLUG or HOTPLUG_RE.match(opt)):
                if opt in vm.conf:
                    vm.pending_delete.add(opt)
            else:
                self._detach(node, vm, opt, task)
        allocated: list[str] = []
        conf = dict(raw)
        try:
            self._alloc_new_disks(node, vm, conf, task, allocated)
        except StorageError:
            self._free_volumes(node, allocated)
            raise
        for opt, value in sorted(conf.items()):
            vm.pending_delete.discard(opt)
            if running and not (opt in FAST_PLUG or HOTPLUG_RE.match(opt)):
                if vm.conf.get(opt) == value:
                    vm.pending.pop(opt, None)
                else:
                    vm.pending[opt] = value
                continue
            vm.pending.pop(opt, None)
            old = vm.conf.get(opt)
            if old is not None and old != value and is_drive_key(opt):
                od, nd = Drive.parse(opt, old), Drive.parse(opt, value)
                if od.volid and od.volid != nd.volid and not od.is_cdrom:
                    self._add_unused(vm, od.volid)
            vm.conf[opt] = value

    def _apply_pending(self, node: ProxmoxNode, vm: QemuVM) -> None:
        for opt in sorted(vm.pending_delete):
            self._detach(node, vm, opt, None)
        for opt, value in vm.pending.items():
            vm.conf[opt] = value
        vm.pending.clear()
        vm.pending_delete.clear()

    # --- VM power -----------------------------------------------------------------------------------
    def vm_action(self, node_name: str, vmid: int, action: str, params: dict[str, str], user: str) -> str:
        with self.lock:
            node = self.node(node_name)
            vm = self.vm(node.name, vmid)
            skiplock = params.get("skiplock") == "1"
            if action in ("reboot", "reset", "suspend", "resume") and vm.status != "running":
                raise E.die(E.NOT_RUNNING.format(vmid=vm.vmid))
            d = self.durations
            typ = "qm" + action
            duration = d.get(typ, 1.0)
            work: Callable[[Task], None]

            def check_lock() -> None:
                if vm.lock and not skiplock:
                    raise TaskError(E.LOCKED.format(lock=vm.lock))

            if action == "start":
                def work(task: Task) -> None:
                    check_lock()
                    if vm.status == "running":
                        raise TaskError(E.ALREADY_RUNNING.format(vmid=vm.vmid))
                    self._apply_pending(node, vm)
                    self._boot(node, vm, task)
                    self.fire("started", vm)
            elif action == "stop":
                def work(task: Task) -> None:
                    check_lock()
                    if vm.status == "running":
                        self._power_off(vm)
                        self._apply_pending(node, vm)
                        self.fire("stopped", vm)
            elif action == "shutdown":
                timeout = float(params.get("timeout") or 180)
                force = params.get("forceStop") == "1"
                if vm.status == "running" and not vm.acpi_responsive:
                    duration = timeout

                def work(task: Task) -> None:
                    check_lock()
                    if vm.status != "running":
                        return
                    if not vm.acpi_responsive:
                        if not force:
                            raise TaskError(E.SHUTDOWN_TIMEOUT)
                        task.print(E.SHUTDOWN_FORCE)
                    self._power_off(vm)
                    self._apply_pending(node, vm)
                    self.fire("stopped", vm)
            elif action in ("reboot", "reset"):
                def work(task: Task) -> None:
                    check_lock()
                    if vm.status != "running":
                        raise TaskError(E.NOT_RUNNING.format(vmid=vm.vmid))
                    self._power_off(vm)
                    self.fire("stopped", vm)
                    if action == "reboot":
                        self._apply_pending(node, vm)
                    self._boot(node, vm, task)
                    self.fire("started", vm)
            elif action == "suspend":
                def work(task: Task) -> None:
                    check_lock()
                    if vm.status != "running":
                        raise TaskError(E.NOT_RUNNING.format(vmid=vm.vmid))
                    vm.qmpstatus = "paused"
                    self.fire("suspended", vm)
            elif action == "resume":
                def work(task: Task) -> None:
                    if vm.status != "running":
                        raise TaskError(E.NOT_RUNNING.format(vmid=vm.vmid))
                    vm.qmpstatus = "running"
                    self.fire("resumed", vm)
            else:  # pragma: no cover - routes only allow the actions above
                raise E.die(f"unknown action {action}")
            return self._task(node.name, typ, str(vm.vmid), user, duration, work).upid

    def _boot(self, node: ProxmoxNode, vm: QemuVM, task: Task) -> None:
        """Start QEMU: the checks a real start fails on, then the VM runs."""
        for key, net in vm.nets().items():
            if net.bridge and node.network.bridge(net.bridge) is None:
                idx = int(key[3:])
                task.print(E.BRIDGE_MISSING.format(bridge=net.bridge))
                task.print(E.NETDEV_FAILED.format(idx=idx, vmid=vm.vmid))
                raise TaskError(E.START_FAILED)
        for key, d in vm.drives().items():
            if d.volid and node.find_volume(d.volid) is None:
                st = node.storage.get(d.volid.split(":", 1)[0])
                path = st.file_path(d.volid) if st else d.volid
                task.print(E.ISO_MISSING.format(path=path, slot=key))
                raise TaskError(E.START_FAILED)
        used = sum(v.memory_mib() * MIB for v in self.vms.values() if v.node == node.name and v.status == "running")
        if used + vm.memory_mib() * MIB > node.memory:
            task.print("kvm: cannot set up guest memory 'pc.ram': Cannot allocate memory")   # [unv]
            raise TaskError(E.START_FAILED)
        vm.status = "running"
        vm.qmpstatus = "running"
        vm.started_at = self.clock.now()
        vm.pid = self.tasks.next_pid(node.name)

    def _power_off(self, vm: QemuVM) -> None:
        vm.status = "stopped"
        vm.qmpstatus = "stopped"
        vm.started_at = None
        vm.pid = None

    # --- VM clone / destroy -------------------------------------------------------------------------
    def clone_vm(self, node_name: str, vmid: int, params: dict[str, str], user: str) -> str:
        with self.lock:
            node = self.node(node_name)
            src = self.vm(node.name, vmid)
            newid = int(params["newid"])
            target = self.node(params.get("target") or node.name)
            if newid in self.vms:
                raise E.die(E.CREATE_EXISTS.format(vmid=newid, node=self.vms[newid].node))
            if src.lock:
                raise E.die(E.LOCKED.format(lock=src.lock))
            tstorage = params.get("storage")
            if tstorage:
                st = self._storage(target, tstorage)
                if not st.supports("images"):
                    raise E.die(E.NO_VM_IMAGES.format(storage=tstorage))
            name = params.get("name") or f"Copy-of-VM-{src.conf.get('name', src.vmid)}"
            new = QemuVM(vmid=newid, node=target.name, conf={"lock": "clone"})
            self._watch(new)
            self.vms[newid] = new
            disks = {k: d for k, d in src.drives().items() if not d.is_cdrom and d.volid}
            total_gib = sum((parse_size(d.opts.get("size", "0")) or 0) for d in disks.values()) / GIB
            allocated: list[str] = []

            def work(task: Task) -> None:
                conf = {k: v for k, v in src.conf.items()
                        if k not in ("lock", "unused") and not k.startswith("unused") and k != "meta"}
                conf["name"] = name
                if params.get("description"):
                    conf["description"] = params["description"]
                in_use = self._macs_in_use()
                for key, d in disks.items():
                    sid = tstorage or d.volid.split(":", 1)[0]
                    st = self._storage(target, sid)
                    size = parse_size(d.opts.get("size", "0")) or 0
                    task.print(f"create full clone of drive {key} ({d.volid})")
                    try:
                        vol, log = st.alloc_image(newid, size, ctime=self.epoch())
                    except StorageError as exc:
                        raise TaskError(E.CREATE_FAILED.format(vmid=newid, err=exc))
                    allocated.append(vol.volid)
                    for line in log:
                        task.print(line)
                    human = f"{size / GIB:.1f} GiB"
                    task.print(f"transferred 0.0 B of {human} (0.00%)")
                    task.print(f"transferred {human} of {human} (100.00%)")
                    nd = Drive(key, vol.volid, dict(d.opts))
                    nd.opts["size"] = format_size(vol.size)
                    conf[key] = nd.print()
                for key in [k for k in conf if is_net_key(k)]:
                    n = Net.parse(conf[key])
                    n.macaddr = self.macs.new(newid, key, in_use)
                    in_use.add(n.macaddr)
                    conf[key] = n.print()
                conf["smbios1"] = f"uuid={self._uuid(newid, 'smbios1')}"
                if "vmgenid" in conf:
                    conf["vmgenid"] = self._uuid(newid, "vmgenid")
                conf["meta"] = f"creation-qemu={QEMU_VERSION},ctime={self.epoch()}"
                new.conf = conf
                self.fire("created", new)

            def on_fail(task: Task, msg: str) -> None:
                self._free_volumes(target, allocated)
                if self.vms.get(newid) is new:
                    del self.vms[newid]

            d = self.durations
            return self._task(node.name, "qmclone", str(src.vmid), user,
                              d["qmclone"] + d["qmclone_per_gib"] * total_gib, work, on_fail).upid

    def destroy_vm(self, node_name: str, vmid: int, params: dict[str, str], user: str) -> str:
        with self.lock:
            node = self.node(node_name)
            vm = self.vm(node.name, vmid)
            skiplock = params.get("skiplock") == "1"
            if vm.conf.get("protection") == "1":
                raise E.die(E.PROTECTED.format(vmid=vm.vmid))
            if vm.status == "running":
                raise E.die(E.DESTROY_RUNNING.format(vmid=vm.vmid))

            def work(task: Task) -> None:
                if vm.lock and not skiplock:
                    raise TaskError(E.LOCKED.format(lock=vm.lock))
                if vm.status == "running":
                    raise TaskError(E.DESTROY_RUNNING.format(vmid=vm.vmid))
                owned = [v.volid for st in node.storage.values() for v in list(st.volumes.values())
                         if v.vmid == vm.vmid and v.content == "images"]
                self._free_volumes(node, owned, task)
                if self.vms.get(vm.vmid) is vm:
                    del self.vms[vm.vmid]
                self.fire("destroyed", vm)
            return self._task(node.name, "qmdestroy", str(vm.vmid), user, self.durations["qmdestroy"], work).upid

    # --- disk resize --------------------------------------------------------------------------------
    def resize_disk(self, node_name: str, vmid: int, params: dict[str, str], user: str) -> str:
        """PUT .../resize: grow a disk to `size` (`64G`) or by `+size`; shrinking is refused."""
        with self.lock:
            node = self.node(node_name)
            vm = self.vm(node.name, vmid)
            key = params["disk"]
            if params.get("digest") and params["digest"] != vm.digest:
                raise E.die(E.DIGEST_MISMATCH)
            if vm.lock and params.get("skiplock") != "1":
                raise E.die(E.LOCKED.format(lock=vm.lock))
            if key not in vm.conf:
                raise E.die(f"disk '{key}' does not exist")
            d = Drive.parse(key, vm.conf[key])
            if d.is_cdrom or not d.volid:
                raise E.die("you can't resize a cdrom" if d.is_cdrom else f"disk '{key}' has no volume")
            m = re.fullmatch(r"(\+)?(\d+(?:\.\d+)?)([KMGT])?", params["size"])
            if not m:
                raise E.die("invalid size string")
            old = parse_size(d.opts.get("size", "0")) or 0
            amount = parse_size(m.group(2) + (m.group(3) or "")) or 0
            new = old + amount if m.group(1) else amount
            if new < old:
                raise E.die("shrinking disks is not supported")
            volid = d.volid

            def work(task: Task) -> None:
                st = self._storage(node, volid.split(":", 1)[0])
                vol = st.volumes.get(volid)
                if vol is None:
                    raise TaskError(f"volume '{volid}' does not exist")
                if not st.overcommit and new - vol.size > st.avail:
                    raise TaskError(E.NOT_ENOUGH_SPACE.format(free=st.avail // 1024, size=(new - vol.size) // 1024))
                vol.size = new
                cur = Drive.parse(key, vm.conf[key])
                cur.opts["size"] = format_size(new)
                vm.conf[key] = cur.print()
                if st.type in ("lvmthin", "lvm"):
                    task.print(f'  Size of logical volume {st.vgname}/{vol.name} changed from '
                               f'{old / GIB:.2f} GiB to {new / GIB:.2f} GiB.')
                    task.print(f"  Logical volume {st.vgname}/{vol.name} successfully resized.")
                self.fire("config-changed", vm)
            return self._task(node.name, "resize", str(vm.vmid), user, self.durations.get("resize", 1.0), work).upid

    # --- guest agent --------------------------------------------------------------------------------
    def agent_check(self, node_name: str, vmid: int) -> QemuVM:
        with self.lock:
            vm = self.vm(self.node(node_name).name, vmid)
            if not vm.agent_enabled():
                raise E.die(E.AGENT_NOT_CONFIGURED)
            if vm.status != "running":
                raise E.die(E.AGENT_VM_NOT_RUNNING.format(vmid=vm.vmid))
            up = vm.agent_running
            if up is None:
                up = vm.started_at is not None and self.clock.now() - vm.started_at >= self.agent_start_delay
            if not up or vm.qmpstatus == "paused":
                raise E.die(E.AGENT_NOT_RUNNING)
            return vm

    def agent_network(self, node_name: str, vmid: int) -> dict[str, Any]:
        with self.lock:
            vm = self.agent_check(node_name, vmid)
            if vm.agent_interfaces is not None:
                return {"result": [dict(i) for i in vm.agent_interfaces]}
            return {"result": default_agent_interfaces(vm)}

    # --- reading ------------------------------------------------------------------------------------
    def vm_status(self, vm: QemuVM, full: bool = False) -> dict[str, Any]:
        now = self.clock.now()
        running = vm.status == "running"
        maxmem = vm.memory_mib() * MIB
        up = vm.uptime(now)
        out: dict[str, Any] = {
            "vmid": vm.vmid, "name": vm.conf.get("name", f"VM {vm.vmid}"), "status": vm.status,
            "cpus": vm.cpus(), "maxmem": maxmem, "maxdisk": vm.boot_disk_size(),
            "mem": int(maxmem * 0.2) if running else 0, "disk": 0, "cpu": 0.012 if running else 0,
            "uptime": up, "netin": up * 1200 if running else 0, "netout": up * 800 if running else 0,
            "diskread": up * 4096 if running else 0, "diskwrite": up * 2048 if running else 0,
        }
        if running:
            out["pid"] = vm.pid
        if vm.lock:
            out["lock"] = vm.lock
        if vm.conf.get("tags"):
            out["tags"] = vm.conf["tags"]
        if vm.conf.get("template") == "1":
            out["template"] = 1
        if full:
            out["qmpstatus"] = vm.qmpstatus
        return out

    def vm_status_current(self, node_name: str, vmid: int) -> dict[str, Any]:
        with self.lock:
            vm = self.vm(self.node(node_name).name, vmid)
            out = self.vm_status(vm, full=True)
            out["ha"] = {"managed": 0}
            if vm.agent_enabled():
                out["agent"] = 1
            if vm.status == "running":
                out["running-qemu"] = QEMU_VERSION
                out["running-machine"] = MACHINE
                out["proxmox-support"] = {}
            return out

    def list_vms(self, node_name: str, full: bool = False) -> list[dict[str, Any]]:
        with self.lock:
            node = self.node(node_name)
            return [self.vm_status(vm, full) for vid, vm in sorted(self.vms.items()) if vm.node == node.name]

    def node_usage(self, node: ProxmoxNode) -> dict[str, Any]:
        running = [v for v in self.vms.values() if v.node == node.name and v.status == "running"]
        mem = 4 * GIB + sum(int(v.memory_mib() * MIB * 0.2) for v in running)
        root_total = 100 * GIB
        return {"mem": min(mem, node.memory), "cpu": round(0.01 + 0.002 * len(running), 4),
                "disk": 12 * GIB, "maxdisk": root_total,
                "uptime": int(node.boot_uptime + self.clock.now())}

    def node_entry(self, node: ProxmoxNode) -> dict[str, Any]:
        u = self.node_usage(node)
        out = {"node": node.name, "status": node.status, "cpu": u["cpu"], "maxcpu": node.cpus, "mem": u["mem"],
               "maxmem": node.memory, "disk": u["disk"], "maxdisk": u["maxdisk"], "uptime": u["uptime"],
               "level": "", "id": f"node/{node.name}", "type": "node"}
        if self.ssl_fingerprint:
            out["ssl_fingerprint"] = self.ssl_fingerprint
        return out

    def node_status(self, node_name: str) -> dict[str, Any]:
        with self.lock:
            node = self.node(node_name)
            u = self.node_usage(node)
            return {
                "uptime": u["uptime"], "loadavg": ["0.12", "0.18", "0.21"], "cpu": u["cpu"], "wait": 0.0002,
                "idle": 0, "kversion": "Linux 6.8.8-2-pve #1 SMP PREEMPT_DYNAMIC PMX 6.8.8-2 (2024-06-24T09:00Z)",
                "pveversion": f"pve-manager/{node.version}/{node.repoid}",
                "cpuinfo": {"cpus": node.cpus, "model": node.cpu_model, "sockets": 1, "cores": node.cpus,
                            "mhz": "2000.000", "hvm": "1", "user_hz": 100, "flags": "fpu vme de pse tsc msr pae"},
                "memory": {"total": node.memory, "used": u["mem"], "free": node.memory - u["mem"],
                           "available": node.memory - u["mem"]},
                "swap": {"total": 8 * GIB, "used": 0, "free": 8 * GIB},
                "rootfs": {"total": u["maxdisk"], "used": u["disk"], "avail": u["maxdisk"] - u["disk"],
                           "free": u["maxdisk"] - u["disk"]},
                "ksm": {"shared": 0}, "boot-info": {"mode": "efi", "secureboot": 0},
                "current-kernel": {"sysname": "Linux", "release": "6.8.8-2-pve", "machine": "x86_64",
                                   "version": "#1 SMP PREEMPT_DYNAMIC PMX 6.8.8-2 (2024-06-24T09:00Z)"},
            }

    def resources(self, typ: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            out: list[dict[str, Any]] = []
            if typ in (None, "vm"):
                for vid, vm in sorted(self.vms.items()):
                    s = self.vm_status(vm)
                    entry = {"id": f"qemu/{vid}", "type": "qemu", "node": vm.node, "vmid": vid, "name": s["name"],
                             "status": vm.status, "maxcpu": s["cpus"], "maxmem": s["maxmem"],
                             "maxdisk": s["maxdisk"], "cpu": s["cpu"], "mem": s["mem"], "disk": 0,
                             "diskread": s["diskread"], "diskwrite": s["diskwrite"], "netin": s["netin"],
                             "netout": s["netout"], "uptime": s["uptime"], "template": int(s.get("template", 0))}
                    for k in ("tags", "lock"):
                        if k in s:
                            entry[k] = s[k]
                    out.append(entry)
            if typ in (None, "node"):
                for node in self.nodes.values():
                    entry = self.node_entry(node)
                    entry.pop("ssl_fingerprint", None)
                    entry["cgroup-mode"] = 2
                    out.append(entry)
            if typ in (None, "storage"):
                for node in self.nodes.values():
                    for st in node.storage.values():
                        out.append(st.resource_json(node.name))
            if typ in (None, "sdn"):
                for node in self.nodes.values():
                    out.append({"id": f"sdn/{node.name}/localnetwork", "type": "sdn", "sdn": "localnetwork",
                                "node": node.name, "status": "ok"})
            return out

    def nextid(self, vmid: int | None = None) -> str:
        with self.lock:
            if vmid is not None:
                if vmid in self.vms:
                    raise E.ParamError({"vmid": E.NEXTID_TAKEN.format(vmid=vmid)})
                return str(vmid)
            n = 100
            while n in self.vms:
                n += 1
            return str(n)

    # --- network ------------------------------------------------------------------------------------
    def reload_network(self, node_name: str, user: str) -> str:
        with self.lock:
            node = self.node(node_name)

            def work(task: Task) -> None:
                changed = node.network.apply()
                if changed:
                    for fn in list(self.on_node_event):
                        fn("network-reloaded", node)
            return self._task(node.name, "srvreload", "networking", user, self.durations["srvreload"], work).upid


def _mem(value: str) -> int:
    m = re.match(r"(?:current=)?(\d+)", value)
    return int(m.group(1)) if m else 512


def link_local(mac: str) -> str:
    b = bytearray(int(x, 16) for x in mac.split(":"))
    eui = bytes([b[0] ^ 0x02, b[1], b[2], 0xFF, 0xFE, b[3], b[4], b[5]])
    return str(ipaddress.IPv6Address(b"\xfe\x80" + b"\x00" * 6 + eui))


ZERO_STATS = {"rx-bytes": 0, "rx-dropped": 0, "rx-errs": 0, "rx-packets": 0,
              "tx-bytes": 0, "tx-dropped": 0, "tx-errs": 0, "tx-packets": 0}


def default_agent_interfaces(vm: QemuVM) -> list[dict[str, Any]]:
    """A guest that has no DHCP lease yet: loopback, and each NIC with only its IPv6 link-local address.
    Interface names follow PVE's PCI slots for net0.. (0x12 = 18): ens18, ens19, ..."""
    out: list[dict[str, Any]] = [{
        "name": "lo", "hardware-address": "00:00:00:00:00:00",
        "ip-addresses": [{"ip-address": "127.0.0.1", "ip-address-type": "ipv4", "prefix": 8},
                         {"ip-address": "::1", "ip-address-type": "ipv6", "prefix": 128}],
        "statistics": dict(ZERO_STATS)}]
    for key, net in vm.nets().items():
        if not net.macaddr:
            continue
        out.append({"name": f"ens{18 + int(key[3:])}", "hardware-address": net.macaddr.lower(),
                    "ip-addresses": [{"ip-address": link_local(net.macaddr), "ip-address-type": "ipv6",
                                      "prefix": 64}],
                    "statistics": dict(ZERO_STATS)})
    return out


__all__ = ["DURATIONS", "FormatError", "ProxmoxCluster", "ProxmoxNode", "default_agent_interfaces"]
