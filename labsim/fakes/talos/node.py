"""One Talos node: a Proxmox VM booted from the Talos ISO or from the disk Talos installed itself on.

Life of a node (stages as `talosctl get machinestatus` shows them):
  ISO boot -> maintenance (no config, the API answers --insecure on the DHCP address)
  apply-config -> installing (INSTALL s) -> reboot into the installed disk -> booting
  booting: apid, the kubelet and (control planes) etcd come up; etcd waits for `bootstrap` until the cluster
  is bootstrapped, then joins; the kubelet registers its Node once the cluster's API answers; the boot
  sequence waits for the Node to be Ready (a CNI) -> running, or reboots after the CNI window.
  VM stopped / reset -> off (the cluster sees a crash, or a graceful leave on an ACPI shutdown).
What Talos wrote to the disk lives in `vm.world["installed"]` (config text, whether etcd has data), so a
VM that reboots boots with it, and a destroyed VM forgets it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labsim.fakes.proxmox.qemu import QemuVM
from labsim.fakes.talos import hardware, kmsg, services
from labsim.fakes.talos import timing as TM
from labsim.fakes.talos.machineconfig import MachineConfig

if TYPE_CHECKING:
    from labsim.fakes.talos.cluster import TalosCluster
    from labsim.fakes.talos.world import TalosWorld


class TalosNode:
    def __init__(self, talos: TalosWorld, vm: QemuVM):
        self.talos = talos
        self.vm = vm
        self.stage = "off"
        self.boot_id = 0
        self.booted_at = 0.0
        self.apid = False
        self.kubelet = False
        self.etcd = "none"            # none | waiting | joining | running (control planes)
        self.apiserver = False        # the static-pod API server on this control plane answers
        self.config: MachineConfig | None = None
        self.cluster: TalosCluster | None = None
        self.events: dict[str, tuple[float, str, str, str]] = {}   # service -> (time, state, health, event)
        self.kmsg: list[tuple[float, str, str, str]] = []           # this boot's kernel log (labsim/fakes/talos/kmsg.py)
        self.history: dict[str, list[tuple[float, str, str]]] = {}  # service -> its events this boot (time, state, msg)

    # --- facts --------------------------------------------------------------------------------------------
    @property
    def vmid(self) -> int:
        return self.vm.vmid

    @property
    def address(self) -> str | None:
        lease = self.vm.world.get("lease")
        return lease.address if lease is not None else None

    @property
    def addresses(self) -> list[str]:
        """Every address the node answers on: its cluster address and any others its machine has (a cloud server's
        public IPv4 besides its tailnet address)."""
        out = [self.address] if self.address else []
        return out + [a for a in self.vm.world.get("addresses", []) if a not in out]

    @property
    def reachable(self) -> bool:
        """On the network: the VM runs Talos and holds its DHCP lease (a pulled cable or a lost VLAN drops it)."""
        return self.stage != "off" and self.vm.status == "running" and self.address is not None

    @property
    def control_plane(self) -> bool:
        return bool(self.config and self.config.control_plane)

    @property
    def hostname(self) -> str:
        if self.config and self.config.hostname:
            return str(self.config.hostname)
        return hardware.stable_hostname(self.vm)

    @property
    def disk_state(self) -> dict[str, Any]:
        return self.vm.world.setdefault("installed", {})

    @property
    def etcd_data(self) -> bool:
        return bool((self.vm.world.get("installed") or {}).get("etcd_data"))

    @property
    def version(self) -> str:
        return str(self.vm.world.get("talos_version") or (self.vm.world.get("installed") or {}).get("version")
                   or "1.11.3")

    def service(self, name: str, state: str, health: str, event: str) -> None:
        self.events[name] = (self.talos.clock.now(), state, health, event)
        self.history.setdefault(name, []).append((self.talos.clock.now(), state, event))
        kmsg.service(self, name, state, event)

    # --- lifecycle ----------------------------------------------------------------------------------------
    def boot(self, mode: str) -> None:
        """The VM started (or restarted) into Talos: `maintenance` from the ISO, `installed` from disk."""
        self.boot_id += 1
        self.booted_at = self.talos.clock.now()
        self.apid = self.kubelet = self.apiserver = False
        self.etcd = "none"
        self.events.clear()
        self.history.clear()
        boot = self.boot_id
        installed = mode != "maintenance" and bool(self.disk_state.get("config"))
        kmsg.boot(self, "installed" if installed else "maintenance")
        if mode == "maintenance":
            self.stage, self.config = "maintenance", None
            self.talos.after(TM.MAINTENANCE_APID, self, boot, self._apid_up)
            return
        if not self.disk_state.get("config"):     # STATE wiped (talosctl reset): no config, maintenance mode
            self.stage, self.config = "maintenance", None
            self.talos.after(TM.MAINTENANCE_APID, self, boot, self._apid_up)
            return
        self.stage = "booting"
        self.config = MachineConfig.from_text(self.disk_state["config"])
        kmsg.installed_boot(self)
        for svc, (health, event) in services.AT_BOOT.items():
            self.service(svc, "Running", health, event)
        for ext in self.talos.extensions:      # extension services (ext-tailscale) start with the node
            ext.node_booted(self)
        self.talos.join(self)
        self.talos.after(TM.APID, self, boot, self._apid_up)
        self.talos.after(TM.KUBELET, self, boot, self._kubelet_up)
        if self.control_plane:
            self.service("etcd", "Preparing", "?", "Running pre state")
            self.service("trustd", "Running", "OK", "Health check successful")
            assert self.cluster is not None
            self.cluster.etcd_boot(self)

    def _apid_up(self) -> None:
        self.apid = True
        self.service("apid", "Running", "OK", "Health check successful")
        if self.stage == "maintenance":
            kmsg.reachable(self)

    def _kubelet_up(self) -> None:
        self.kubelet = True
        self.service("kubelet", "Running", "OK", "Health check successful")
        if self.cluster:
            self.cluster.reconcile()

    def power_off(self, graceful: bool) -> None:
        if self.stage == "off":
            return
        self.boot_id += 1
        self.stage = "off"
        self.apid = self.kubelet = self.apiserver = False
        self.etcd = "none"
        if self.cluster:
            self.cluster.node_gone(self, graceful)

    def boot_finished(self) -> None:
        if self.stage == "booting":
            self.stage = "running"
            kmsg.booted(self)

    def reset(self, *, graceful: bool, reboot: bool, labels: list[str]) -> None:
        """`talosctl reset`: leave etcd (graceful), wipe STATE and EPHEMERAL (`labels`) or the whole system
        disk, then reboot or power off."""
        cluster = self.cluster
        if graceful and cluster is not None and self.control_plane:
            cluster.members.pop(self.vmid, None)
        wanted = {label.upper() for label in labels}
        if wanted:
            if "STATE" in wanted:
                self.disk_state.pop("config", None)
            if "EPHEMERAL" in wanted:
                self.disk_state["etcd_data"] = False
        else:
            self.vm.world.pop("installed", None)
        if reboot:     # its Node stays in Kubernetes (Unknown once the kubelet is silent) until someone deletes it
            self.talos.reboot_vm(self)
        else:
            self.talos.power_off_vm(self)

    # --- maintenance: install ---------------------------------------------------------------------------------
    def install(self, config: MachineConfig) -> None:
        """Accepted in maintenance mode: install to the disk, then reboot into it."""
        self.stage = "installing"
        boot = self.boot_id
        kmsg.install(self, config.install_disk or "")

        def done() -> None:
            kmsg.installed(self, TM.INSTALL)
            disk = hardware.disk(self.vm, config.install_disk or "")
            self.vm.world["installed"] = {"disk": disk.slot if disk else None, "os": "talos",
                                          "version": self.version, "config": config.text, "etcd_data": False}
            self.talos.reboot_vm(self)
        self.talos.after(TM.INSTALL, self, boot, done)

    def store_config(self, config: MachineConfig) -> None:
        """apply-config on a configured node: written to disk and applied without a reboot."""
        self.disk_state["config"] = config.text
        self.config = config
        if self.cluster:
            self.cluster.reconcile()
