"""QEMU virtual machines: their configuration keys, the property-string formats inside them, and the VM.

A VM's configuration is kept as PVE keeps it, as raw strings per key (what `/etc/pve/qemu-server/ID.conf`
holds), and printed back over the API with integers and booleans as JSON numbers and everything else as
strings (`"cores": 8`, `"memory": "32768"`, `"agent": "1"`). The digest is the SHA-1 of the rendered
config file, so it changes on every change and only then.

Sources: qemu-server PVE/QemuServer.pm ($confdesc, $net_fmt, parse_net/print_net, add_random_macs),
PVE/QemuServer/Drive.pm (drive format, NEW_DISK_RE), pve-common PVE/Tools.pm random_ether_addr (MAC with
the datacenter prefix BC:24:11, the Proxmox OUI).
"""
from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from labsim.fakes.proxmox import errors as E
from labsim.fakes.proxmox.schema import (
    FormatError,
    P,
    PropString,
    fmt_dns_name,
    fmt_mac,
    fmt_tags,
    format_size,
    parse_size,
    schema,
)

MAC_PREFIX = "BC:24:11"   # datacenter.cfg mac_prefix default since PVE 8.1 (Proxmox's registered OUI)

NIC_MODELS = ("e1000", "e1000-82540em", "e1000-82544gc", "e1000-82545em", "e1000e", "i82551", "i82557b",
              "i82559er", "ne2k_isa", "ne2k_pci", "pcnet", "rtl8139", "virtio", "vmxnet3")

NET_FMT = PropString(
    fields={
        "model": P(enum=NIC_MODELS, optional=False, default_key=True),
        "macaddr": P(fmt=fmt_mac),
        "bridge": P(pattern=r"[-_.\w\d]+"),
        "tag": P("integer", minimum=1, maximum=4094),
        "trunks": P(pattern=r"\d+(?:-\d+)?(?:;\d+(?:-\d+)?)*"),
        "firewall": P("boolean"),
        "link_down": P("boolean"),
        "mtu": P("integer", minimum=1, maximum=65520),
        "queues": P("integer", minimum=0, maximum=64),
        "rate": P("number", minimum=0),
    },
    key_aliases={m: ("model", "macaddr") for m in NIC_MODELS},
)

DRIVE_FMT = PropString(fields={
    "file": P(optional=False, default_key=True),
    "media": P(enum=("cdrom", "disk")),
    "size": P(pattern=r"\d+(?:\.\d+)?[KMGT]?", size=True),
    "format": P(enum=("raw", "cow", "qcow", "qed", "qcow2", "vmdk", "cloop")),
    "cache": P(enum=("none", "writethrough", "writeback", "unsafe", "directsync")),
    "discard": P(enum=("ignore", "on")),
    "aio": P(enum=("native", "threads", "io_uring")),
    "iothread": P("boolean"), "ssd": P("boolean"), "backup": P("boolean"), "replicate": P("boolean"),
    "snapshot": P("boolean"), "ro": P("boolean"), "shared": P("boolean"), "detect_zeroes": P("boolean"),
    "serial": P(max_length=60), "werror": P(), "rerror": P(), "import-from": P(), "wwn": P(),
    "mbps": P("number", minimum=1), "mbps_rd": P("number", minimum=1), "mbps_wr": P("number", minimum=1),
    "iops": P("integer", minimum=10), "iops_rd": P("integer", minimum=10), "iops_wr": P("integer", minimum=10),
    "queues": P("integer", minimum=2, maximum=16), "model": P(), "product": P(), "vendor": P(),
})

MEMORY_FMT = PropString(fields={"current": P("integer", minimum=16, default_key=True),
                                "max": P("integer", minimum=65536, maximum=4194304)})
AGENT_FMT = PropString(fields={"enabled": P("boolean", default_key=True), "fstrim_cloned_disks": P("boolean"),
                               "freeze-fs-on-backup": P("boolean"), "type": P(enum=("virtio", "isa"))})
BOOT_DEVICE_RE = r"(?:ide\d|sata\d|scsi\d+|virtio\d+|net\d+|hostpci\d+|usb\d+|efidisk0|tpmstate0)"
BOOT_FMT = PropString(fields={"legacy": P(pattern=r"[acdn]{1,4}", default_key=True),
                              "order": P(pattern=rf"{BOOT_DEVICE_RE}(?:;{BOOT_DEVICE_RE})*")})

CPU_MODELS = (
    "486", "athlon", "Broadwell", "Broadwell-IBRS", "Broadwell-noTSX", "Broadwell-noTSX-IBRS",
    "Cascadelake-Server", "Cascadelake-Server-noTSX", "Cascadelake-Server-v2", "Cascadelake-Server-v4",
    "Cascadelake-Server-v5", "Conroe", "Cooperlake", "Cooperlake-v2", "core2duo", "coreduo", "EPYC",
    "EPYC-Genoa", "EPYC-IBPB", "EPYC-Milan", "EPYC-Milan-v2", "EPYC-Rome", "EPYC-Rome-v2", "EPYC-Rome-v3",
    "EPYC-Rome-v4", "EPYC-v3", "EPYC-v4", "GraniteRapids", "Haswell", "Haswell-IBRS", "Haswell-noTSX",
    "Haswell-noTSX-IBRS", "host", "Icelake-Client", "Icelake-Client-noTSX", "Icelake-Server",
    "Icelake-Server-noTSX", "Icelake-Server-v3", "Icelake-Server-v4", "Icelake-Server-v5",
    "Icelake-Server-v6", "IvyBridge", "IvyBridge-IBRS", "KnightsMill", "kvm32", "kvm64", "max", "Nehalem",
    "Nehalem-IBRS", "Opteron_G1", "Opteron_G2", "Opteron_G3", "Opteron_G4", "Opteron_G5", "Penryn",
    "pentium", "pentium2", "pentium3", "phenom", "qemu32", "qemu64", "SandyBridge", "SandyBridge-IBRS",
    "SapphireRapids", "SapphireRapids-v2", "Skylake-Client", "Skylake-Client-IBRS",
    "Skylake-Client-noTSX-IBRS", "Skylake-Client-v4", "Skylake-Server", "Skylake-Server-IBRS",
    "Skylake-Server-noTSX-IBRS", "Skylake-Server-v4", "Skylake-Server-v5", "Westmere", "Westmere-IBRS",
    "x86-64-v2", "x86-64-v2-AES", "x86-64-v3", "x86-64-v4",
)


def _check_cpu(res: dict[str, Any]) -> None:
    cpu = res.get("cputype")
    if cpu and not cpu.startswith("custom-") and cpu not in CPU_MODELS:
        raise FormatError(E.CPU_MODEL.format(cpu=cpu))


CPU_FMT = PropString(fields={"cputype": P(default_key=True), "flags": P(), "hidden": P("boolean"),
                             "hv-vendor-id": P(), "phys-bits": P(), "reported-model": P()},
                     validator=_check_cpu)

OSTYPES = ("other", "wxp", "w2k", "w2k3", "w2k8", "wvista", "win7", "win8", "win10", "win11", "l24", "l26",
           "solaris")
SCSIHW = ("lsi", "lsi53c810", "virtio-scsi-pci", "virtio-scsi-single", "megasas", "pvscsi")
LOCKS = ("backup", "clone", "create", "migrate", "rollback", "snapshot", "snapshot-delete", "suspending",
         "suspended")

DRIVE_KEY_RE = r"(?:ide[0-3]|sata[0-5]|scsi(?:[0-9]|[12][0-9]|30)|virtio(?:[0-9]|1[0-5]))"
DISK_ORDER = ("ide", "sata", "scsi", "virtio")   # resolve_first_disk order (approximation)

# Configuration keys a VM may have (qemu-server $confdesc, the ones a lab provisioner may touch plus the
# rest typed loosely so that valid requests are never refused for a key this fake does not model).
VM_CONFIG = schema(
    {
        "acpi": P("boolean"), "affinity": P(), "agent": P(fmt=AGENT_FMT), "arch": P(enum=("x86_64", "aarch64")),
        "args": P(), "audio0": P(), "autostart": P("boolean"), "balloon": P("integer", minimum=0),
        "bios": P(enum=("seabios", "ovmf")), "boot": P(fmt=BOOT_FMT), "bootdisk": P(pattern=DRIVE_KEY_RE),
        "cdrom": P(fmt=DRIVE_FMT), "cicustom": P(), "cipassword": P(),
        "citype": P(enum=("configdrive2", "nocloud", "opennebula")), "ciupgrade": P("boolean"), "ciuser": P(),
        "cores": P("integer", minimum=1), "cpu": P(fmt=CPU_FMT), "cpulimit": P("number", minimum=0, maximum=128),
        "cpuunits": P("integer", minimum=1, maximum=262144), "description": P(max_length=8192),
        "efidisk0": P(), "freeze": P("boolean"), "hookscript": P(), "hotplug": P(),
        "hugepages": P(enum=("any", "2", "1024")), "keephugepages": P("boolean"), "keyboard": P(),
        "kvm": P("boolean"), "localtime": P("boolean"), "lock": P(enum=LOCKS), "machine": P(),
        "memory": P(fmt=MEMORY_FMT), "migrate_downtime": P("number", minimum=0),
        "migrate_speed": P("integer", minimum=0), "name": P(fmt=fmt_dns_name), "nameserver": P(),
        "numa": P("boolean"), "onboot": P("boolean"), "ostype": P(enum=OSTYPES), "protection": P("boolean"),
        "reboot": P("boolean"), "rng0": P(), "scsihw": P(enum=SCSIHW), "searchdomain": P(),
        "shares": P("integer", minimum=0, maximum=50000), "smbios1": P(max_length=512), "smp": P("integer", minimum=1),
        "sockets": P("integer", minimum=1), "spice_enhancements": P(), "sshkeys": P(), "startdate": P(),
        "startup": P(), "tablet": P("boolean"), "tags": P(fmt=fmt_tags), "tdf": P("boolean"),
        "template": P("boolean"), "tpmstate0": P(), "vcpus": P("integer", minimum=1), "vga": P(),
        "vmgenid": P(), "vmstatestorage": P(), "watchdog": P(),
    },
    [
        (r"net(?:[0-9]|[12][0-9]|3[01])", P(fmt=NET_FMT)),
        (DRIVE_KEY_RE, P(fmt=DRIVE_FMT)),
        (r"unused(?:\d|[1-9]\d|1\d\d|2[0-4]\d|25[0-5])", P()),
        (r"ipconfig(?:[0-9]|[12][0-9]|3[01])", P()),
        (r"serial[0-3]", P(pattern=r"(?:/dev/.+|socket)")),
        (r"parallel[0-2]", P()), (r"usb[0-4]", P()), (r"hostpci(?:[0-9]|1[0-5])", P()),
        (r"numa[0-7]", P()), (r"virtiofs[0-9]", P()),
    ],
)

# Changes to a running VM that apply at once; anything else waits in `pending` until the next start.
FAST_PLUG = {"name", "onboot", "description", "protection", "startup", "tags", "hookscript", "shares",
             "vmstatestorage", "lock"}
HOTPLUG_RE = re.compile(rf"^(?:net\d+|{DRIVE_KEY_RE}|unused\d+|balloon)$")

NEW_DISK_RE = re.compile(r"^(?:([^/:\s]+):)?(\d+(?:\.\d+)?)$")


def is_drive_key(key: str) -> bool:
    return re.fullmatch(DRIVE_KEY_RE, key) is not None


def is_net_key(key: str) -> bool:
    return re.fullmatch(r"net\d+", key) is not None


def json_value(key: str, value: str) -> Any:
    """How PVE prints a config value over JSON: integers and booleans as numbers, the rest as strings."""
    p = VM_CONFIG.lookup(key)
    if p is not None and p.type in ("integer", "boolean") and re.fullmatch(r"-?\d+", str(value)):
        return int(value)
    if p is not None and p.type == "number":
        try:
            f = float(value)
            return int(f) if f.is_integer() else f
        except ValueError:
            return value
    return str(value)


# --- nets ------------------------------------------------------------------------------------------
@dataclass
class Net:
    model: str
    macaddr: str | None = None
    bridge: str | None = None
    tag: int | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> Net:
        raw = NET_FMT.parse(text)
        return cls(model=raw["model"], macaddr=raw.get("macaddr", None) and raw["macaddr"].upper(),
                   bridge=raw.get("bridge"), tag=int(raw["tag"]) if "tag" in raw else None,
                   extra={k: v for k, v in raw.items() if k not in ("model", "macaddr", "bridge", "tag")})

    def print(self) -> str:
        data: dict[str, Any] = {"model": self.model, "macaddr": self.macaddr, "bridge": self.bridge,
                                "tag": self.tag, **self.extra}
        return NET_FMT.print({k: v for k, v in data.items() if v is not None})


class MacAllocator:
    """Deterministic stand-in for PVE::Tools::random_ether_addr: same seed, same MACs, whatever the order
    in which VMs are created (each MAC derives from seed, VM id, NIC and how many times that NIC got one)."""

    def __init__(self, seed: int, prefix: str = MAC_PREFIX):
        self.seed = seed
        self.prefix = prefix.upper()
        self._count: dict[tuple[int, str], int] = {}

    def new(self, vmid: int, key: str, in_use: set[str]) -> str:
        while True:
            n = self._count.get((vmid, key), 0)
            self._count[(vmid, key)] = n + 1
            digest = hashlib.sha1(f"mac:{self.seed}:{vmid}:{key}:{n}".encode()).digest()
            b = bytearray(digest[:6])
            b[0] = (b[0] & 0xFE) | 0x02        # unicast, locally administered (then the prefix replaces it)
            full = ":".join(f"{x:02X}" for x in b)
            mac = self.prefix + full[len(self.prefix):]
            if mac not in in_use:
                return mac


# --- drives ----------------------------------------------------------------------------------------
@dataclass
class Drive:
    key: str
    file: str
    opts: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, key: str, text: str) -> Drive:
        raw = DRIVE_FMT.parse(text)
        file = raw.pop("file")
        return cls(key, file, raw)

    def print(self) -> str:
        return DRIVE_FMT.print({"file": self.file, **self.opts})

    @property
    def is_cdrom(self) -> bool:
        return self.opts.get("media") == "cdrom" or self.file in ("cdrom", "none")

    @property
    def new_disk(self) -> tuple[str | None, float] | None:
        """(storage, size GiB) when the file asks for a new disk (`cluster-lvm:16`)."""
        if self.is_cdrom:
            return None
        m = NEW_DISK_RE.match(self.file)
        if not m:
            return None
        return m.group(1), float(m.group(2))

    @property
    def volid(self) -> str | None:
        if self.file in ("cdrom", "none") or self.file.startswith("/") or self.new_disk:
            return None
        return self.file if ":" in self.file else None


def drive_sort_key(key: str) -> tuple[int, int]:
    m = re.fullmatch(r"([a-z]+)(\d+)", key)
    assert m
    return DISK_ORDER.index(m.group(1)) if m.group(1) in DISK_ORDER else 9, int(m.group(2))


# --- the VM ----------------------------------------------------------------------------------------
class _Tracked:
    """A container that tells its VM when it changes (so the VM's MAC set is read again only after a change)."""
    _touch: Callable[[], None] | None = None

    def _changed(self) -> None:
        if self._touch is not None:
            self._touch()


def _tracking(base: type, mutators: tuple[str, ...]) -> type:
    def wrap(name: str):
        inner = getattr(base, name)

        def method(self, *args, **kwargs):
            out = inner(self, *args, **kwargs)
            self._changed()
            return out
        method.__name__ = name
        return method
    return type(f"Tracked{base.__name__.capitalize()}", (_Tracked, base), {n: wrap(n) for n in mutators})


TrackedDict = _tracking(dict, ("__setitem__", "__delitem__", "__ior__", "update", "pop", "popitem", "clear",
                               "setdefault"))
TrackedSet = _tracking(set, ("add", "discard", "remove", "pop", "clear", "update", "difference_update",
                             "intersection_update", "symmetric_difference_update", "__ior__", "__isub__",
                             "__iand__", "__ixor__"))
_TRACKED = {"conf": TrackedDict, "pending": TrackedDict, "pending_delete": TrackedSet}


@dataclass
class QemuVM:
    vmid: int
    node: str
    conf: dict[str, str] = field(default_factory=dict)
    pending: dict[str, str] = field(default_factory=dict)
    pending_delete: set[str] = field(default_factory=set)
    status: str = "stopped"                 # stopped | running
    qmpstatus: str = "stopped"              # stopped | running | paused
    started_at: float | None = None
    pid: int | None = None
    # --- what the world model fills ---------------------------------------------------------------
    agent_interfaces: list[dict[str, Any]] | None = None   # guest-agent network-get-interfaces result
    agent_running: bool | None = None       # None: the agent answers `agent_start_delay` after start
    agent_info: dict[str, Any] = field(default_factory=dict)   # get-osinfo / get-host-name answers
    acpi_responsive: bool = True            # False: shutdown times out (guest ignores ACPI)
    world: dict[str, Any] = field(default_factory=dict)   # free-form state the world keeps per VM

    # --- change tracking: whoever keeps an index over many VMs' configs (the cluster's MACs in use) hears of
    # each change through `on_change` instead of reading every VM again ------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        tracked = _TRACKED.get(name)
        if tracked is not None:
            value = tracked(value)
            value._touch = self._config_changed
        object.__setattr__(self, name, value)
        if tracked is not None:
            self._config_changed()

    def _config_changed(self) -> None:
        self.__dict__["_macs"] = None
        hook = self.__dict__.get("on_change")
        if hook is not None:
            hook(self)

    def watch(self, on_change: Callable[[QemuVM], None]) -> None:
        """Call `on_change(vm)` after every change of the config, pending changes or pending deletions."""
        self.__dict__["on_change"] = on_change
        on_change(self)

    def macs(self) -> frozenset[str]:
        """The MACs (upper case) of this VM's NICs, current and pending."""
        macs = self.__dict__.get("_macs")
        if macs is None:
            macs = frozenset(n.macaddr.upper() for n in (*self.nets(current=False).values(), *self.nets().values())
                             if n.macaddr)
            self.__dict__["_macs"] = macs
        return macs

    # --- config views -----------------------------------------------------------------------------
    @property
    def lock(self) -> str | None:
        return self.conf.get("lock")

    @property
    def name(self) -> str:
        return self.effective().get("name") or f"VM {self.vmid}"

    def effective(self) -> dict[str, str]:
        """The config with pending changes applied (what GET config returns by default)."""
        out = {k: v for k, v in self.conf.items() if k not in self.pending_delete}
        out.update(self.pending)
        return out

    def render(self) -> str:
        """The config file text (description as comments first, keys sorted, then [PENDING])."""
        lines: list[str] = []

        def section(conf: dict[str, str]) -> None:
            if "description" in conf:
                for line in conf["description"].split("\n"):
                    lines.append("#" + line)
            for k in sorted(conf):
                if k != "description":
                    lines.append(f"{k}: {conf[k]}")
        section(self.conf)
        if self.pending or self.pending_delete:
            lines.append("")
            lines.append("[PENDING]")
            section(self.pending)
            if self.pending_delete:
                lines.append("delete: " + ",".join(sorted(self.pending_delete)))
        return "\n".join(lines) + "\n"

    @property
    def digest(self) -> str:
        return hashlib.sha1(self.render().encode()).hexdigest()

    def config_json(self, current: bool = False) -> dict[str, Any]:
        conf = dict(self.conf) if current else self.effective()
        out = {k: json_value(k, v) for k, v in conf.items()}
        if "cipassword" in out:
            out["cipassword"] = "**********"
        out["digest"] = self.digest
        return out

    def nets(self, current: bool = True) -> dict[str, Net]:
        conf = self.conf if current else self.effective()
        out: dict[str, Net] = {}
        for k in sorted(conf, key=lambda k: int(k[3:]) if is_net_key(k) else -1):
            if is_net_key(k):
                try:
                    out[k] = Net.parse(conf[k])
                except FormatError:
                    continue
        return out

    def drives(self, current: bool = True) -> dict[str, Drive]:
        conf = self.conf if current else self.effective()
        out: dict[str, Drive] = {}
        for k in sorted((k for k in conf if is_drive_key(k)), key=drive_sort_key):
            try:
                out[k] = Drive.parse(k, conf[k])
            except FormatError:
                continue
        return out

    def agent_enabled(self) -> bool:
        raw = self.conf.get("agent")
        if raw is None:
            return False
        try:
            return AGENT_FMT.parse(raw).get("enabled", "0") == "1"
        except FormatError:
            return False

    def memory_mib(self) -> int:
        return _memory_mib(self.conf.get("memory", "512"))

    def cpus(self) -> int:
        c = self.conf
        if "vcpus" in c:
            return int(c["vcpus"])
        return int(c.get("sockets", "1")) * int(c.get("cores", "1"))

    def boot_disk_size(self) -> int:
        """Bytes of the boot disk (PVE's maxdisk): the first disk in the boot order, else the first disk."""
        drives = {k: d for k, d in self.drives().items() if not d.is_cdrom}
        order: list[str] = []
        boot = self.conf.get("boot")
        if boot:
            try:
                order = [x for x in (BOOT_FMT.parse(boot).get("order") or "").split(";") if x]
            except FormatError:
                order = []
        for k in [*order, *drives]:
            if k in drives:
                size = drives[k].opts.get("size")
                return (parse_size(size) or 0) if size else 0
        return 0

    def uptime(self, now: float) -> int:
        return int(now - self.started_at) if self.status == "running" and self.started_at is not None else 0


@lru_cache(maxsize=1024)
def _memory_mib(raw: str) -> int:
    """Cached: a node's start sums every running VM's memory, so parsing must not cost per VM (600 VMs)."""
    try:
        return int(MEMORY_FMT.parse(raw).get("current", "512"))
    except (FormatError, ValueError):
        return 512


def default_boot_order(conf: dict[str, str]) -> str:
    """PVE get_default_bootdevices: first disk, first cdrom, first NIC -> `order=virtio0;ide2;net0`."""
    disks, cdroms = [], []
    for k in sorted((k for k in conf if is_drive_key(k)), key=drive_sort_key):
        try:
            d = Drive.parse(k, conf[k])
        except FormatError:
            continue
        (cdroms if d.is_cdrom else disks).append(k)
    devs = disks[:1] + cdroms[:1]
    nets = sorted((k for k in conf if is_net_key(k)), key=lambda k: int(k[3:]))
    devs += nets[:1]
    return "order=" + ";".join(devs) if devs else ""


def size_gib_text(gib: float) -> str:
    return format_size(int(gib * 1024 ** 3))


Hook = Callable[[str, QemuVM], None]
