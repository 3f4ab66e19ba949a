"""The simulated MikroTik RouterOS device: its configuration and the menu engine behind the API server.

`RouterOSDevice` is the `CommandHandler` that `server.py` calls for every command sentence. It starts like a
router after `/system reset-configuration no-defaults=yes`: identity `MikroTik`, the model's ethernet ports,
the rows a factory device has (`initial` in schema.yaml: services, built-in interface lists, user groups, the
API user) and nothing else. The generic work (fields, defaults, types, trap texts) is data in `schema.yaml` and
`errors.yaml` and code in `schema.py`; a menu that needs behaviour (computed columns, checks, rows the device
makes) declares it in `menus/` beside its name; this module holds what crosses menus:

- one `.id` space for every interface: a bridge, VLAN or bond has the same `.id` in `/interface` and in its
  own menu, and references to interfaces are stored by id (a rename follows; a removed interface prints as
  its old `*N`, as RouterOS shows dangling references);
- dynamic rows: `/interface/bridge/vlan` rows "added by pvid" on VLAN-filtering bridges, the connected route
  of every `/ip/address`, and leases granted by the world (`grant_lease`);
- cascades: removing a bridge removes its ports and its VLAN table rows;
- firewall rule order (`place-before=`, `move`);
- link state from the world (`set_link`) shown as `running`.

Every accepted write (add/set/remove/enable/disable/unset/move, identity set) counts in `writes`, is logged in
/log and fires the `on_change` callbacks; traps and prints change nothing and count nothing. Any change of what a
print shows (writes, links, leases) also wakes the `watchers` (the API server's listen commands).
"""
from __future__ import annotations

import ipaddress
import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from labsim.resources import HARDWARE_CATALOGUE

from ..clock import VirtualClock
from .api import Reply
from .menus import behaviour
from .schema import (
    FieldSpec,
    MenuSpec,
    RouterOSTrap,
    Version,
    fmt_bool,
    format_duration,
    format_vlan_ids,
    load_schema,
    normalize_menu_path,
    parse_vlan_ids,
    split_list,
    trap,
    unknown_word,
)

__all__ = ["RouterOSDevice", "format_vlan_ids", "load_hardware_catalog", "parse_vlan_ids"]

# Menus holding dynamic rows derived from the rest of the configuration.
DERIVED_MENUS = frozenset({"/ip/route", "/interface/bridge/vlan", "/ipv6/address"})
log = logging.getLogger(__name__)

CATALOG_FILE = HARDWARE_CATALOGUE

# MikroTik's registered OUIs (IEEE MA-L assignments to Routerboard.com / MikroTikls SIA).
MIKROTIK_OUIS = ("48:A9:8A", "DC:2C:6E", "74:4D:28", "CC:2D:E0", "18:FD:74", "2C:C8:1B", "64:D1:54",
                 "B8:69:F4", "D4:01:C3", "E4:8D:8C", "4C:5E:0C", "6C:3B:6B", "C4:AD:34", "08:55:31")


# /system/resource facts per CPU architecture that the hardware catalogue does not carry (ours).
ARCH_FACTS = {
    "arm64": {"cpu": "ARM64", "cpu-count": 4, "cpu-frequency": 1400, "total-hdd-space": 1073741824},
    "arm": {"cpu": "ARMv7", "cpu-count": 2, "cpu-frequency": 800, "total-hdd-space": 16777216},
    "mmips": {"cpu": "MIPS 1004Kc V2.15", "cpu-count": 4, "cpu-frequency": 880, "total-hdd-space": 16777216},
    "x86_64": {"cpu": "QEMU Virtual CPU", "cpu-count": 1, "cpu-frequency": 2400, "total-hdd-space": 94371840},
}
BUILD_TIME = "2024-11-06 09:11:00"  # ours: a plausible build date for the 7.16.x line

PRINT_FLAGS = {".proplist", "detail", "without-paging", "terse", "brief", "stats", "follow", "follow-only", "count-only",
               "interval", "show-ids", "oid", "where"}


def load_hardware_catalog(path: Path | None = None) -> dict[str, Any]:
    with open(path or CATALOG_FILE, encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    return data.get("models", data)


@dataclass
class Item:
    """One row of a table. `values` holds the typed configuration; `state` what the device keeps besides."""

    id: int
    menu: str
    values: dict[str, Any]
    dynamic: bool = False
    state: dict[str, Any] = field(default_factory=dict)


# Secondary indexes over a table's rows (keys a row contributes), for the lookups every write makes.
INDEXES: dict[str, Any] = {
    "name": lambda v: () if v.get("name") is None else (v["name"],),
    "address": lambda v: ((v.get("address"), v.get("interface")),),
    "vlan": lambda v: tuple((v.get("bridge"), vid) for vid in (v.get("vlan-ids") or ())),
    "mac": lambda v: () if v.get("mac-address") is None else (v["mac-address"],),
}


class Table:
    """An id space: ids are `*` + uppercase hex, increasing, never reused."""

    def __init__(self, name: str):
        self.name = name
        self.next_id = 1
        self.items: dict[int, Item] = {}
        self.order: list[int] = []  # print order (insertion order unless moved)
        self._index: dict[str, dict[Any, list[Item]]] = {}  # built on first lookup, kept on insert

    def touch(self) -> None:
        """Forget the secondary indexes: a row changed or went away (rebuilt on the next lookup)."""
        self._index.clear()

    def lookup(self, kind: str, key: Any) -> list[Item]:
        """Rows whose `INDEXES[kind]` keys include `key`, without scanning the table each time."""
        index = self._index.get(kind)
        if index is None:
            index = self._index[kind] = {}
            for i in self.order:
                for k in INDEXES[kind](self.items[i].values):
                    index.setdefault(k, []).append(self.items[i])
        return index.get(key, [])

    def by_name(self, name: str) -> Item | None:
        found = self.lookup("name", name)
        return found[0] if found else None

    def insert(self, menu: str, values: dict[str, Any], *, dynamic: bool = False, before: int | None = None,
               state: dict[str, Any] | None = None) -> Item:
        item = Item(self.next_id, menu, values, dynamic, dict(state or {}))
        for kind, index in self._index.items():
            for k in INDEXES[kind](values):
                index.setdefault(k, []).append(item)
        self.next_id += 1
        self.items[item.id] = item
        if before is not None and before in self.order:
            self.order.insert(self.order.index(before), item.id)
        else:
            self.order.append(item.id)
        return item

    def delete(self, ident: int) -> None:
        if self.items.pop(ident, None) is not None:
            self._index.clear()
        if ident in self.order:
            self.order.remove(ident)

    def rows(self) -> list[Item]:
        return [self.items[i] for i in self.order]


def _hex_id(ident: int) -> str:
    return f"*{ident:X}"


class RouterOSDevice:
    """A RouterOS device's configuration, answering API commands (see the module docstring)."""

    def __init__(self, *, model: str, version: str = "7.16.2", ports: dict[str, int] | None = None,
                 hardware_catalog: dict | None = None, clock=None, mac_seed: int = 0):
        self._lock = threading.RLock()
        catalog = hardware_catalog if hardware_catalog is not None else load_hardware_catalog()
        catalog = catalog.get("models", catalog)
        if model not in catalog and ports is None:
            raise ValueError(f"unknown RouterOS model {model!r} (known: {', '.join(sorted(catalog))})")
        self.model = model
        self.model_info: dict[str, Any] = dict(catalog.get(model, {}))
        self.version = version
        self._version = Version.parse(version)
        self.menus: dict[str, MenuSpec] = load_schema(version)
        self.clock = clock if clock is not None else VirtualClock()
        self._boot = self.clock.now()
        self.writes = 0
        self.on_change: list[Callable[[], None]] = []
        self.watchers: list[Callable[[], None]] = []     # woken on any change a print would show (listen)
        self.neighbors: Callable[[], list[dict[str, str]]] = lambda: []   # what discovery hears (the world's)
        self.log_entries: list[tuple[int, float, str, str]] = []         # (number, time, topics, message)
        self.api_user = "admin"
        self.tables: dict[str, Table] = {}
        for spec in self.menus.values():
            if spec.table and spec.table not in self.tables:
                self.tables[spec.table] = Table(spec.table)
        # single menus (no rows, one set of values): /system/identity, /system/clock
        self.singles: dict[str, dict[str, Any]] = {p: self._defaults(m) for p, m in self.menus.items() if m.single}
        for spec in self.menus.values():
            for row in spec.initial:
                values = self._defaults(spec)
                values.update({k: spec.fields[k].parse(str(v), self) for k, v in row.get("values", {}).items()
                               if k in spec.fields})
                self.tables[spec.table].insert(spec.path, values, dynamic=bool(row.get("dynamic")),
                                               state=dict(row.get("state", {})))
        self.ensure_user("admin")
        self._rng = random.Random(f"routeros-mac-{mac_seed}")
        self._mac_seed = mac_seed
        oui = self._rng.choice(MIKROTIK_OUIS)
        base = self._rng.randrange(0x000100, 0xFFF000)
        port_counts = ports if ports is not None else self.model_info.get("ports", {})
        eth = self.menus["/interface/ethernet"]
        n = 0
        for prefix, count in port_counts.items():
            for i in range(1, int(count) + 1):
                name = f"{prefix}{i}"
                values = self._defaults(eth)
                values["name"] = name
                low = base + n
                mac = f"{oui}:{(low >> 16) & 0xFF:02X}:{(low >> 8) & 0xFF:02X}:{low & 0xFF:02X}"
                self.tables["interface"].insert(eth.path, values, state={
                    "default-name": name, "mac": mac, "link": False, "link-downs": 0})
                n += 1

    # ================================================================================= public API

    @property
    def identity(self) -> str:
        return self.singles["/system/identity"]["name"]

    @property
    def _identity(self) -> str:
        return self.identity

    def ensure_user(self, name: str) -> None:
        """The user the API logs in as exists in /user (group full), as on a device the lab file describes."""
        with self._lock:
            self.api_user = name
            if self.tables["user"].by_name(name) is None:
                spec = self.menus["/user"]
                values = self._defaults(spec)
                values.update({"name": name, "group": "full"})
                self.tables["user"].insert("/user", values)

    def logged_in(self, name: str, peer: str, via: str = "api") -> None:
        """The API server accepted a login: /user's last-logged-in, and RouterOS's log line."""
        with self._lock:
            user = self.tables["user"].by_name(name)
            if user is not None:
                user.state["last-logged-in"] = self.clock.now()
            self.log("system,info,account", f"user {name} logged in from {peer} via {via}")

    def log(self, topics: str, message: str) -> None:
        self.log_entries.append((len(self.log_entries) + 1, self.clock.now(), topics, message))
        del self.log_entries[:-1000]

    def clock_text(self, t: float) -> str:
        """A time as RouterOS 7.10+ prints it: `hh:mm:ss` today, `yyyy-mm-dd hh:mm:ss` before."""
        from datetime import timedelta
        now = self.clock.utcnow()
        at = now - timedelta(seconds=self.clock.now() - t)
        return at.strftime("%H:%M:%S") if at.date() == now.date() else at.strftime("%Y-%m-%d %H:%M:%S")

    def _notify(self) -> None:
        for fn in list(self.watchers):
            try:
                fn()
            except Exception:  # a listener's bug must not break the device
                log.exception("watcher failed on %s", self.identity)

    def execute(self, command: str, attrs: dict[str, str], queries: list[str]) -> Reply:
        """Run one API command (the `CommandHandler` contract of `api.py`)."""
        with self._lock:
            try:
                words = [w for w in command.strip().split("/") if w]
                if not words:
                    raise trap("no_such_command", word="")
                spec = self.menus.get("/" + "/".join(words[:-1]))
                verb = words[-1]
                if verb == "getall" and spec is not None and "print" in spec.commands:
                    verb = "print"  # the old API spelling of print
                if spec is None or verb not in spec.commands:
                    raise trap("no_such_command", word=unknown_word(words, self.menus))
                attrs = {k: v for k, v in (attrs or {}).items() if k != ".tag"}
                if verb != "add":  # adds never look at dynamic rows; printing or changing rows does
                    self._ensure_derived(spec.path)
                return getattr(self, "_cmd_" + verb.replace("-", "_"))(spec, attrs)
            except RouterOSTrap as exc:
                return Reply(traps=list(exc.traps))

    def rows(self, menu: str) -> list[dict[str, str]]:
        """Every row of a menu as `print` returns it (dynamic rows included), in print order."""
        with self._lock:
            spec = self.menus.get(normalize_menu_path(menu))
            if spec is None:
                raise KeyError(f"no such menu: {menu}")
            self._ensure_derived(spec.path)
            return self._print_rows(spec)

    def volatile(self, menu: str) -> tuple[str, ...]:
        """Columns of `menu` that change with time alone (a listen does not report them)."""
        return behaviour(normalize_menu_path(menu)).volatile

    def set_link(self, interface: str, up: bool) -> None:
        """The world tells an ethernet port whether its cable and peer are up (`running` follows)."""
        with self._lock:
            item = self._find_iface(interface, default_name_too=True)
            if item is None or item.menu != "/interface/ethernet":
                raise ValueError(f"{self._identity}: no ethernet interface {interface!r}")
            if item.state["link"] and not up:
                item.state["link-downs"] += 1
            changed = item.state["link"] != bool(up)
            item.state["link"] = bool(up)
        if changed:
            self._stale = set(DERIVED_MENUS)
            self._notify()

    def grant_lease(self, server: str, mac: str, address: str, host_name: str = "") -> str:
        """The world's DHCP exchange succeeded: bind a static lease for `mac`, or make a dynamic one.

        Returns the lease's `.id`. Not a configuration write: `writes` and `on_change` are untouched.
        """
        with self._lock:
            srv = self._find_by_name("dhcp-server", server)
            if srv is None:
                raise ValueError(f"{self._identity}: no dhcp server {server!r}")
            mac = mac.upper().replace("-", ":")
            table = self.tables["dhcp-lease"]
            # this MAC's rows through the index (a scan of every lease for each grant made N VMs quadratic),
            # in print order as a scan finds them
            rows = table.lookup("mac", mac)
            if len(rows) > 1:
                rows = [it for it in table.rows() if it in rows]
            lease = next((it for it in rows if not it.dynamic and it.values.get("server") in (srv.id, "all")), None)
            if lease is None:
                lease = next((it for it in rows if it.dynamic and it.values.get("server") == srv.id), None)
            if lease is None:
                values = self._defaults(self.menus["/ip/dhcp-server/lease"])
                values.update({"address": str(ipaddress.IPv4Address(address)), "mac-address": mac,
                               "server": srv.id})
                lease = table.insert("/ip/dhcp-server/lease", values, dynamic=True)
            elif lease.dynamic:
                lease.values["address"] = str(ipaddress.IPv4Address(address))
            lease.state.update({"status": "bound", "host-name": host_name,
                                "active-address": str(ipaddress.IPv4Address(address)),
                                "active-mac-address": mac, "active-server": srv.id, "bound-at": self.clock.now()})
        self._notify()
        return _hex_id(lease.id)

    def mark_busy(self, server: str, address: str, mac: str = "") -> str:
        """Conflict detection found `address` answered for by another station (ARP or ICMP): RouterOS keeps a
        dynamic lease for it in status `busy` (with the MAC that answered) and offers it to nobody. Not a write."""
        with self._lock:
            srv = self._find_by_name("dhcp-server", server)
            if srv is None:
                raise ValueError(f"{self._identity}: no dhcp server {server!r}")
            address = str(ipaddress.IPv4Address(address))
            table = self.tables["dhcp-lease"]
            lease = next((it for it in table.rows() if it.dynamic and it.values.get("address") == address
                          and it.values.get("server") == srv.id), None)
            if lease is None:
                values = self._defaults(self.menus["/ip/dhcp-server/lease"])
                values.update({"address": address, "server": srv.id})
                if mac:
                    values["mac-address"] = mac.upper().replace("-", ":")
                lease = table.insert("/ip/dhcp-server/lease", values, dynamic=True)
            lease.state.update({"status": "busy", "active-address": address})
            return _hex_id(lease.id)

    def release_lease(self, server: str, mac: str) -> None:
        """The client let its lease go (or the world expired it): a dynamic lease disappears, a static one waits."""
        with self._lock:
            srv = self._find_by_name("dhcp-server", server)
            mac = mac.upper().replace("-", ":")
            table = self.tables["dhcp-lease"]
            for it in list(table.rows()):
                if it.values.get("mac-address") != mac:
                    continue
                if srv is not None and it.values.get("server") not in (srv.id, "all"):
                    continue
                if it.dynamic:
                    table.delete(it.id)
                else:
                    it.state.clear()
        self._notify()

    # ============================================================================ command handlers

    def _cmd_print(self, spec: MenuSpec, attrs: dict[str, str]) -> Reply:
        for key in attrs:
            if key not in PRINT_FLAGS:
                raise trap("unknown_parameter", name=key)
        return Reply(rows=self._print_rows(spec))

    def _cmd_listen(self, spec: MenuSpec, attrs: dict[str, str]) -> Reply:
        """`listen`: the server streams the rows that change (labsim/fakes/routeros/server.py Listen)."""
        for key in attrs:
            if key not in (".proplist",):
                raise trap("unknown_parameter", name=key)
        return Reply(listen=spec.path)

    def _cmd_get(self, spec: MenuSpec, attrs: dict[str, str]) -> Reply:
        attrs = dict(attrs)
        name = attrs.pop("value-name", None)
        ident = attrs.pop(".id", attrs.pop("numbers", None))
        for key in attrs:
            raise trap("unknown_parameter", name=key)
        if name is None:
            raise trap("missing_value", names="value-name")
        if spec.single:
            row = self._print_rows(spec)[0]
        else:
            if ident is None:
                raise trap("missing_value", names="numbers")
            items = self._resolve(spec, ident)
            row = self._row(spec, items[0])
        if name not in row:
            raise trap("invalid_value", name="value-name")
        return Reply(ret=row[name])

    def _cmd_add(self, spec: MenuSpec, attrs: dict[str, str]) -> Reply:
        attrs = dict(attrs)
        attrs.pop(".proplist", None)
        before = None
        if spec.ordered and "place-before" in attrs:
            before = self._resolve(spec, attrs.pop("place-before"))[0].id
        given = self._parse_attrs(spec.fields, attrs)
        values = self._defaults(spec)
        values.update(given)
        if spec.name_prefix and "name" not in given:
            values["name"] = self._auto_name(spec)
        missing = [f.name for f in spec.fields.values() if f.required and f.name not in given]
        if missing:
            raise trap("missing_value", names=", ".join(missing))
        self._complete(spec, values, given)
        self._validate(spec, None, values)
        item = self.tables[spec.table].insert(spec.path, values, before=before)
        self._committed(spec, "added")
        return Reply(ret=_hex_id(item.id))

    def _cmd_set(self, spec: MenuSpec, attrs: dict[str, str]) -> Reply:
        attrs = dict(attrs)
        attrs.pop(".proplist", None)
        if spec.single:
            given = self._parse_attrs(spec.fields, attrs)
            self.singles[spec.path].update(given)
            self._committed(spec, "changed")
            return Reply()
        items = self._targets(spec, attrs)
        plans: list[tuple[Item, MenuSpec, dict[str, Any]]] = []
        for item in items:
            if item.dynamic:
                raise trap("cannot_change_dynamic")
            owner = self.menus[item.menu]
            fields = owner.fields
            if spec.view == "all":
                fields = {k: v for k, v in owner.fields.items() if k in spec.settable}
            given = self._parse_attrs(fields, attrs)
            new = dict(item.values)
            new.update(given)
            self._complete(owner, new, given)
            plans.append((item, owner, new))
        self._apply(plans)
        self._committed(spec, "changed")
        return Reply()

    def _cmd_enable(self, spec: MenuSpec, attrs: dict[str, str]) -> Reply:
        return self._toggle(spec, attrs, False)

    def _cmd_disable(self, spec: MenuSpec, attrs: dict[str, str]) -> Reply:
        return self._toggle(spec, attrs, True)

    def _toggle(self, spec: MenuSpec, attrs: dict[str, str], disabled: bool) -> Reply:
        attrs = dict(attrs)
        items = self._targets(spec, attrs)
        for key in attrs:
            raise trap("unknown_parameter", name=key)
        plans = []
        for item in items:
            if item.dynamic:
                raise trap("cannot_change_dynamic")
            plans.append((item, self.menus[item.menu], {**item.values, "disabled": disabled}))
        self._apply(plans)
        self._committed(spec, "disabled" if disabled else "enabled")
        return Reply()

    def _cmd_unset(self, spec: MenuSpec, attrs: dict[str, str]) -> Reply:
        attrs = dict(attrs)
        items = self._targets(spec, attrs)
        names = split_list(attrs.pop("value-name", ""))
        for key in attrs:
            raise trap("unknown_parameter", name=key)
        if not names:
            raise trap("missing_value", names="value-name")
        plans = []
        for item in items:
            if item.dynamic:
                raise trap("cannot_change_dynamic")
            owner = self.menus[item.menu]
            new = dict(item.values)
            for name in names:
                f = owner.fields.get(name)
                if f is None or f.required or name == "name" or (spec.view == "all" and name not in spec.settable):
                    raise trap("invalid_value", name="value-name")
                new[name] = f.parse(f.default, self) if f.default is not None else None
                if name == "network" and owner.path == "/ip/address":
                    new["network"] = self._network_of(new["address"])
            plans.append((item, owner, new))
        self._apply(plans)
        self._committed()
        return Reply()

    def _cmd_remove(self, spec: MenuSpec, attrs: dict[str, str]) -> Reply:
        attrs = dict(attrs)
        items = self._targets(spec, attrs)
        for key in attrs:
            raise trap("unknown_parameter", name=key)
        for item in items:
            if item.dynamic:
                raise trap("cannot_remove_dynamic")
        for item in items:
            if item.state.get("builtin"):
                raise trap("cannot_remove_builtin")
        for item in items:
            self._remove(spec, item)
        self._committed(spec, "removed")
        return Reply()

    def _cmd_move(self, spec: MenuSpec, attrs: dict[str, str]) -> Reply:
        attrs = dict(attrs)
        items = self._targets(spec, attrs)
        dest_text = attrs.pop("destination", None)
        for key in attrs:
            raise trap("unknown_parameter", name=key)
        table = self.tables[spec.table]
        dest = self._resolve(spec, dest_text)[0].id if dest_text not in (None, "") else None
        moving = [it.id for it in items]
        if dest is not None and dest in moving:
            self._committed()
            return Reply()
        order = [i for i in table.order if i not in moving]
        # RouterOS console `move`: items go before `destination`, or to the end of the list without one.
        at = order.index(dest) if dest is not None else len(order)
        table.order = order[:at] + moving + order[at:]
        self._committed()
        return Reply()

    # ===================================================================== generic engine helpers

    def _defaults(self, spec: MenuSpec) -> dict[str, Any]:
        return {f.name: f.parse(f.default, self) for f in spec.fields.values() if f.default is not None}

    def _parse_attrs(self, fields: dict[str, FieldSpec], attrs: dict[str, str]) -> dict[str, Any]:
        for key in attrs:
            if key not in fields:
                raise trap("unknown_parameter", name=key)
        return {key: fields[key].parse(text, self) for key, text in attrs.items()}

    def _targets(self, spec: MenuSpec, attrs: dict[str, str]) -> list[Item]:
        """Pop `.id` (or `numbers`) from attrs and resolve it to rows of this menu."""
        text = attrs.pop(".id", None)
        alt = attrs.pop("numbers", None)
        text = text if text is not None else alt
        if text is None:
            raise trap("missing_value", names="numbers")
        return self._resolve(spec, text)

    def _resolve(self, spec: MenuSpec, text: str) -> list[Item]:
        view = {it.id: it for it in self._view(spec)}
        out: list[Item] = []
        parts = split_list(text)
        if not parts:
            raise trap("no_such_item")
        for part in parts:
            item = None
            if part.startswith("*"):
                try:
                    item = view.get(int(part[1:], 16))
                except ValueError:
                    item = None
            elif spec.id_by:
                item = next((it for it in view.values() if it.values.get(spec.id_by) == part), None)
            if item is None:
                raise trap("no_such_item")
            if item not in out:
                out.append(item)
        return out

    def _view(self, spec: MenuSpec) -> list[Item]:
        if not spec.table:
            return []
        rows = self.tables[spec.table].rows()
        if spec.view == "all":
            return rows
        if spec.kind:
            return [it for it in rows if it.menu == spec.path]
        return rows

    def _auto_name(self, spec: MenuSpec) -> str:
        taken = {it.values.get("name") for it in self.tables[spec.table].rows()}
        n = 1
        while f"{spec.name_prefix}{n}" in taken:
            n += 1
        return f"{spec.name_prefix}{n}"

    def _complete(self, spec: MenuSpec, values: dict[str, Any], given: dict[str, Any]) -> None:
        """Fill computed-but-writable fields (the network of an /ip/address)."""
        if spec.path == "/ip/address" and "network" not in given and ("address" in given or not values.get("network")):
            values["network"] = self._network_of(values["address"])

    @staticmethod
    def _network_of(address: str) -> str:
        return str(ipaddress.IPv4Interface(address).network.network_address)

    def _apply(self, plans: list[tuple[Item, MenuSpec, dict[str, Any]]]) -> None:
        """Validate every change first (all or nothing), then store."""
        originals = {item.id: item.values for item, _, _ in plans}
        try:
            for item, owner, new in plans:
                self._validate(owner, item, new)
                item.values = new  # later plans see earlier ones (e.g. two ports set in one command)
                self._touch_all()
        except RouterOSTrap:
            for item, _, _ in plans:
                item.values = originals[item.id]
            self._touch_all()
            raise

    def _touch_all(self) -> None:
        for table in self.tables.values():
            table.touch()

    def _committed(self, spec: MenuSpec | None = None, verb: str = "changed") -> None:
        if spec is not None:      # RouterOS 7's log line of a configuration change (topics system,info)
            what = " ".join(spec.words[-2:]) if spec.words[-1] in ("port", "vlan", "lease", "network", "member") \
                and len(spec.words) > 1 else spec.words[-1]
            self.log("system,info", f"{what} {verb} by {self.api_user}")
        self.writes += 1
        # Dynamic rows are derived when next looked at, not after every write: a provisioner adding
        # thousands of rows would otherwise pay for every route after every add (quadratic).
        self._stale = set(DERIVED_MENUS)
        for callback in list(self.on_change):
            try:
                callback()
            except Exception:  # the world's bug must not turn into a protocol error
                log.exception("on_change callback failed on %s", self._identity)
        self._notify()

    # =========================================================================== references

    def resolve_ref(self, ref: str, text: str) -> int | None:
        if ref in ("interface", "bridge"):
            item = self._find_iface(text)
            if item is None or (ref == "bridge" and item.menu != "/interface/bridge"):
                return None
            return item.id
        table = {"pool": "ip-pool", "dhcp-server": "dhcp-server", "interface-list": "interface-list"}[ref]
        item = self._find_by_name(table, text)
        return item.id if item else None

    def ref_name(self, ref: str, ident: int) -> str:
        table = {"interface": "interface", "bridge": "interface", "pool": "ip-pool",
                 "dhcp-server": "dhcp-server", "interface-list": "interface-list"}[ref]
        item = self.tables[table].items.get(ident)
        return item.values["name"] if item else _hex_id(ident)

    def interface_exists(self, name: str) -> bool:
        return self._find_iface(name) is not None

    def _find_iface(self, text: str, default_name_too: bool = False) -> Item | None:
        table = self.tables["interface"]
        found = table.by_name(text)
        if found is not None:
            return found
        if text.startswith("*"):
            try:
                return table.items.get(int(text[1:], 16))
            except ValueError:
                return None
        if default_name_too:
            for it in table.rows():
                if it.state.get("default-name") == text:
                    return it
        return None

    def _find_by_name(self, table: str, name: str) -> Item | None:
        found = self.tables[table].by_name(name)
        if found is not None:
            return found
        if name.startswith("*"):
            try:
                return self.tables[table].items.get(int(name[1:], 16))
            except ValueError:
                return None
        return None

    def _iface(self, ident: Any) -> Item | None:
        return self.tables["interface"].items.get(ident) if isinstance(ident, int) else None

    def _iname(self, ident: Any) -> str:
        return self.ref_name("interface", ident) if isinstance(ident, int) else str(ident)

    # ============================================================================ validation

    def _validate(self, spec: MenuSpec, item: Item | None, new: dict[str, Any]) -> None:
        me = item.id if item else None
        if spec.table == "interface":
            other = self.tables["interface"].by_name(new.get("name"))
            if other is not None and other.id != me and other.values.get("name") == new.get("name"):
                raise trap("duplicate_interface_name")
        check = behaviour(spec.path).check
        if check:
            check(self, me, new)

    def _others(self, table: str, me: int | None, *, static: bool = True):
        t = self.tables[table]
        return (t.items[i] for i in t.order if i != me and not (static and t.items[i].dynamic))

    def _bond_of(self, iface: int, me: int | None = None) -> Item | None:
        for it in self.tables["interface"].rows():
            if it.menu == "/interface/bonding" and it.id != me and iface in it.values.get("slaves", []):
                return it
        return None

    def _port_of(self, iface: int, me: int | None = None) -> Item | None:
        for it in self.tables["bridge-port"].rows():
            if it.id != me and it.values.get("interface") == iface:
                return it
        return None

    # ============================================================================== removal

    def _remove(self, spec: MenuSpec, item: Item) -> None:
        table = self.tables[spec.table]
        if item.menu == "/interface/bridge":
            # Removing a bridge drops its ports and its VLAN table (protocols.md section 2). VLAN interfaces,
            # addresses and DHCP servers on it stay and show the bridge's old `*N` id (RouterOS keeps dangling
            # references).
            for port in list(self.tables["bridge-port"].rows()):
                if port.values["bridge"] == item.id:
                    self.tables["bridge-port"].delete(port.id)
            for row in list(self.tables["bridge-vlan"].rows()):
                if row.values["bridge"] == item.id and not row.dynamic:
                    self.tables["bridge-vlan"].delete(row.id)
        if spec.table == "dhcp-server":
            for lease in list(self.tables["dhcp-lease"].rows()):
                if lease.dynamic and lease.values.get("server") == item.id:
                    self.tables["dhcp-lease"].delete(lease.id)
        table.delete(item.id)

    # ======================================================================= dynamic rows

    def _ensure_derived(self, menu: str) -> None:
        stale = getattr(self, "_stale", DERIVED_MENUS)
        if menu in stale:
            self._stale = set(stale) - {menu}
            {"/ip/route": self._derive_connected_routes, "/interface/bridge/vlan": self._derive_bridge_vlans,
             "/ipv6/address": self._derive_link_local}[menu]()

    def _derive(self) -> None:
        """Recompute dynamic rows after a write, keeping the ids of rows that stay."""
        self._derive_bridge_vlans()
        self._derive_connected_routes()

    def _reconcile(self, table_name: str, menu: str, desired: dict[tuple, dict[str, Any]]) -> None:
        table = self.tables[table_name]
        have = {it.state.get("key"): it for it in table.rows() if it.dynamic and it.menu == menu
                and it.state.get("key") is not None}
        for key, item in have.items():
            if key not in desired:
                table.delete(item.id)
        for key, values in desired.items():
            if key in have:
                have[key].values = values
            else:
                table.insert(menu, values, dynamic=True, state={"key": key})

    def _derive_bridge_vlans(self) -> None:
        spec = self.menus["/interface/bridge/vlan"]
        static = [it for it in self.tables["bridge-vlan"].rows() if not it.dynamic and not it.values["disabled"]]
        desired: dict[tuple, dict[str, Any]] = {}
        for bridge in self.tables["interface"].rows():
            if bridge.menu != "/interface/bridge" or not bridge.values.get("vlan-filtering"):
                continue

            def covered(vid: int, iface: int, bridge: Item = bridge) -> bool:
                return any(r.values["bridge"] == bridge.id and vid in r.values["vlan-ids"]
                           and (iface in r.values["tagged"] or iface in r.values["untagged"]) for r in static)

            # MikroTik docs (Bridge VLAN table): ports with frame-types admit-all or
            # admit-only-untagged-and-priority-tagged are added as untagged ports of their pvid VLAN.
            members: dict[int, list[int]] = {}
            if bridge.values["frame-types"] != "admit-only-vlan-tagged" and not covered(bridge.values["pvid"], bridge.id):
                members.setdefault(bridge.values["pvid"], []).append(bridge.id)
            for port in self.tables["bridge-port"].rows():
                v = port.values
                if v["bridge"] != bridge.id or v["disabled"] or self._iface(v["interface"]) is None:
                    continue
                if v["frame-types"] == "admit-only-vlan-tagged" or covered(v["pvid"], v["interface"]):
                    continue
                members.setdefault(v["pvid"], []).append(v["interface"])
            for vid, ifaces in sorted(members.items()):
                values = self._defaults(spec)
                values.update({"bridge": bridge.id, "vlan-ids": (vid,), "untagged": ifaces,
                               "comment": "added by pvid"})
                desired[(bridge.id, vid)] = values
        self._reconcile("bridge-vlan", spec.path, desired)

    def _derive_connected_routes(self) -> None:
        spec = self.menus["/ip/route"]
        desired: dict[tuple, dict[str, Any]] = {}
        for addr in self.tables["ip-address"].rows():
            iface = self._iface(addr.values["interface"])
            if addr.values["disabled"] or iface is None:
                continue
            net = ipaddress.IPv4Interface(addr.values["address"]).network
            key = (str(net), iface.id)
            if key in desired:
                continue
            values = self._defaults(spec)
            values.update({"dst-address": str(net), "gateway": iface.id, "distance": 0, "scope": 10,
                           "pref-src": str(ipaddress.IPv4Interface(addr.values["address"]).ip)})
            desired[key] = values
        self._reconcile("ip-route", spec.path, desired)

    def _derive_link_local(self) -> None:
        """RouterOS gives every interface a dynamic IPv6 link-local address (fe80::/64, EUI-64 of its MAC)."""
        from .menus.ip import mac_link_local
        spec = self.menus["/ipv6/address"]
        desired: dict[tuple, dict[str, Any]] = {}
        for iface in self.tables["interface"].rows():
            mac = self._mac(iface)
            if iface.values.get("disabled") or mac == "00:00:00:00:00:00":
                continue
            values = self._defaults(spec)
            values.update({"address": f"{mac_link_local(mac)}/64", "interface": iface.id, "advertise": False})
            desired[(iface.id,)] = values
        self._reconcile("ipv6-address", spec.path, desired)

    # ============================================================================= printing

    def _print_rows(self, spec: MenuSpec) -> list[dict[str, str]]:
        made = behaviour(spec.path).rows
        if made is not None:          # a menu whose rows the device computes (menus/*.py)
            return made(self)
        if spec.single:
            values = self.singles[spec.path]
            return [{f.name: f.format(values[f.name], self) for f in spec.fields.values()
                     if values.get(f.name) is not None and not f.write_only}]
        return [self._row(spec, it) for it in self._view(spec)]

    def _row(self, spec: MenuSpec, item: Item) -> dict[str, str]:
        if spec.view == "all":
            return self._interface_row(item)
        owner = self.menus[item.menu]
        row: dict[str, str] = {".id": _hex_id(item.id)}
        for f in owner.fields.values():
            value = item.values.get(f.name)
            if value is None or (f.name == "comment" and value == "") or f.write_only:
                continue
            row[f.name] = f.format(value, self)
        if item.dynamic and item.menu == "/ip/route":
            row["gateway"] = self._iname(item.values["gateway"])
        ro = behaviour(owner.path).readonly
        computed = ro(self, item) if ro is not None else {}
        for name in owner.readonly:
            if name == "dynamic":
                row["dynamic"] = fmt_bool(item.dynamic)
            elif computed.get(name) is not None:
                row[name] = computed[name]
        return row

    # -- interfaces

    def _kind(self, item: Item) -> str:
        return self.menus[item.menu].kind or ""

    def _running(self, item: Item | None, depth: int = 0) -> bool:
        if item is None or item.values.get("disabled") or depth > 8:
            return False
        kind = self._kind(item)
        if kind == "ether":
            return bool(item.state["link"])
        if kind == "bridge":
            return True
        if kind == "vlan":
            return self._running(self._iface(item.values["interface"]), depth + 1)
        return any(self._running(self._iface(s), depth + 1) for s in item.values["slaves"])

    def _slave(self, item: Item) -> bool:
        if self._bond_of(item.id) is not None:
            return True
        port = self._port_of(item.id)
        return port is not None and not port.values["disabled"] and self._iface(port.values["bridge"]) is not None

    def _own_mac(self, item: Item) -> str:
        if "mac" not in item.state:
            rng = random.Random(f"routeros-local-mac-{self._mac_seed}-{item.id}")
            b = [rng.randrange(256) for _ in range(6)]
            b[0] = (b[0] & 0xFC) | 0x02  # locally administered, unicast
            item.state["mac"] = ":".join(f"{x:02X}" for x in b)
        return item.state["mac"]

    def _mac(self, item: Item | None, depth: int = 0) -> str:
        if item is None or depth > 8:
            return "00:00:00:00:00:00"
        kind = self._kind(item)
        if kind == "ether":
            return item.state["mac"]
        if kind == "vlan":
            return self._mac(self._iface(item.values["interface"]), depth + 1)
        if kind == "bond":
            first = next((self._iface(s) for s in item.values["slaves"] if self._iface(s)), None)
            return self._mac(first, depth + 1) if first else self._own_mac(item)
        # bridge: admin-mac when auto-mac=no, else the first port's MAC, else its own
        if not item.values.get("auto-mac") and item.values.get("admin-mac"):
            return item.values["admin-mac"]
        for port in self.tables["bridge-port"].rows():
            if port.values["bridge"] == item.id and self._iface(port.values["interface"]) is not None:
                return self._mac(self._iface(port.values["interface"]), depth + 1)
        return self._own_mac(item)

    def _ports_of_bridge(self, bridge: Item) -> list[Item]:
        return [p for p in self.tables["bridge-port"].rows() if p.values["bridge"] == bridge.id]

    def _actual_mtu(self, item: Item | None, depth: int = 0) -> int:
        if item is None or depth > 8:
            return 1500
        mtu = item.values.get("mtu", 1500)
        if mtu != "auto":
            return int(mtu)
        ports = [self._iface(p.values["interface"]) for p in self._ports_of_bridge(item)]
        sizes = [self._actual_mtu(p, depth + 1) for p in ports if p is not None]
        return min(sizes) if sizes else 1500

    def _l2mtu(self, item: Item | None, depth: int = 0) -> int:
        if item is None or depth > 8:
            return 1500
        kind = self._kind(item)
        if kind == "ether":
            return int(item.values.get("l2mtu", 1592))
        if kind == "vlan":
            return max(0, self._l2mtu(self._iface(item.values["interface"]), depth + 1) - 4)
        if kind == "bond":
            sizes = [self._l2mtu(self._iface(s), depth + 1) for s in item.values["slaves"] if self._iface(s)]
            return min(sizes) if sizes else 1500
        return 65535

    def _interface_row(self, item: Item) -> dict[str, str]:
        v = item.values
        row: dict[str, str] = {".id": _hex_id(item.id), "name": v["name"]}
        if "default-name" in item.state:
            row["default-name"] = item.state["default-name"]
        row["type"] = self._kind(item)
        row["mtu"] = str(v.get("mtu", 1500))
        row["actual-mtu"] = str(self._actual_mtu(item))
        row["l2mtu"] = str(self._l2mtu(item))
        row["mac-address"] = self._mac(item)
        row["link-downs"] = str(item.state.get("link-downs", 0))
        row["running"] = fmt_bool(self._running(item))
        row["slave"] = fmt_bool(self._slave(item))
        row["disabled"] = fmt_bool(v.get("disabled", False))
        row["dynamic"] = "false"
        if v.get("comment"):
            row["comment"] = v["comment"]
        return row

    def _route_active(self, item: Item) -> bool:
        v = item.values
        if v.get("disabled"):
            return False
        if item.dynamic:
            return self._running(self._iface(v["gateway"]))
        if v.get("blackhole"):
            return True
        return self._gateway_via(v.get("gateway")) is not None

    def _gateway_via(self, gateway: Any) -> str | None:
        """The immediate gateway of a static route (`ip%iface` or `iface`), or None when unreachable."""
        if not gateway:
            return None
        for piece in split_list(str(gateway)):
            ip_part, _, iface_name = piece.partition("%")
            try:
                ip = ipaddress.IPv4Address(ip_part)
            except ValueError:
                iface = self._find_iface(piece)
                if iface is not None and self._running(iface):
                    return iface.values["name"]
                continue
            for route in self.tables["ip-route"].rows():
                if not route.dynamic or not self._route_active(route):
                    continue
                iface = self._iface(route.values["gateway"])
                if iface_name and (iface is None or iface.values["name"] != iface_name):
                    continue
                if ip in ipaddress.IPv4Network(route.values["dst-address"]):
                    return f"{ip}%{self._iname(route.values['gateway'])}"
        return None

    # -- system

    def _resource(self) -> dict[str, str]:
        info = self.model_info
        arch = info.get("architecture-name", "x86_64")
        facts = ARCH_FACTS.get(arch, ARCH_FACTS["x86_64"])
        total = int(info.get("total-memory", 268435456))
        uptime_ms = int(max(0.0, self.clock.now() - self._boot) * 1000)
        return {
            "uptime": format_duration(uptime_ms),
            "version": f"{self.version} (stable)",
            "build-time": BUILD_TIME,
            "factory-software": "7.1" if self._version.major >= 7 else "6.45",
            "free-memory": str(total - total // 8 - 4096 * (len(self.tables["interface"].items))),
            "total-memory": str(total),
            "cpu": facts["cpu"],
            "cpu-count": str(facts["cpu-count"]),
            "cpu-frequency": str(facts["cpu-frequency"]),
            "cpu-load": "1",
            "free-hdd-space": str(facts["total-hdd-space"] * 3 // 4),
            "total-hdd-space": str(facts["total-hdd-space"]),
            "write-sect-since-reboot": str(self.writes * 8),
            "write-sect-total": str(1024 + self.writes * 8),
            "architecture-name": arch,
            "board-name": info.get("board-name", self.model),
            "platform": "MikroTik",
        }
