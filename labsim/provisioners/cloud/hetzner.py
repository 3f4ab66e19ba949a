"""Hetzner Cloud servers and firewalls as the lab file says, through `hcloud`.

    plan(lab, ctx, user_data)   what must change, from what the API lists now (never from an earlier run)
    apply(plan, ctx)            exactly those changes; every action awaited on the target's clock
    verify(lab, ctx)            read-only: each server exists, runs, has its type, location, image, labels and
                                firewalls; each firewall has exactly its rules

A server is created with its Talos machine config as user data (what bouquet2's tofu/hetzner.tf does: Talos reads
it from the metadata service on first boot). A server's type, location or image differing from the lab file is a
conflict: reported, never "fixed" by deleting the server. A server found off is powered on (the lab wants it
running). Nothing the lab file does not name is touched. hcloud's own `wait_until_finished` sleeps in real time;
actions are polled here through the clock instead.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from labsim.provisioners.clock import wait_for
from labsim.provisioners.vocabulary import Result

ACTION_TIMEOUT = 600.0
ACTION_INTERVAL = 2.0


@dataclass
class Change:
    kind: str           # create-firewall | set-rules | firewall-labels | create-server | server-labels | power-on |
    subject: str        # apply-firewall | remove-firewall | conflict
    detail: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)

    def empty(self) -> bool:
        return not [c for c in self.changes if c.kind != "conflict"]

    def describe(self) -> list[str]:
        return [f"{c.subject}: {c.kind} ({c.detail})" for c in self.changes]

    @property
    def conflicts(self) -> list[Change]:
        return [c for c in self.changes if c.kind == "conflict"]


def managed_servers(lab) -> list[Any]:
    cloud = lab.cloud
    if cloud is None:
        return []
    return [s for s in cloud.servers if (p := cloud.provider(s.provider)) is not None and p.kind == "hetzner-cloud"
            and p.managed]


def hetzner_firewalls(lab) -> list[Any]:
    cloud = lab.cloud
    if cloud is None:
        return []
    return [f for f in cloud.firewalls if (p := cloud.provider(f.provider)) is not None and p.kind == "hetzner-cloud"]


def rules_of(fw) -> list[dict[str, Any]]:
    """A lab firewall's rules as the API holds them (port only for tcp/udp, addresses as CIDR text)."""
    out = []
    for r in fw.rules:
        key = "source_ips" if r.direction == "in" else "destination_ips"
        out.append({"direction": r.direction, "protocol": r.protocol, "port": r.port, key: [str(s) for s in
                                                                                           (r.sources if r.direction == "in" else r.destinations)],
                    "description": r.description})
    return out


def _norm(rules: list[dict[str, Any]]) -> list[tuple]:
    return sorted((r.get("direction"), r.get("protocol"), r.get("port") or None,
                   tuple(sorted(r.get("source_ips") or [])), tuple(sorted(r.get("destination_ips") or [])),
                   r.get("description") or None) for r in rules)


def _api_rules(fw) -> list[dict[str, Any]]:
    return [{"direction": r.direction, "protocol": r.protocol, "port": r.port, "source_ips": list(r.source_ips or []),
             "destination_ips": list(r.destination_ips or []), "description": r.description} for r in fw.rules or []]


def image_for(h, server) -> Any:
    """The image the lab file names for `server`: a snapshot by description, an image by name, or by id."""
    img = server.image
    arch = "arm" if server.architecture == "arm64" else "x86"
    if img.id is not None:
        return h.images.get_by_id(img.id)
    if img.snapshot:
        found = [i for i in h.images.get_all(type="snapshot", architecture=arch) if i.description == img.snapshot]
        if not found:
            raise LookupError(f"no {arch} snapshot described {img.snapshot!r} in the Hetzner project (upload the "
                              f"Talos image first, e.g. with hcloud-upload-image)")
        return found[0]
    found = h.images.get_by_name_and_architecture(img.name, arch)
    if found is None:
        raise LookupError(f"no {arch} image named {img.name!r} in the Hetzner project")
    return found


def plan(lab, ctx, user_data: dict[str, str]) -> Plan:
    """`user_data`: server name -> the machine config it is created with."""
    h = ctx.hcloud
    p = Plan()
    fw_ids: dict[str, int | None] = {}
    for fw in hetzner_firewalls(lab):
        have = h.firewalls.get_by_name(fw.name)
        want = rules_of(fw)
        if have is None:
            p.changes.append(Change("create-firewall", fw.name, f"{len(want)} rules", {"rules": want,
                                                                                       "labels": dict(fw.labels)}))
            fw_ids[fw.name] = None
            continue
        fw_ids[fw.name] = have.id
        if _norm(_api_rules(have)) != _norm(want):
            p.changes.append(Change("set-rules", fw.name, f"{len(_api_rules(have))} rules -> {len(want)}",
                                    {"rules": want, "id": have.id}))
        if dict(have.labels or {}) != dict(fw.labels):
            p.changes.append(Change("firewall-labels", fw.name, f"{have.labels} -> {fw.labels}",
                                    {"labels": dict(fw.labels), "id": have.id}))
    for srv in managed_servers(lab):
        have = h.servers.get_by_name(srv.name)
        if have is None:
            image = image_for(h, srv)
            p.changes.append(Change("create-server", srv.name, f"{srv.type} in {srv.location} from {srv.image.label}",
                                    {"type": srv.type, "location": srv.location, "image": image.id,
                                     "labels": dict(srv.labels), "firewalls": list(srv.firewalls),
                                     "user_data": user_data.get(srv.name), "ipv6": srv.ipv6}))
            continue
        wrong = []
        if have.server_type.name != srv.type:
            wrong.append(f"type {have.server_type.name} (lab: {srv.type})")
        if have.location.name != srv.location:
            wrong.append(f"location {have.location.name} (lab: {srv.location})")
        if srv.architecture and have.server_type.architecture != ("arm" if srv.architecture == "arm64" else "x86"):
            wrong.append(f"architecture {have.server_type.architecture} (lab: {srv.architecture})")
        if wrong:
            p.changes.append(Change("conflict", srv.name, "; ".join(wrong) + ": not changed (a new server would "
                                                                             "lose the node)"))
        if dict(have.labels or {}) != dict(srv.labels):
            p.changes.append(Change("server-labels", srv.name, f"{have.labels} -> {srv.labels}",
                                    {"id": have.id, "labels": dict(srv.labels)}))
        applied = {f.firewall.id for f in (have.public_net.firewalls or [])}
        for name in srv.firewalls:
            fid = fw_ids.get(name)
            if fid is None or fid not in applied:
                p.changes.append(Change("apply-firewall", srv.name, name, {"server": have.id, "firewall": name}))
        wanted = {fw_ids.get(n) for n in srv.firewalls}
        for fid in sorted(applied - wanted):
            p.changes.append(Change("remove-firewall", srv.name, f"firewall {fid}", {"server": have.id,
                                                                                    "firewall_id": fid}))
        if have.status == "off":
            p.changes.append(Change("power-on", srv.name, "the server is off", {"id": have.id}))
    return p


def wait_actions(ctx, action_ids: list[int], what: str) -> None:
    h = ctx.hcloud
    pending = set(action_ids)
    failed: list[str] = []

    def done() -> bool:
        for aid in list(pending):
            a = h.actions.get_by_id(aid)
            if a.status != "running":
                pending.discard(aid)
                if a.status == "error":
                    failed.append(f"{a.command}: {(a.error or {}).get('message', 'failed')}")
        return not pending
    wait_for(done, ACTION_TIMEOUT, ACTION_INTERVAL, ctx.clock, what=what)
    if failed:
        raise RuntimeError(f"{what}: " + "; ".join(failed))


def apply(p: Plan, ctx) -> list[str]:
    """Make the plan's changes (firewalls first, so a new server is created behind them). Returns what was done."""
    from hcloud.firewalls import Firewall, FirewallResource, FirewallRule
    from hcloud.images import Image
    from hcloud.locations import Location
    from hcloud.server_types import ServerType
    from hcloud.servers import Server, ServerCreatePublicNetwork

    h = ctx.hcloud
    done: list[str] = []
    actions: list[int] = []

    def rules(data):
        return [FirewallRule(direction=r["direction"], protocol=r["protocol"], port=r.get("port"),
                             source_ips=r.get("source_ips") or [], destination_ips=r.get("destination_ips") or [],
                             description=r.get("description")) for r in data]
    order = ["create-firewall", "set-rules", "firewall-labels", "create-server", "server-labels", "apply-firewall",
             "remove-firewall", "power-on"]
    for kind in order:
        for c in [c for c in p.changes if c.kind == kind]:
            d = c.data
            if kind == "create-firewall":
                resp = h.firewalls.create(name=c.subject, rules=rules(d["rules"]), labels=d["labels"])
                actions += [a.id for a in resp.actions or []]
            elif kind == "set-rules":
                actions += [a.id for a in h.firewalls.set_rules(Firewall(id=d["id"]), rules(d["rules"]))]
            elif kind == "firewall-labels":
                h.firewalls.update(Firewall(id=d["id"]), labels=d["labels"])
            elif kind == "create-server":
                fws = [h.firewalls.get_by_name(n) for n in d["firewalls"]]
                resp = h.servers.create(name=c.subject, server_type=ServerType(name=d["type"]),
                                        image=Image(id=d["image"]), location=Location(name=d["location"]),
                                        labels=d["labels"], user_data=d["user_data"],
                                        firewalls=[f for f in fws if f is not None],
                                        public_net=ServerCreatePublicNetwork(enable_ipv4=True,
                                                                             enable_ipv6=bool(d["ipv6"])))
                actions += [resp.action.id] + [a.id for a in resp.next_actions or []]
            elif kind == "server-labels":
                h.servers.update(Server(id=d["id"]), labels=d["labels"])
            elif kind == "apply-firewall":
                fw = h.firewalls.get_by_name(d["firewall"])
                actions += [a.id for a in h.firewalls.apply_to_resources(
                    fw, [FirewallResource(type="server", server=Server(id=d["server"]))])]
            elif kind == "remove-firewall":
                actions += [a.id for a in h.firewalls.remove_from_resources(
                    Firewall(id=d["firewall_id"]), [FirewallResource(type="server", server=Server(id=d["server"]))])]
            elif kind == "power-on":
                actions.append(h.servers.power_on(Server(id=d["id"])).id)
            done.append(f"{c.subject}: {kind} ({c.detail})")
            if kind in ("create-firewall", "set-rules"):   # rules in place before any server depends on them
                wait_actions(ctx, actions, f"the firewall actions of {c.subject}")
                actions = []
    if actions:
        wait_actions(ctx, actions, "the Hetzner Cloud actions to finish")
    return done


def public_addresses(lab, ctx) -> dict[str, str]:
    """Server name -> public IPv4: from the API for managed servers, from the lab file for the others."""
    out: dict[str, str] = {}
    for srv in (lab.cloud.servers if lab.cloud else []):
        if srv in managed_servers(lab):
            have = ctx.hcloud.servers.get_by_name(srv.name)
            if have is not None and have.public_net and have.public_net.ipv4:
                out[srv.name] = have.public_net.ipv4.ip
        elif srv.public_ipv4 is not None:
            out[srv.name] = str(srv.public_ipv4)
    return out


def verify(lab, ctx) -> list[Result]:
    """Read-only: every managed server and firewall as the lab file says (the plan, with no user data to give)."""
    out: list[Result] = []
    h = ctx.hcloud
    for fw in hetzner_firewalls(lab):
        have = h.firewalls.get_by_name(fw.name)
        ok = have is not None and _norm(_api_rules(have)) == _norm(rules_of(fw))
        out.append(Result("hcloud-firewall", fw.name, ok, "its rules are the lab file's" if ok else
                          ("missing" if have is None else f"rules differ: {_api_rules(have)}"),
                          {"rules": _api_rules(have) if have else None}))
    for srv in managed_servers(lab):
        have = h.servers.get_by_name(srv.name)
        if have is None:
            out.append(Result("hcloud-server", srv.name, False, "no such server in the Hetzner project"))
            continue
        applied = sorted(fw.name for fw in (h.firewalls.get_by_id(f.firewall.id) for f in
                                            have.public_net.firewalls or []))
        facts = {"status": have.status, "type": have.server_type.name, "location": have.location.name,
                 "architecture": have.server_type.architecture, "labels": dict(have.labels or {}),
                 "firewalls": applied, "ipv4": have.public_net.ipv4.ip if have.public_net.ipv4 else None}
        wrong = []
        if have.status != "running":
            wrong.append(f"status {have.status}")
        if facts["type"] != srv.type:
            wrong.append(f"type {facts['type']} (lab: {srv.type})")
        if facts["location"] != srv.location:
            wrong.append(f"location {facts['location']} (lab: {srv.location})")
        if facts["labels"] != dict(srv.labels):
            wrong.append(f"labels {facts['labels']} (lab: {dict(srv.labels)})")
        if applied != sorted(srv.firewalls):
            wrong.append(f"firewalls {applied} (lab: {sorted(srv.firewalls)})")
        out.append(Result("hcloud-server", srv.name, not wrong, "as the lab file says" if not wrong else
                          "; ".join(wrong), facts))
    return out
