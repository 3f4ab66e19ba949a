"""The lab's DNS records at Cloudflare, through the official `cloudflare` client.

The records the lab owns carry a comment that says so: `labsim: <node>` for the lab's own records, and
`<failover.owner>: <node>` (the watcher's) for the round-robin name the failover watcher keeps. Nothing else in the
zone is touched (the owner's other records, or a record of the same name written by hand).

The round-robin record belongs to the watcher once it runs: provisioning creates its records when the name has
none of its own yet, keeps their TTL and proxy status as the lab file says and an address that changed (a server
re-created) current, but never adds back a node the watcher took out. Its verification is the watcher's
business (labsim/provisioners/cloud/watcher.py): the name holds exactly the healthy workers.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from labsim.provisioners.vocabulary import Result

OWNER = "labsim"


@dataclass
class Change:
    kind: str          # create | update | delete
    name: str
    node: str
    detail: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)

    def empty(self) -> bool:
        return not self.changes

    def describe(self) -> list[str]:
        return [f"{c.name} ({c.node}): {c.kind} {c.detail}" for c in self.changes]


def zone_id(ctx, zone: str) -> str:
    zones = [z for z in ctx.cloudflare.zones.list(name=zone) if z.name == zone]
    if not zones:
        raise LookupError(f"zone {zone} is not in the Cloudflare account (or the token may not read it)")
    return zones[0].id


def comment_for(lab, rec, node: str) -> str:
    fo = lab.dns.failover
    failover = fo is not None and lab.dns.record(fo.record) is rec
    return f"{fo.owner if failover and fo else OWNER}: {node}"


def node_of(comment: str | None, owners: tuple[str, ...]) -> str | None:
    for o in owners:
        if comment and comment.startswith(f"{o}: "):
            return comment[len(o) + 2:].strip() or None
    return None


def observed(lab, ctx, zid: str) -> dict[str, list[Any]]:
    """FQDN -> the A records of that name (all of them, ours and not)."""
    out: dict[str, list[Any]] = {}
    for rec in lab.dns.records:
        fqdn = lab.dns.fqdn(rec.name)
        out[fqdn] = [r for r in ctx.cloudflare.dns.records.list(zone_id=zid, name={"exact": fqdn}, type=rec.type,
                                                                per_page=100) if r.name == fqdn]
    return out


def plan(lab, ctx, public: dict[str, str], tailnet: dict[str, str]) -> tuple[Plan, str]:
    """`public` / `tailnet`: node -> its address of that kind (nodes without one yet are left for later)."""
    zid = zone_id(ctx, lab.dns.zone)
    have = observed(lab, ctx, zid)
    fo = lab.dns.failover
    owners = (OWNER,) + ((fo.owner,) if fo else ())
    p = Plan()
    for rec in lab.dns.records:
        if rec.type == "CNAME":
            continue
        fqdn = lab.dns.fqdn(rec.name)
        failover = fo is not None and lab.dns.record(fo.record) is rec
        mine = {node_of(r.comment, owners): r for r in have[fqdn] if node_of(r.comment, owners)}
        addr = public if rec.address == "public" else tailnet
        for node in rec.nodes:
            want = addr.get(node)
            r = mine.get(node)
            if want is None:
                continue
            if r is None:
                if failover and mine:
                    continue            # the watcher took it out (or has not added it yet): its call
                p.changes.append(Change("create", fqdn, node, f"A {want} ttl {rec.ttl}",
                                        {"content": want, "ttl": rec.ttl, "proxied": rec.proxied,
                                         "comment": comment_for(lab, rec, node)}))
            elif r.content != want or int(r.ttl) != rec.ttl or bool(r.proxied) != rec.proxied:
                p.changes.append(Change("update", fqdn, node, f"{r.content} ttl {r.ttl} proxied {r.proxied} -> {want} "
                                        f"ttl {rec.ttl} proxied {rec.proxied}",
                                        {"id": r.id, "content": want, "ttl": rec.ttl, "proxied": rec.proxied,
                                         "comment": comment_for(lab, rec, node)}))
        for node, r in sorted(mine.items()):
            if node not in rec.nodes:
                p.changes.append(Change("delete", fqdn, node, f"A {r.content}: no such node in the lab file",
                                        {"id": r.id}))
    return p, zid


def apply(p: Plan, ctx, zid: str) -> list[str]:
    cf = ctx.cloudflare
    done = []
    for c in p.changes:
        if c.kind == "create":
            cf.dns.records.create(zone_id=zid, name=c.name, type="A", content=c.data["content"], ttl=c.data["ttl"],
                                  proxied=c.data["proxied"], comment=c.data["comment"])
        elif c.kind == "update":
            cf.dns.records.edit(c.data["id"], zone_id=zid, name=c.name, type="A", content=c.data["content"],
                                ttl=c.data["ttl"], proxied=c.data["proxied"], comment=c.data["comment"])
        elif c.kind == "delete":
            cf.dns.records.delete(c.data["id"], zone_id=zid)
        done.append(f"{c.name} ({c.node}): {c.kind}")
    return done


def verify(lab, ctx, public: dict[str, str], tailnet: dict[str, str]) -> list[Result]:
    """Read-only: every record the lab owns holds its nodes' addresses with the lab's TTL and proxy status (the
    round-robin name is checked against the healthy workers by the watcher's verification)."""
    zid = zone_id(ctx, lab.dns.zone)
    have = observed(lab, ctx, zid)
    fo = lab.dns.failover
    out = []
    for rec in lab.dns.records:
        fqdn = lab.dns.fqdn(rec.name)
        if (fo is not None and lab.dns.record(fo.record) is rec) or rec.type == "CNAME":
            continue
        addr = public if rec.address == "public" else tailnet
        want = sorted(addr.get(n, f"<{n}: no {rec.address} address>") for n in rec.nodes)
        got = sorted(r.content for r in have[fqdn] if node_of(r.comment, (OWNER,)))
        wrong = [r for r in have[fqdn] if node_of(r.comment, (OWNER,)) and
                 (int(r.ttl) != rec.ttl or bool(r.proxied) != rec.proxied)]
        ok = got == want and not wrong
        out.append(Result("dns-record", fqdn, ok, f"A {', '.join(got)} ttl {rec.ttl}" if ok else
                          f"holds {', '.join(got) or 'nothing'}, the lab wants {', '.join(want)}"
                          + (f"; ttl/proxied differ on {len(wrong)}" if wrong else ""),
                          {"records": [{"content": r.content, "ttl": r.ttl, "proxied": r.proxied,
                                        "comment": r.comment} for r in have[fqdn]]}))
    return out
