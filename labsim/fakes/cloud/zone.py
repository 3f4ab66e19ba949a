"""The lab's zone at Cloudflare: its records (what the API lists and the nameservers answer), the API tokens that
may edit it, and the answers a resolver gets.

The zone exists when the lab starts, holding what the owner has there besides the lab (an apex A record and a
`www` CNAME, never touched by the suite: a record it does not own must be left alone). A DNS-only record answers
with its content and TTL (1 = automatic = 300 s); a proxied one answers with Cloudflare's own anycast addresses
(TTL 300), which is why a proxied record cannot hide a node behind the watcher's failover: clients never see nodes.
Source: developers.cloudflare.com/dns (TTL, proxy status, "records with the same name"), the API reference.
"""
from __future__ import annotations

import hashlib
import ipaddress
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from labsim.fakes.tools.gofmt import rfc3339nano

if TYPE_CHECKING:
    from labsim.fakes.cloud.world import CloudWorld

AUTO_TTL = 300
EDGE = [ipaddress.ip_network("104.21.0.0/16"), ipaddress.ip_network("172.67.0.0/16")]
NAME_SERVERS = ["ada.ns.cloudflare.com", "bob.ns.cloudflare.com"]


@dataclass
class Answer:
    name: str
    type: str
    value: str
    ttl: int


class Zone:
    def __init__(self, cloud: CloudWorld, spec: dict[str, Any] | None, *, seed: int, secret: Callable[[str], str]):
        self.cloud = cloud
        self.spec = spec or {}
        self.random = random.Random(f"zone:{seed}")
        self.name = str(self.spec.get("zone") or "")
        self.id = hashlib.md5(f"zone:{seed}:{self.name}".encode()).hexdigest()
        self.account_id = hashlib.md5(f"account:{seed}".encode()).hexdigest()
        self.records: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, str] = {}         # token value -> "edit" | "read"
        self.created = self.now()
        if spec:
            if spec.get("api_token"):
                self.tokens[secret(spec["api_token"])] = "edit"
            # the owner's own records, there before the lab (GitHub Pages at the apex, www to it), on names the lab
            # file does not claim: a lab whose round-robin name is `www` owns that name (its owner moved the site)
            claimed = {self.fqdn(str(r.get("name", ""))) for r in self.spec.get("records") or []}
            if self.name not in claimed:
                self.add({"name": self.name, "type": "A", "content": "185.199.108.153", "ttl": 1, "proxied": False,
                          "comment": None})
            if f"www.{self.name}" not in claimed:
                self.add({"name": f"www.{self.name}", "type": "CNAME", "content": self.name, "ttl": 1,
                          "proxied": True, "comment": None})

    def now(self) -> str:
        return rfc3339nano(self.cloud.clock.utcnow())

    def new_id(self) -> str:
        return "%032x" % self.random.getrandbits(128)

    def add(self, fields: dict[str, Any]) -> dict[str, Any]:
        now = self.now()
        rec = {"id": self.new_id(), "name": fields["name"], "type": fields["type"], "content": fields["content"],
               "proxiable": fields["type"] in ("A", "AAAA", "CNAME"), "proxied": bool(fields.get("proxied")),
               "ttl": int(fields.get("ttl") or 1), "settings": {}, "meta": {}, "comment": fields.get("comment"),
               "tags": list(fields.get("tags") or []), "created_on": now, "modified_on": now}
        if rec["comment"]:
            rec["comment_modified_on"] = now
        self.records[rec["id"]] = rec
        return rec

    def fqdn(self, name: str) -> str:
        """A name as the API stores it: `@` and relative names complete with the zone (lower case, no dot)."""
        name = name.strip().rstrip(".").lower()
        if name in ("@", "", self.name):
            return self.name
        return name if name.endswith("." + self.name) else f"{name}.{self.name}"

    # --- what a resolver gets ----------------------------------------------------------------------------------------
    def resolve(self, name: str, qtype: str = "A", depth: int = 0) -> list[Answer]:
        name = name.rstrip(".").lower()
        out: list[Answer] = []
        rows = [r for r in self.records.values() if r["name"] == name]
        for r in sorted(rows, key=lambda r: r["id"]):
            ttl = AUTO_TTL if r["ttl"] == 1 or r["proxied"] else int(r["ttl"])
            if r["proxied"] and qtype in ("A", "AAAA"):
                if qtype == "A":
                    for edge in self._edge(name):
                        out.append(Answer(name, "A", edge, AUTO_TTL))
                return out          # Cloudflare flattens proxied names (a CNAME too) to its own addresses
            if r["type"] == qtype:
                out.append(Answer(name, qtype, r["content"], ttl))
            elif r["type"] == "CNAME" and depth < 8:
                out.append(Answer(name, "CNAME", r["content"], ttl))
                out += self.resolve(r["content"], qtype, depth + 1)
        return out

    def _edge(self, name: str) -> list[str]:
        h = hashlib.sha256(name.encode()).digest()
        return [str(EDGE[0].network_address + (h[0] << 8 | h[1])), str(EDGE[1].network_address + (h[2] << 8 | h[3]))]

    def owns(self, name: str) -> bool:
        name = name.rstrip(".").lower()
        return bool(self.name) and (name == self.name or name.endswith("." + self.name))
