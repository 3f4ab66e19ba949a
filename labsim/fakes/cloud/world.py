"""The cloud world of a simulated lab: the providers' servers (Hetzner Cloud through its API, Oracle instances the
owner launches), their public addresses and firewalls, the tailnet between them, the Cloudflare zone, and the
questions the network answers: may this client reach that address and port?

- **The internet**: every server has a public IPv4. A packet from the internet reaches it only when the server
  runs and its provider firewalls let it in (Hetzner: a server with firewalls drops what no rule allows; OCI: the
  security list). The suite's workstation is an internet client at OPERATOR_ADDRESS.
- **The tailnet**: a node whose config carries the siderolabs/tailscale extension joins with its auth key
  (labsim/fakes/cloud/tailnet.py); once its tailscale service is up it is reachable at its 100.x address from every
  other tailnet member, the workstation included, whatever the provider firewall says (Tailscale punches through
  with UDP 41641, or relays through DERP). A node whose tailscale service is down is unreachable there.
- **Talos's API** (TCP 50000) answers on whichever of a node's addresses a client reaches.

The world is also the Talos layer's platform for cloud machines: it fires "started" / "stopped" at the Talos
world as servers power on and off, as the Proxmox cluster does for VMs.
"""
from __future__ import annotations

import ipaddress
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from labsim import fastyaml
from labsim.fakes.cloud.machine import CloudMachine
from labsim.fakes.cloud.tailnet import Tailnet
from labsim.fakes.cloud.zone import Zone

CATALOG = fastyaml.load((Path(__file__).with_name("catalog.yaml")).read_text())
OPERATOR_ADDRESS = "198.51.100.23"      # the workstation that runs the suite, as the internet sees it (TEST-NET-2)
TALOS_API_PORT = 50000
# talosctl dialling an address whose packets are dropped (a firewall, a node off the tailnet): grpc-go's transport
# error as talosctl prints it (inferred wording: the dial gives up with an i/o timeout)
DIAL_TIMEOUT = 'connection error: desc = "transport: Error while dialing: dial tcp {ip}:{port}: i/o timeout"'
# Public IPv4 ranges per location the simulated providers hand out addresses from (real provider ranges).
PUBLIC_RANGES = {"fsn1": "49.12.0.0/16", "nbg1": "159.69.0.0/16", "hel1": "95.216.0.0/16", "ash": "5.161.0.0/16",
                 "hil": "5.78.0.0/16", "sin": "5.223.0.0/16"}


def raw_cloud(raw: dict[str, Any]) -> bool:
    """Does the lab file have anything of the cloud world (servers, a tailnet, a DNS zone, object storage)?"""
    return any(raw.get(k) for k in ("cloud", "tailnet", "dns", "object_storage"))


class CloudWorld:
    def __init__(self, raw: dict[str, Any], clock, *, seed: int = 0, secret: Callable[[str], str]):
        self.raw = raw
        self.clock = clock
        self.seed = seed
        self.random = random.Random(f"cloud:{seed}")
        self.secret = secret
        cloud = raw.get("cloud") or {}
        self.providers: dict[str, dict[str, Any]] = {p["name"]: p for p in cloud.get("providers") or []}
        self.firewall_specs = {f["name"]: f for f in cloud.get("firewalls") or []}
        self.server_specs = {s["name"]: s for s in cloud.get("servers") or []}
        self.machines: dict[int, CloudMachine] = {}
        self.on_vm_event: list[Callable[[str, CloudMachine], None]] = []
        self.on_network_change: list[Callable[[], None]] = []
        self.on_machine_added: list[Callable[[CloudMachine], None]] = []
        self._graceful: set[int] = set()
        self._next_vmid = 50_100_000 + seed % 1000
        self._addresses: set[str] = set()
        self.tailnet = Tailnet(self, raw.get("tailnet"), seed=seed, secret=secret)
        self.zone = Zone(self, raw.get("dns"), seed=seed, secret=secret)
        from labsim.fakes.cloud.hetzner_project import HetznerProject
        from labsim.fakes.cloud.oracle import OracleTenancy
        self.hetzner = HetznerProject(self) if any(p.get("kind") == "hetzner-cloud" for p in self.providers.values()) \
            else None
        self.oracle = OracleTenancy(self)

    # --- machines --------------------------------------------------------------------------------------------------
    def new_vmid(self) -> int:
        self._next_vmid += 1 + self.random.randrange(7)
        return self._next_vmid

    def new_public_ipv4(self, location: str) -> str:
        net = ipaddress.ip_network(PUBLIC_RANGES.get(location, "37.27.0.0/16"))
        while True:
            ip = str(net.network_address + self.random.randrange(256, net.num_addresses - 256))
            if ip not in self._addresses:
                self._addresses.add(ip)
                return ip

    def add_machine(self, m: CloudMachine) -> None:
        self.machines[m.vmid] = m
        self._addresses.add(m.public_ipv4)
        for fn in list(self.on_machine_added):
            fn(m)

    def machine_named(self, name: str) -> CloudMachine | None:
        return next((m for m in self.machines.values() if m.name == name), None)

    def machine_at(self, ip: str) -> CloudMachine | None:
        for m in self.machines.values():
            if ip == m.public_ipv4 or ip in self.tailnet.addresses_of(m):
                return m
        return None

    # --- the platform interface the Talos layer uses (as with labsim.fakes.proxmox.cluster.ProxmoxCluster) -------
    def fire(self, event: str, vm: CloudMachine) -> None:
        if event == "started":
            vm.status = "running"
            vm.started_at = self.clock.now()
            installed = vm.world.get("installed") or {}
            vm.world["talos"] = "installed" if installed.get("config") else "maintenance"
        for fn in list(self.on_vm_event):
            fn(event, vm)
        if event in ("stopped", "destroyed"):
            self.tailnet.machine_down(vm)

    def _power_off(self, vm: CloudMachine) -> None:
        vm.status = "stopped"

    def power_on(self, vm: CloudMachine) -> None:
        """The machine starts: on its first boot Talos reads its machine config from the provider's user data (the
        metadata service); the image has Talos installed already, so a valid config boots straight into it."""
        if not (vm.world.get("installed") or {}).get("config") and vm.user_data and not vm.world.get("metadata_read"):
            vm.world["metadata_read"] = True
            if _is_machine_config(vm.user_data):
                vm.world["installed"] = {"disk": "scsi0", "os": "talos", "version": vm.world.get("talos_version"),
                                         "config": vm.user_data, "etcd_data": False}
        self.fire("started", vm)

    def power_off(self, vm: CloudMachine, graceful: bool) -> None:
        if vm.status != "running":
            return
        if graceful:
            self._graceful.add(vm.vmid)
        vm.status = "stopped"
        self.fire("stopped", vm)

    def was_graceful(self, vm: CloudMachine) -> bool:
        if vm.vmid in self._graceful:
            self._graceful.discard(vm.vmid)
            return True
        return False

    # --- the network -----------------------------------------------------------------------------------------------
    def cluster_address(self, m: CloudMachine) -> str | None:
        config = (m.world.get("installed") or {}).get("config") if m.world.get("talos") == "installed" else None
        if config and "ExtensionServiceConfig" in config and "tailscale" in config:
            return self.tailnet.address_of(m)        # None while its tailscale service is not up
        return m.public_ipv4

    def firewalls_of(self, m: CloudMachine) -> list[dict[str, Any]] | None:
        """The firewall rule sets applied to `m` (None: no firewall, everything is let in)."""
        if m.provider == "oracle":
            return self.oracle.rules_of(m)
        if self.hetzner is not None:
            return self.hetzner.rules_of(m)
        return None

    def internet_allows(self, m: CloudMachine, protocol: str, port: int, source: str) -> bool:
        rules = self.firewalls_of(m)
        if rules is None:
            return True
        src = ipaddress.ip_address(source)
        for r in rules:
            if r.get("direction", "in") != "in" or r.get("protocol") != protocol:
                continue
            spec = str(r.get("port") or "")
            if spec:
                lo, _, hi = spec.partition("-")
                if not int(lo) <= port <= int(hi or lo):
                    continue
            for s in r.get("source_ips") or []:
                try:
                    if src in ipaddress.ip_network(s, strict=False):
                        return True
                except ValueError:
                    continue
        return False

    def refusal(self, ip: str, port: int, protocol: str = "tcp", source: str = OPERATOR_ADDRESS) -> str | None:
        """Why a client at `source` (the internet, or a tailnet member) cannot reach `ip:port` now: None when it can.
        Addresses the cloud does not own are none of its business (None)."""
        m = self.machine_at(ip)
        if m is None:
            return None
        if m.status != "running":
            return f"{ip} does not answer: {m.name} is off"
        if ip in self.tailnet.addresses_of(m):
            if not self.tailnet.online(m):
                return f"{ip} does not answer: {m.name}'s tailscale service is down"
            return None
        if not self.internet_allows(m, protocol, port, source):
            return f"{ip}:{port}/{protocol} is dropped by {m.name}'s firewall"
        return None

    def talos_api_refusal(self, ip: str) -> str | None:
        """What talosctl on the workstation gets when it dials `ip:50000` and cannot reach it (None: it can)."""
        why = self.refusal(ip, TALOS_API_PORT)
        return DIAL_TIMEOUT.format(ip=ip, port=TALOS_API_PORT) if why else None


def _is_machine_config(text: str) -> bool:
    try:
        docs = [d for d in fastyaml.load_all(text) if isinstance(d, dict)]
    except yaml.YAMLError:
        return False
    return any(d.get("version") == "v1alpha1" and isinstance(d.get("machine"), dict) for d in docs)
