"""One Hetzner Cloud project: its server types, locations and images (the catalogue, plus the Talos snapshots the
lab file names), and the servers, firewalls and actions the API creates.

Actions complete over virtual time (catalog.yaml `timing`): a created server initializes, starts and runs after
`create` seconds; a hard power off cuts the machine at once and the action completes after `stop`; an ACPI shutdown
takes `shutdown` seconds while the guest goes down; power on starts the machine when its action completes. While an
action runs the server is locked, and another action is refused (`locked`, 423). A server with firewalls drops what
no rule of them allows (labsim/fakes/cloud/world.py asks `rules_of`); without one, everything is let in.

Source: docs.hetzner.cloud (servers, actions, firewalls, images, pagination, rate limits, errors).
"""
from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from labsim.fakes.cloud.machine import CloudMachine

if TYPE_CHECKING:
    from labsim.fakes.cloud.world import CloudWorld

DATACENTERS = {"fsn1": ("fsn1-dc14", "Falkenstein 1 virtual DC 14"), "nbg1": ("nbg1-dc3", "Nuremberg 1 virtual DC 3"),
               "hel1": ("hel1-dc2", "Helsinki 1 virtual DC 2"), "ash": ("ash-dc1", "Ashburn virtual DC 1"),
               "hil": ("hil-dc1", "Hillsboro virtual DC 1"), "sin": ("sin-dc1", "Singapore virtual DC 1")}
INCLUDED_TRAFFIC = 21990232555520       # 20 TB, in bytes
LOCKED = "The item you are trying to access is locked (there is already an Action running)"


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details or {}


def invalid(field_name: str, message: str) -> ApiError:
    return ApiError(400, "invalid_input", f"invalid input in field '{field_name}'",
                    {"fields": [{"name": field_name, "messages": [message]}]})


def iso(dt: datetime) -> str:
    return dt.replace(microsecond=0).isoformat()


@dataclass
class Action:
    id: int
    command: str
    resources: list[tuple[int, str]]
    started: float
    duration: float
    status: str = "running"
    error: dict[str, str] | None = None
    finished_at: float | None = None

    def json(self, clock) -> dict[str, Any]:
        now = clock.now()
        done = self.status != "running"
        progress = 100 if done else int(min(99, max(0, (now - self.started) / max(self.duration, 1e-9) * 100)))
        base = clock.utcnow()
        return {"id": self.id, "command": self.command, "status": self.status, "progress": progress,
                "started": iso(_at(base, now, self.started)),
                "finished": iso(_at(base, now, self.finished_at)) if self.finished_at is not None else None,
                "resources": [{"id": rid, "type": kind} for rid, kind in self.resources], "error": self.error}


def _at(base: datetime, now: float, t: float) -> datetime:
    from datetime import timedelta
    return base - timedelta(seconds=now - t)


@dataclass
class Server:
    id: int
    name: str
    server_type: dict[str, Any]
    location: dict[str, Any]
    image: dict[str, Any]
    labels: dict[str, str]
    machine: CloudMachine
    created: float
    ipv4_id: int
    ipv6_id: int
    ipv6_net: str
    status: str = "initializing"
    action: int | None = None          # the running action that locks it
    firewalls: list[int] = field(default_factory=list)
    protection: dict[str, bool] = field(default_factory=lambda: {"delete": False, "rebuild": False})


class HetznerProject:
    def __init__(self, cloud: CloudWorld):
        from labsim.fakes.cloud.world import CATALOG
        self.cloud = cloud
        self.clock = cloud.clock
        self.random = random.Random(f"hetzner:{cloud.seed}")
        cat = CATALOG["hetzner"]
        self.timing: dict[str, float] = {k: float(v) for k, v in cat["timing"].items()}
        self.rate_limit = int(cat["rate_limit"])
        self.locations = {loc["name"]: dict(loc) for loc in cat["locations"]}
        self.server_types = {t["name"]: t for t in cat["server_types"]}
        self.tokens: set[str] = set()
        for p in cloud.providers.values():
            if p.get("kind") == "hetzner-cloud" and p.get("token"):
                self.tokens.add(cloud.secret(p["token"]))
        self.images: dict[int, dict[str, Any]] = {}
        self.image_meta: dict[int, dict[str, Any]] = {}
        for img in cat["system_images"]:
            self.images[img["id"]] = self._image_json(img["id"], "system", img["name"], img["description"],
                                                      img["architecture"], os_flavor=img["os_flavor"],
                                                      os_version=img["os_version"])
        self._ids = {"server": 50_312_000, "action": 412_000_000, "firewall": 1_702_000, "image": 233_900_000,
                     "ip": 84_100_000}
        for spec in cloud.server_specs.values():      # the Talos snapshots the owner uploaded (hcloud-upload-image)
            if cloud.providers.get(spec.get("provider"), {}).get("kind") == "hetzner-cloud":
                self._snapshot_for(spec.get("image") or {}, spec.get("architecture", "arm64"))
        self.servers: dict[int, Server] = {}
        self.firewalls: dict[int, dict[str, Any]] = {}
        self.actions: dict[int, Action] = {}
        self._bucket = float(self.rate_limit)
        self._bucket_at = self.clock.now()
        self.fail_next: list[tuple[str, str, ApiError]] = []     # faults: (method, path regex, error) answered once

    # --- ids, images ------------------------------------------------------------------------------------------------
    def new_id(self, kind: str) -> int:
        self._ids[kind] += 1 + self.random.randrange(9)
        return self._ids[kind]

    def _image_json(self, iid: int, kind: str, name: str | None, description: str, arch: str, **kw: Any) -> dict:
        return {"id": iid, "type": kind, "status": "available", "name": name, "description": description,
                "image_size": 0.42 if kind == "snapshot" else None, "disk_size": 20 if kind == "snapshot" else 5,
                "created": iso(self.clock.utcnow()), "created_from": None, "bound_to": None,
                "os_flavor": kw.get("os_flavor", "unknown"), "os_version": kw.get("os_version"),
                "rapid_deploy": kind == "system", "protection": {"delete": False}, "deprecated": None,
                "deleted": None, "labels": kw.get("labels", {}), "architecture": arch}

    def _snapshot_for(self, image: dict[str, Any], architecture: str) -> None:
        arch = "arm" if architecture == "arm64" else "x86"
        desc = image.get("snapshot") or image.get("name")
        if image.get("id") is not None:
            iid = int(image["id"])
        elif desc and any(i["description"] == desc and i["type"] == "snapshot" for i in self.images.values()):
            return
        elif desc:
            iid = self.new_id("image")
        else:
            return
        version = str(image.get("talos_version") or "").lstrip("v")
        self.images[iid] = self._image_json(iid, "snapshot", None, desc or f"talos-{iid}", arch,
                                            labels={"os": "talos", **({"version": f"v{version}"} if version else {})})
        self.image_meta[iid] = {"talos_version": version or None, "extensions": list(image.get("extensions") or [])}

    # --- rate limit (RateLimit-* headers) -------------------------------------------------------------------------------
    def take_token(self) -> tuple[bool, dict[str, str]]:
        now = self.clock.now()
        self._bucket = min(float(self.rate_limit), self._bucket + (now - self._bucket_at) * self.rate_limit / 3600.0)
        self._bucket_at = now
        ok = self._bucket >= 1.0
        if ok:
            self._bucket -= 1.0
        full_in = (self.rate_limit - self._bucket) * 3600.0 / self.rate_limit
        reset = int(self.clock.utcnow().timestamp() + full_in)
        return ok, {"RateLimit-Limit": str(self.rate_limit), "RateLimit-Remaining": str(int(self._bucket)),
                    "RateLimit-Reset": str(reset)}

    def exhaust_rate_limit(self) -> None:
        """A fault: the project has spent its hourly requests (another tool, a loop gone wrong)."""
        self._bucket = 0.0
        self._bucket_at = self.clock.now()

    # --- JSON -----------------------------------------------------------------------------------------------------------
    def server_type_json(self, t: dict[str, Any]) -> dict[str, Any]:
        prices = [{"location": loc, "price_hourly": {"net": f"{float(t['monthly']) / 730:.4f}", "gross": ""},
                   "price_monthly": {"net": t["monthly"], "gross": ""}, "included_traffic": INCLUDED_TRAFFIC,
                   "price_per_tb_traffic": {"net": "1.0000", "gross": ""}} for loc in t["locations"]]
        return {"id": t["id"], "name": t["name"], "description": t["name"].upper(), "cores": t["cores"],
                "memory": t["memory"], "disk": t["disk"], "deprecated": False, "deprecation": None,
                "prices": prices, "storage_type": "local", "cpu_type": t["cpu_type"], "category": "cost_optimized",
                "architecture": t["architecture"], "included_traffic": INCLUDED_TRAFFIC,
                "locations": [{"id": self.locations[n]["id"], "name": n, "deprecation": None, "available": True,
                               "recommended": True} for n in t["locations"]]}

    def location_json(self, name: str) -> dict[str, Any]:
        return dict(self.locations[name])

    def server_json(self, s: Server) -> dict[str, Any]:
        m = s.machine
        loc = self.location_json(s.location["name"])
        dc_name, dc_desc = DATACENTERS.get(loc["name"], (f"{loc['name']}-dc1", loc["description"]))
        ip4 = m.public_ipv4
        ptr = "static." + ".".join(reversed(ip4.split("."))) + ".clients.your-server.de"
        return {
            "id": s.id, "name": s.name, "status": s.status, "created": iso(_at(self.clock.utcnow(), self.clock.now(),
                                                                               s.created)),
            "public_net": {"ipv4": {"id": s.ipv4_id, "ip": ip4, "blocked": False, "dns_ptr": ptr},
                           "ipv6": {"id": s.ipv6_id, "ip": s.ipv6_net, "blocked": False, "dns_ptr": []},
                           "floating_ips": [],
                           "firewalls": [{"id": f, "status": "applied"} for f in s.firewalls]},
            "private_net": [], "server_type": self.server_type_json(s.server_type),
            "datacenter": {"id": loc["id"], "name": dc_name, "description": dc_desc, "location": loc,
                           "server_types": {"supported": [], "available": [], "available_for_migration": []}},
            "location": loc, "image": dict(s.image), "iso": None, "rescue_enabled": False,
            "locked": s.action is not None, "backup_window": None, "outgoing_traffic": 0, "ingoing_traffic": 0,
            "included_traffic": INCLUDED_TRAFFIC, "protection": dict(s.protection), "labels": dict(s.labels),
            "volumes": [], "load_balancers": [], "primary_disk_size": s.server_type["disk"],
            "placement_group": None}

    def firewall_json(self, fw: dict[str, Any]) -> dict[str, Any]:
        return {"id": fw["id"], "name": fw["name"], "labels": dict(fw["labels"]), "created": fw["created"],
                "rules": [dict(r) for r in fw["rules"]],
                "applied_to": [{"type": "server", "server": {"id": sid}} for sid in sorted(self._applied(fw["id"]))]}

    def _applied(self, fid: int) -> list[int]:
        return [s.id for s in self.servers.values() if fid in s.firewalls]

    def rules_of(self, m: CloudMachine) -> list[dict[str, Any]] | None:
        s = next((s for s in self.servers.values() if s.machine is m), None)
        if s is None or not s.firewalls:
            return None
        return [r for fid in s.firewalls if fid in self.firewalls for r in self.firewalls[fid]["rules"]]

    # --- actions --------------------------------------------------------------------------------------------------------
    def action(self, command: str, resources: list[tuple[int, str]], duration: float, done=None) -> Action:
        a = Action(self.new_id("action"), command, resources, self.clock.now(), duration)
        self.actions[a.id] = a

        def finish() -> None:
            a.status, a.finished_at = "success", self.clock.now()
            if done is not None:
                done(a)
        self.clock.call_later(duration, finish)
        return a

    def lock(self, s: Server, a: Action) -> None:
        s.action = a.id

        def unlock() -> None:
            if s.action == a.id:
                s.action = None
        self.clock.call_later(a.duration, unlock)

    def check_unlocked(self, s: Server) -> None:
        if s.action is not None and self.actions[s.action].status == "running":
            raise ApiError(423, "locked", LOCKED)

    # --- servers --------------------------------------------------------------------------------------------------------
    def create_server(self, body: dict[str, Any]) -> tuple[Server, Action, list[Action], str | None]:
        name = body.get("name")
        if not isinstance(name, str) or not re.fullmatch(r"(?=.{1,63}$)[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?", name):
            raise invalid("name", "Invalid hostname")      # RFC 1123 (inferred message)
        if any(s.name == name for s in self.servers.values()):
            raise ApiError(409, "uniqueness_error", "server name is already used", {"fields": [{"name": "name"}]})
        stype = self._find_type(body.get("server_type"))
        loc_name = self._location_name(body.get("location"), body.get("datacenter"))
        if loc_name not in stype["locations"]:
            raise ApiError(412, "resource_unavailable", f"server type {stype['name']} is unavailable in {loc_name}")
        image = self._find_image(body.get("image"), stype["architecture"])
        if image["architecture"] != stype["architecture"]:
            raise invalid("image", f"image architecture {image['architecture']} does not match server type "
                                   f"architecture {stype['architecture']}")   # (inferred wording)
        user_data = body.get("user_data")
        if user_data is not None and (not isinstance(user_data, str) or len(user_data.encode()) > 32 * 1024):
            raise invalid("user_data", "user_data must be at most 32 KiB")   # (inferred wording)
        labels = body.get("labels") or {}
        if not isinstance(labels, dict) or not all(_label_ok(k, v) for k, v in labels.items()):
            raise invalid("labels", "labels are invalid")
        fw_ids = []
        for item in body.get("firewalls") or []:
            fid = item.get("firewall") if isinstance(item, dict) else None
            if fid not in self.firewalls:
                raise ApiError(404, "not_found", f"firewall with ID '{fid}' not found")   # (inferred wording)
            fw_ids.append(fid)
        sid = self.new_id("server")
        meta = self.image_meta.get(image["id"], {})
        machine = CloudMachine(self.cloud, vmid=self.cloud.new_vmid(), name=name, provider="hetzner",
                               location=loc_name, cores=stype["cores"], memory_mib=int(stype["memory"] * 1024),
                               disk_gib=stype["disk"], architecture="arm64" if stype["architecture"] == "arm"
                               else "amd64", public_ipv4=self.cloud.new_public_ipv4(loc_name),
                               image={"talos_version": meta.get("talos_version"),
                                      "extensions": meta.get("extensions", [])}, user_data=user_data)
        self.cloud.add_machine(machine)
        h = hashlib.sha256(f"{sid}".encode()).hexdigest()
        s = Server(sid, name, stype, self.locations[loc_name], image, {str(k): str(v) for k, v in labels.items()},
                   machine, self.clock.now(), self.new_id("ip"), self.new_id("ip"),
                   f"2a01:4f9:c01{h[0]}:{h[1:5]}::/64", firewalls=fw_ids)
        self.servers[sid] = s
        start = body.get("start_after_create", True) is not False
        create = self.action("create_server", [(sid, "server")], self.timing["create"],
                             lambda a: self._created(s, start))
        self.lock(s, create)
        nexts = []
        if start:
            nexts.append(Action(self.new_id("action"), "start_server", [(sid, "server")], self.clock.now(),
                                self.timing["create"]))
            self.actions[nexts[0].id] = nexts[0]
            self.clock.call_later(self.timing["create"], lambda: _finish(nexts[0], self.clock))
        password = None if body.get("ssh_keys") else "".join(self.random.choice("abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMN"
                                                                                 "PQRSTUVWXYZ23456789") for _ in range(20))
        return s, create, nexts, password

    def _created(self, s: Server, start: bool) -> None:
        if s.id not in self.servers:
            return
        if start:
            s.status = "running"
            self.cloud.power_on(s.machine)
        else:
            s.status = "off"

    def _find_type(self, ref: Any) -> dict[str, Any]:
        for t in self.server_types.values():
            if ref == t["name"] or ref == t["id"] or (isinstance(ref, str) and ref.isdigit() and int(ref) == t["id"]):
                return t
        raise invalid("server_type", "server type not found")        # (inferred message)

    def _location_name(self, loc: Any, dc: Any) -> str:
        if loc is None and dc is not None:
            for name, (dcn, _) in DATACENTERS.items():
                if dc == dcn:
                    return name
            raise invalid("datacenter", "datacenter not found")
        if loc is None:
            return "fsn1"
        for name, spec in self.locations.items():
            if loc == name or loc == spec["id"] or str(loc) == str(spec["id"]):
                return name
        raise invalid("location", "location not found")

    def _find_image(self, ref: Any, arch: str) -> dict[str, Any]:
        if ref is None:
            raise invalid("image", "Missing data for required field.")
        for img in self.images.values():
            if ref == img["id"] or (isinstance(ref, str) and ref.isdigit() and int(ref) == img["id"]):
                return img
        named = [i for i in self.images.values() if i["name"] == ref]
        match = next((i for i in named if i["architecture"] == arch), None) or (named[0] if named else None)
        if match is None:
            raise invalid("image", "image not found")   # (inferred message)
        return match

    def server(self, sid: int) -> Server:
        s = self.servers.get(sid)
        if s is None:
            raise ApiError(404, "not_found", f"server with ID '{sid}' not found")
        return s

    def power(self, s: Server, command: str) -> Action:
        self.check_unlocked(s)
        m = s.machine
        t = self.timing
        if command == "poweroff":
            self.cloud.power_off(m, graceful=False)
            s.status = "stopping" if s.status == "running" else s.status
            a = self.action("stop_server", [(s.id, "server")], t["stop"], lambda a: setattr(s, "status", "off"))
        elif command == "shutdown":
            a = self.action("shutdown_server", [(s.id, "server")], t["shutdown"], lambda a: self._off(s, True))
        elif command == "poweron":
            if s.status == "running":
                a = self.action("start_server", [(s.id, "server")], 1.0)     # nothing to do (inferred)
            else:
                s.status = "starting"
                a = self.action("start_server", [(s.id, "server")], t["start"], lambda a: self._on(s))
        elif command == "reboot":
            self.cloud.power_off(m, graceful=True)
            a = self.action("reboot_server", [(s.id, "server")], t["reboot"], lambda a: self._on(s))
        elif command == "reset":
            self.cloud.power_off(m, graceful=False)
            a = self.action("reset_server", [(s.id, "server")], t["reboot"], lambda a: self._on(s))
        else:
            raise ApiError(404, "not_found", "not found")
        self.lock(s, a)
        return a

    def _off(self, s: Server, graceful: bool) -> None:
        self.cloud.power_off(s.machine, graceful=graceful)
        s.status = "off"

    def _on(self, s: Server) -> None:
        if s.id in self.servers:
            s.status = "running"
            if s.machine.status != "running":
                self.cloud.power_on(s.machine)

    def delete_server(self, s: Server) -> Action:
        if s.protection.get("delete"):
            raise ApiError(403, "protected", "server is protected")   # (inferred wording)
        self.check_unlocked(s)
        s.status = "deleting"
        self.cloud.power_off(s.machine, graceful=False)

        def gone(a: Action) -> None:
            self.servers.pop(s.id, None)
            self.cloud.fire("destroyed", s.machine)
            self.cloud.machines.pop(s.machine.vmid, None)
        a = self.action("delete_server", [(s.id, "server")], self.timing["delete"], gone)
        self.lock(s, a)
        return a

    # --- firewalls ------------------------------------------------------------------------------------------------------
    def check_rules(self, rules: Any) -> list[dict[str, Any]]:
        if not isinstance(rules, list):
            raise invalid("rules", "Not a valid list.")
        out = []
        for i, r in enumerate(rules):
            if not isinstance(r, dict) or r.get("direction") not in ("in", "out"):
                raise invalid(f"rules.{i}.direction", "Must be one of: in, out.")
            proto = r.get("protocol")
            if proto not in ("tcp", "udp", "icmp", "esp", "gre"):
                raise invalid(f"rules.{i}.protocol", "Must be one of: tcp, udp, icmp, esp, gre.")
            port = r.get("port")
            if proto in ("tcp", "udp"):
                if not isinstance(port, str) or not re.fullmatch(r"(\d{1,5})(-\d{1,5})?|any", port):
                    raise invalid(f"rules.{i}.port", "port is required for protocol tcp and udp")   # (inferred)
            elif port is not None:
                raise invalid(f"rules.{i}.port", f"port is not allowed for protocol {proto}")       # (inferred)
            key = "source_ips" if r["direction"] == "in" else "destination_ips"
            ips = r.get(key) or []
            if not ips:
                raise invalid(f"rules.{i}.{key}", f"{key} is required for direction {r['direction']}")
            for ip in ips:
                import ipaddress
                try:
                    net = ipaddress.ip_network(ip, strict=True)
                except ValueError:
                    raise invalid(f"rules.{i}.{key}", f"invalid CIDR {ip}") from None   # (inferred)
                del net
            out.append({"direction": r["direction"], "protocol": proto, "port": port if proto in ("tcp", "udp")
                        else None, "source_ips": list(r.get("source_ips") or []),
                        "destination_ips": list(r.get("destination_ips") or []),
                        "description": r.get("description")})
        return out

    def create_firewall(self, body: dict[str, Any]) -> tuple[dict[str, Any], list[Action]]:
        name = body.get("name")
        if not isinstance(name, str) or not name:
            raise invalid("name", "Missing data for required field.")
        if any(f["name"] == name for f in self.firewalls.values()):
            raise ApiError(409, "uniqueness_error", "firewall name is already used", {"fields": [{"name": "name"}]})
        rules = self.check_rules(body.get("rules") or [])
        labels = body.get("labels") or {}
        fw = {"id": self.new_id("firewall"), "name": name, "labels": {str(k): str(v) for k, v in labels.items()},
              "created": iso(self.clock.utcnow()), "rules": rules}
        self.firewalls[fw["id"]] = fw
        actions = [self.action("set_firewall_rules", [(fw["id"], "firewall")], self.timing["firewall"])]
        for target in body.get("apply_to") or []:
            actions += self.apply_firewall(fw, [target])
        return fw, actions

    def set_rules(self, fw: dict[str, Any], rules: Any) -> list[Action]:
        fw["rules"] = self.check_rules(rules)
        out = [self.action("set_firewall_rules", [(fw["id"], "firewall")], self.timing["firewall"])]
        out += [self.action("apply_firewall", [(fw["id"], "firewall"), (sid, "server")], self.timing["firewall"])
                for sid in self._applied(fw["id"])]
        return out

    def apply_firewall(self, fw: dict[str, Any], targets: list[Any]) -> list[Action]:
        out = []
        for t in targets:
            if not isinstance(t, dict) or t.get("type") != "server" or not isinstance(t.get("server"), dict):
                raise invalid("apply_to", "only servers can be targets here")   # label selectors: not modelled
            s = self.server(int(t["server"].get("id", 0)))
            if fw["id"] in s.firewalls:
                raise ApiError(409, "firewall_already_applied", "firewall is already applied")   # (inferred)
            s.firewalls.append(fw["id"])
            out.append(self.action("apply_firewall", [(fw["id"], "firewall"), (s.id, "server")],
                                   self.timing["firewall"]))
        return out

    def remove_firewall(self, fw: dict[str, Any], targets: list[Any]) -> list[Action]:
        out = []
        for t in targets:
            s = self.server(int(((t or {}).get("server") or {}).get("id", 0)))
            if fw["id"] not in s.firewalls:
                raise ApiError(409, "firewall_already_removed", "firewall is not applied")   # (inferred)
            s.firewalls.remove(fw["id"])
            out.append(self.action("remove_firewall", [(fw["id"], "firewall"), (s.id, "server")],
                                   self.timing["firewall"]))
        return out


def _finish(a: Action, clock) -> None:
    a.status, a.finished_at = "success", clock.now()


def _label_ok(k: Any, v: Any) -> bool:
    key = r"([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
    val = r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?"
    return isinstance(k, str) and isinstance(v, str) and bool(re.fullmatch(key, k)) and bool(re.fullmatch(val, v))
