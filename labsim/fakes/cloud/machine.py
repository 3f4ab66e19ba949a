"""A cloud server as the Talos layer sees it: what `labsim/fakes/talos` reads from a Proxmox VM (disks, NIC, memory,
CPUs, power state and what is written to its disk), so the same Talos simulation runs on it.

- its disk is the provider's local disk (`/dev/sda`: Hetzner's and OCI's paravirtualized SCSI), holding the boot
  image (a Talos snapshot: Talos is already installed on it);
- `world["talos"]` says how Talos comes up when it starts: from its machine config (the provider's user data,
  read from the metadata service on first boot, or what Talos wrote to the disk since), or in maintenance mode when
  there is none;
- `world["lease"]` is its network: the address its kubelet and etcd use. A node whose config joins the tailnet uses
  its tailnet address once the tailscale extension is up (there is no private network between the clouds), else
  the public IPv4 the provider gave it.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from labsim.fakes.proxmox.qemu import Drive, Net

if TYPE_CHECKING:
    from labsim.fakes.cloud.world import CloudWorld


@dataclass
class CloudLease:
    """What `vm.world["lease"]` holds for a cloud machine: its current address on the network the cluster uses."""

    machine: CloudMachine
    device: str = ""
    server: str = ""
    nic: str = "net0"

    @property
    def address(self) -> str | None:
        return self.machine.cluster_address()

    @property
    def prefix(self) -> int:
        a = self.address or ""
        return 32 if a.startswith("100.") or a == self.machine.public_ipv4 else 24

    @property
    def mac(self) -> str:
        return self.machine.mac


class CloudMachine:
    """One server at a provider: Hetzner (created through the API) or Oracle (declared as existing)."""

    def __init__(self, cloud: CloudWorld, *, vmid: int, name: str, provider: str, location: str, cores: int,
                 memory_mib: int, disk_gib: int, architecture: str, public_ipv4: str, image: dict[str, Any],
                 user_data: str | None):
        self.cloud = cloud
        self.platform = cloud           # TalosWorld powers machines off and back through their platform
        self.vmid = vmid
        self.name = name
        self.provider = provider
        self.node = location            # what stable hostnames and node ids are derived from
        self._cores = cores
        self._memory_mib = memory_mib
        self.disk_gib = disk_gib
        self.architecture = architecture
        self.public_ipv4 = public_ipv4
        self.image = dict(image)
        self.user_data = user_data
        self.status = "stopped"
        self.started_at = 0.0
        self.mac = "96:00:" + ":".join(hashlib.sha256(f"{provider}/{vmid}".encode()).hexdigest()[i:i + 2]
                                       for i in range(0, 8, 2)).upper()
        self.world: dict[str, Any] = {"lease": CloudLease(self), "addresses": [public_ipv4],
                                      "talos_version": image.get("talos_version"),
                                      "extensions": list(image.get("extensions") or [])}

    # --- what the Talos layer reads ------------------------------------------------------------------------------
    def drives(self, current: bool = True) -> dict[str, Drive]:
        return {"scsi0": Drive.parse("scsi0", f"local:{self.vmid}/disk-0,size={self.disk_gib}G")}

    def nets(self, current: bool = True) -> dict[str, Net]:
        return {"net0": Net.parse(f"virtio={self.mac},bridge=public")}

    def memory_mib(self) -> int:
        return self._memory_mib

    def cpus(self) -> int:
        return self._cores

    # --- the network ---------------------------------------------------------------------------------------------
    def cluster_address(self) -> str | None:
        """The address the node's kubelet and etcd use: its tailnet address when its config joins the tailnet (None
        while the extension is not up), else the public IPv4."""
        if self.status != "running":
            return None
        return self.cloud.cluster_address(self)

    def tailnet_address(self) -> str | None:
        return self.cloud.tailnet.address_of(self)
