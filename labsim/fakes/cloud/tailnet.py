"""The tailnet: its auth keys and devices, and what the siderolabs/tailscale extension does on a Talos node.

A Talos node runs the extension when its image carries siderolabs/tailscale and its machine config has an
`ExtensionServiceConfig` named `tailscale` (environment TS_AUTHKEY, TS_HOSTNAME, TS_ROUTES, TS_AUTH_ONCE, ...).
TS_START seconds after the node boots its `ext-tailscale` service logs in:

- with a state from an earlier login (TS_AUTH_ONCE keeps it in /var/lib, which survives reboots) it comes back as
  the same device, whatever the key;
- otherwise with TS_AUTHKEY: the key must exist, not be revoked or expired, and be reusable or unused; the device
  then gets the key's tags, an address from 100.64.0.0/10 and, if another device already has its hostname, a
  MagicDNS name with `-1` appended (as Tailscale names a re-created machine while the old one is still listed);
- it advertises TS_ROUTES; routes are served only once approved (the API's device routes, or autoApprovers).

A node powered off or whose `ext-tailscale` service stops goes offline: nobody reaches its tailnet address. Sources:
siderolabs/extensions tailscale/README.md (the environment it reads), tailscale.com/kb (auth keys, tags,
`-1` names, subnet routes), the Tailscale API reference (device and key objects).
"""
from __future__ import annotations

import hashlib
import ipaddress
import random
import secrets as _secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import yaml

from labsim import fastyaml

if TYPE_CHECKING:
    from labsim.fakes.cloud.machine import CloudMachine
    from labsim.fakes.cloud.world import CloudWorld

TS_START = 6.0                 # seconds from boot until ext-tailscale has logged in (inferred)
TAILNET_V4 = ipaddress.ip_network("100.64.0.0/10")
TAILNET_V6 = "fd7a:115c:a1e0"
EXTENSION = "siderolabs/tailscale"


@dataclass
class AuthKey:
    id: str
    secret: str
    reusable: bool = True
    ephemeral: bool = False
    preauthorized: bool = True
    tags: list[str] = field(default_factory=list)
    description: str = ""
    created: float = 0.0
    expires: float = 90 * 86400.0
    revoked: float | None = None
    uses: int = 0

    def problem(self, now: float) -> str | None:
        if self.revoked is not None:
            return "invalid key: API key does not exist"        # a revoked key is gone (inferred wording)
        if now >= self.expires:
            return "invalid key: this key has expired"
        if not self.reusable and self.uses:
            return "invalid key: unable to validate API key"     # one-off key already used (inferred wording)
        return None


@dataclass
class Device:
    id: str
    node_id: str
    hostname: str
    name: str
    addresses: list[str]
    tags: list[str]
    created: float
    vmid: int
    last_seen: float
    online: bool = False
    authorized: bool = True
    advertised_routes: list[str] = field(default_factory=list)
    enabled_routes: list[str] = field(default_factory=list)
    node_key: str = ""
    machine_key: str = ""


def extension_env(config_text: str) -> dict[str, str] | None:
    """The environment of the `tailscale` ExtensionServiceConfig in a machine config (None: there is none)."""
    try:
        docs = list(fastyaml.load_all(config_text))
    except yaml.YAMLError:
        return None
    for d in docs:
        if isinstance(d, dict) and d.get("kind") == "ExtensionServiceConfig" and d.get("name") == "tailscale":
            env: dict[str, str] = {}
            for item in d.get("environment") or []:
                k, _, v = str(item).partition("=")
                env[k] = v
            return env
    return None


class Tailnet:
    def __init__(self, cloud: CloudWorld, spec: dict[str, Any] | None, *, seed: int, secret: Callable[[str], str]):
        self.cloud = cloud
        self.spec = spec or {}
        self.random = random.Random(f"tailnet:{seed}")
        self.name = str(self.spec.get("name") or "-")
        self.domain = str(self.spec.get("domain") or f"tail{self.random.randrange(16**4):04x}.ts.net")
        self.devices: dict[str, Device] = {}
        self.keys: dict[str, AuthKey] = {}
        self.api_token: str | None = None
        self.auto_approve: bool = False
        self.stopped: set[int] = set()          # vmids whose ext-tailscale service is stopped (a fault)
        self.logs: dict[int, list[tuple[float, str]]] = {}
        if spec:
            self.api_token = secret(spec["api_key"]) if spec.get("api_key") else None
            if spec.get("auth_key"):        # the owner's reusable, pre-authorized key (tofu/tailscale.tf)
                self.add_key(secret(spec["auth_key"]), tags=[str(t) for t in spec.get("tags") or []],
                             description="the lab's auth key")

    # --- keys ------------------------------------------------------------------------------------------------------
    def new_key_id(self) -> str:
        alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
        return "k" + "".join(self.random.choice(alphabet) for _ in range(11)) + "CNTRL"

    def add_key(self, secret: str | None = None, *, tags: list[str], reusable: bool = True, ephemeral: bool = False,
                preauthorized: bool = True, expiry: float = 90 * 86400.0, description: str = "") -> AuthKey:
        kid = self.new_key_id()
        now = self.cloud.clock.now()
        key = AuthKey(kid, secret or f"tskey-auth-{kid}-{_secrets.token_hex(16)}", reusable, ephemeral,
                      preauthorized, list(tags), description, now, now + expiry)
        self.keys[kid] = key
        return key

    def key_by_secret(self, secret: str) -> AuthKey | None:
        return next((k for k in self.keys.values() if k.secret == secret), None)

    # --- devices ---------------------------------------------------------------------------------------------------
    def device_of(self, m: CloudMachine | Any) -> Device | None:
        state = m.world.get("tailscale_state")
        return self.devices.get(state) if state else None

    def address_of(self, m: CloudMachine | Any) -> str | None:
        d = self.device_of(m)
        return d.addresses[0] if d is not None and d.online else None

    def addresses_of(self, m: CloudMachine | Any) -> list[str]:
        """The machine's tailnet addresses, online or not (its device keeps them while offline)."""
        d = self.device_of(m)
        return list(d.addresses) if d is not None else []

    def online(self, m: CloudMachine | Any) -> bool:
        d = self.device_of(m)
        return d is not None and d.online

    def device_at(self, ip: str) -> Device | None:
        return next((d for d in self.devices.values() if ip in d.addresses), None)

    def _new_address(self) -> tuple[str, str]:
        used = {a for d in self.devices.values() for a in d.addresses}
        while True:
            n = self.random.randrange(1, TAILNET_V4.num_addresses - 1)
            v4 = str(TAILNET_V4.network_address + n)
            if v4 not in used:
                h = hashlib.sha256(v4.encode()).hexdigest()
                return v4, f"{TAILNET_V6}:{h[0:4]}:{h[4:8]}:{h[8:12]}:{h[12:16]}:{h[16:20]}"

    def log(self, m: Any, line: str) -> None:
        self.logs.setdefault(m.vmid, []).append((self.cloud.clock.now(), line))

    # --- the extension on a Talos node -------------------------------------------------------------------------------
    def node_booted(self, node) -> None:
        """A Talos node booted from its installed config: start ext-tailscale if its image has the extension and
        its config configures it."""
        vm = node.vm
        config = (vm.world.get("installed") or {}).get("config") or ""
        env = extension_env(config)
        if env is None:
            return
        if EXTENSION not in (vm.world.get("extensions") or []):
            # Talos refuses a config for an extension the image lacks (inferred wording)
            node.service("ext-tailscale", "Failed", "?", 'extension service "tailscale" is not installed')
            return
        node.service("ext-tailscale", "Preparing", "?", "Running pre state")
        boot = node.boot_id
        self.cloud.clock.call_later(TS_START, lambda: self._login(node, boot, env))

    def _login(self, node, boot: int, env: dict[str, str]) -> None:
        vm = node.vm
        if node.boot_id != boot or node.stage == "off" or vm.vmid in self.stopped:
            return
        now = self.cloud.clock.now()
        dev = self.device_of(vm)
        if dev is None:
            secret = env.get("TS_AUTHKEY", "")
            key = self.key_by_secret(secret) if secret else None
            problem = "no auth key (TS_AUTHKEY)" if not secret else \
                "invalid key: API key does not exist" if key is None else key.problem(now)
            if problem:
                self.log(vm, f"backend error: {problem}")
                node.service("ext-tailscale", "Running", "Fail", f"backend error: {problem}")
                return
            assert key is not None
            key.uses += 1
            hostname = env.get("TS_HOSTNAME") or node.hostname
            taken = {d.name.split(".")[0] for d in self.devices.values()}
            label, k = hostname, 0
            while label in taken:
                k += 1
                label = f"{hostname}-{k}"
            v4, v6 = self._new_address()
            did = str(self.random.randrange(10**15, 10**16))
            nid = "n" + "".join(self.random.choice("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
                                for _ in range(10)) + "CNTRL"
            dev = Device(did, nid, hostname, f"{label}.{self.domain}", [v4, v6], list(key.tags), now, vm.vmid, now,
                         authorized=key.preauthorized, node_key=f"nodekey:{_secrets.token_hex(32)}",
                         machine_key=f"mkey:{_secrets.token_hex(32)}")
            self.devices[did] = dev
            vm.world["tailscale_state"] = did     # /var/lib/tailscale survives reboots: the same device comes back
            self.log(vm, f"Switching ipn state NoState -> Running (WantRunning=true, nm=true) as {dev.name}")
        dev.online = dev.authorized
        dev.last_seen = now
        routes = [r.strip() for r in env.get("TS_ROUTES", "").split(",") if r.strip()]
        dev.advertised_routes = routes
        if self.auto_approve:
            dev.enabled_routes = list(routes)
        node.service("ext-tailscale", "Running", "OK" if dev.online else "Fail",
                     "Started task ext-tailscale (PID 2291) for container ext-tailscale")
        self.changed()

    def machine_down(self, vm: Any) -> None:
        dev = self.device_of(vm)
        if dev is not None and dev.online:
            dev.online = False
            dev.last_seen = self.cloud.clock.now()
            self.changed()

    def stop_service(self, vm: Any) -> None:
        """The node's ext-tailscale service stops (a fault): its device goes offline until the service runs again."""
        self.stopped.add(vm.vmid)
        self.machine_down(vm)

    def start_service(self, node) -> None:
        self.stopped.discard(node.vm.vmid)
        env = extension_env((node.vm.world.get("installed") or {}).get("config") or "") or {}
        self._login(node, node.boot_id, env)

    def changed(self) -> None:
        """Reachability over the tailnet changed: the Talos world's next tick sees the new addresses."""
        for fn in list(self.cloud.on_network_change):
            fn()
