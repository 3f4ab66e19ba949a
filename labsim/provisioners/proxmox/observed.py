"""What Proxmox VE reports about the lab's VMs, read once per run (GET only).

`GET /cluster/resources?type=vm` lists every VM of the cluster with its node, name and status; for each
planned VM that exists, `GET .../qemu/{vmid}/pending` gives both the configuration it runs with
(`value`) and the one it will have after its next start (`pending`, `delete`), in one call.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from labsim.provisioners.proxmox.config import text


@dataclass
class ObservedVm:
    vmid: int
    node: str
    name: str
    status: str
    current: dict[str, str] = field(default_factory=dict)     # what the VM runs with
    effective: dict[str, str] = field(default_factory=dict)   # after pending changes (GET config's view)
    digest: str = ""

    @property
    def running(self) -> bool:
        return self.status == "running"

    @property
    def pending_keys(self) -> list[str]:
        return sorted(k for k in set(self.current) | set(self.effective)
                      if self.current.get(k) != self.effective.get(k))


@dataclass
class Observed:
    vms: dict[int, ObservedVm]           # every VM of the cluster, by id (configs only for planned ones)

    def named(self, name: str) -> list[ObservedVm]:
        return [v for v in self.vms.values() if v.name == name]


def read_pending(api, node: str, vmid: int) -> tuple[dict[str, str], dict[str, str], str]:
    current: dict[str, str] = {}
    effective: dict[str, str] = {}
    digest = ""
    for e in api.nodes(node).qemu(vmid).pending.get():
        key = e["key"]
        if key == "digest":
            digest = text(e.get("value"))
            continue
        if "value" in e:
            current[key] = text(e["value"])
        if "pending" in e:
            effective[key] = text(e["pending"])
        elif "value" in e and not e.get("delete"):
            effective[key] = text(e["value"])
    return current, effective, digest


def observe(api, vmids: set[int]) -> Observed:
    vms: dict[int, ObservedVm] = {}
    for r in api.cluster.resources.get(type="vm"):
        if r.get("type") not in (None, "qemu"):
            continue
        vm = ObservedVm(int(r["vmid"]), text(r["node"]), text(r.get("name")), text(r.get("status")))
        if vm.vmid in vmids:
            vm.current, vm.effective, vm.digest = read_pending(api, vm.node, vm.vmid)
        vms[vm.vmid] = vm
    return Observed(vms)
