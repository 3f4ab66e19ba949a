"""Storages on a Proxmox node and the volumes in them.

Volume names follow PVE's plugins: LVM / LVM-thin / ZFS images are `vm-<id>-disk-<n>` (volid
`cluster-lvm:vm-1501-disk-0`, format raw); directory storages keep `<id>/vm-<id>-disk-<n>.qcow2`
(volid `local:1501/vm-1501-disk-0.qcow2`); ISO images are `iso/<file>` in a storage with content `iso`.

Capacity. A real thick LVM storage refuses an image that does not fit (pve-storage LVMPlugin.pm
alloc_image: `not enough free space ($free < $size)`, both in KiB). A real LVM-thin pool or directory
storage over-provisions instead and only fails when the guest writes. The simulator enforces capacity at
allocation for every storage type (unless the lab file sets `overcommit: true` on the storage), with the
thick-LVM wording, so that a lab whose disks cannot fit fails its create task with a clear message.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from labsim.fakes.proxmox import errors as E
from labsim.fakes.proxmox.schema import format_size

GIB = 1024 ** 3
MIB = 1024 ** 2
DEFAULT_ISO_SIZE = 100 * MIB
IMAGE_TYPES = ("lvmthin", "lvm", "zfspool", "rbd")   # block storages: raw `vm-ID-disk-N` volumes


class StorageError(Exception):
    pass


@dataclass
class Volume:
    volid: str
    storage: str
    name: str
    size: int
    format: str
    content: str
    vmid: int | None = None
    ctime: int = 0
    meta: dict[str, Any] = field(default_factory=dict)   # e.g. talos_version for an ISO

    def content_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"volid": self.volid, "content": self.content, "format": self.format,
                               "size": self.size, "ctime": self.ctime}
        if self.vmid is not None:
            out["vmid"] = self.vmid
        if self.content == "images":
            out["used"] = self.size if self.format != "qcow2" else 0
        return out


@dataclass
class Storage:
    name: str
    type: str
    content: list[str]
    total: int
    shared: bool = False
    enabled: bool = True
    overcommit: bool = False
    path: str | None = None
    vgname: str | None = None
    thinpool: str | None = None
    volumes: dict[str, Volume] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Storage:
        """From the lab file: {name, type, content: [...], size_gib, shared?, overcommit?, path?, ...}."""
        typ = str(d.get("type", "dir"))
        content = d.get("content") or ["images"]
        if isinstance(content, str):
            content = [c for c in re.split(r"[,\s]+", content) if c]
        total = int(float(d.get("size_gib", 100)) * GIB) if "size" not in d else int(d["size"])
        st = cls(name=str(d["name"]), type=typ, content=sorted(set(content)), total=total,
                 shared=bool(d.get("shared", False)), enabled=bool(d.get("enabled", True)),
                 overcommit=bool(d.get("overcommit", False)), path=d.get("path"),
                 vgname=d.get("vgname"), thinpool=d.get("thinpool"))
        if typ == "dir" and not st.path:
            st.path = "/var/lib/vz" if st.name == "local" else f"/mnt/pve/{st.name}"
        if typ in ("lvmthin", "lvm") and not st.vgname:
            st.vgname = "pve" if st.name == "local-lvm" else st.name
        if typ == "lvmthin" and not st.thinpool:
            st.thinpool = "data"
        return st

    # --- accounting ---------------------------------------------------------------------------------
    @property
    def used(self) -> int:
        return sum(v.size for v in self.volumes.values())

    @property
    def avail(self) -> int:
        return max(0, self.total - self.used)

    def supports(self, content: str) -> bool:
        return content in self.content

    # --- volumes ------------------------------------------------------------------------------------
    def _next_disk_name(self, vmid: int, taken: set[str]) -> str:
        for n in range(1000):
            name = f"vm-{vmid}-disk-{n}"
            if name not in taken:
                return name
        raise StorageError(f"unable to allocate an image name for VM {vmid} in storage '{self.name}'")

    def alloc_image(self, vmid: int, size: int, *, ctime: int, fmt: str | None = None) -> tuple[Volume, list[str]]:
        """Allocate a disk image of `size` bytes for `vmid`; return it and the task-log lines it printed."""
        if not self.overcommit and size > self.avail:
            raise StorageError(E.NOT_ENOUGH_SPACE.format(free=self.avail // 1024, size=size // 1024))
        mine = f"vm-{vmid}-"   # only this VM's names can be taken (a cheap test before the regex: one per volume)
        taken = {re.sub(r"\.\w+$", "", base) for v in self.volumes.values()
                 if (base := v.name.split("/")[-1]).startswith(mine)}
        base = self._next_disk_name(vmid, taken)
        if self.type in IMAGE_TYPES:
            fmt = "raw"
            name = base
            log = [E.LV_CREATED.format(name=name)] if self.type in ("lvmthin", "lvm") else []
        else:
            fmt = fmt or "qcow2"
            name = f"{vmid}/{base}.{fmt}"
            log = [f"Formatting '{self.path}/images/{name}', fmt={fmt} size={size}"]   # [unv] qemu-img wording
        vol = Volume(volid=f"{self.name}:{name}", storage=self.name, name=name, size=size, format=fmt,
                     content="images", vmid=vmid, ctime=ctime)
        self.volumes[vol.volid] = vol
        return vol, log

    def free(self, volid: str) -> list[str]:
        vol = self.volumes.pop(volid, None)
        if vol is None:
            return []
        if self.type in ("lvmthin", "lvm"):
            return [E.LV_REMOVED.format(name=vol.name)]
        return []

    def add_file(self, volid: str, *, size: int | None = None, ctime: int = 0, **meta: Any) -> Volume:
        """Put a file volume (an ISO, a template, a snippet) into the storage."""
        _, _, name = volid.partition(":")
        kind = name.split("/", 1)[0] if "/" in name else "iso"
        content = {"iso": "iso", "vztmpl": "vztmpl", "snippets": "snippets", "dump": "backup"}.get(kind, kind)
        fmt = name.rsplit(".", 1)[-1] if content in ("iso",) else ("txt" if content == "snippets" else "raw")
        vol = Volume(volid=volid, storage=self.name, name=name, size=int(size or DEFAULT_ISO_SIZE),
                     format=fmt, content=content, ctime=ctime, meta=dict(meta))
        self.volumes[volid] = vol
        return vol

    def file_path(self, volid: str) -> str:
        _, _, name = volid.partition(":")
        if name.startswith("iso/"):
            return f"{self.path or '/var/lib/vz'}/template/iso/{name[4:]}"
        return f"{self.path or '/dev/' + (self.vgname or self.name)}/{name}"

    # --- API views ----------------------------------------------------------------------------------
    def content_string(self) -> str:
        return ",".join(sorted(self.content))

    def status_json(self) -> dict[str, Any]:
        return {"storage": self.name, "type": self.type, "content": self.content_string(),
                "active": 1, "enabled": int(self.enabled), "shared": int(self.shared),
                "total": self.total, "used": self.used, "avail": self.avail,
                "used_fraction": (self.used / self.total) if self.total else 0}

    def resource_json(self, node: str) -> dict[str, Any]:
        return {"id": f"storage/{node}/{self.name}", "type": "storage", "node": node, "storage": self.name,
                "status": "available", "plugintype": self.type, "content": self.content_string(),
                "shared": int(self.shared), "disk": self.used, "maxdisk": self.total}


def size_text(size: int) -> str:
    return format_size(size)
