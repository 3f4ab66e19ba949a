"""The round-robin records at Cloudflare, through the official `cloudflare` client (API v4).

The watcher reads every A record of its name (all pages), and touches only those whose comment says it owns them
(`<owner>: <node>`); records of the same name without that comment (someone else's) are counted, never changed.
"""
from __future__ import annotations

from dataclasses import dataclass

import cloudflare

from labsim_dnswatch.config import Settings


@dataclass(frozen=True)
class Record:
    id: str
    node: str | None          # the node it belongs to (None: not ours)
    content: str
    ttl: int
    proxied: bool


class DnsError(RuntimeError):
    """Cloudflare refused or did not answer: the message has its error codes and texts."""


def describe(exc: Exception) -> str:
    if isinstance(exc, cloudflare.APIStatusError):
        body = exc.body if isinstance(exc.body, dict) else {}
        errors = body.get("errors") or []
        text = "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors if isinstance(e, dict))
        return f"HTTP {exc.status_code}" + (f" ({text})" if text else "")
    if isinstance(exc, cloudflare.APIConnectionError):
        return f"cannot reach the Cloudflare API: {exc.__cause__ or exc}"
    return str(exc)


class Records:
    def __init__(self, client: cloudflare.Cloudflare, settings: Settings):
        self.client = client
        self.settings = settings
        self.zone_id = settings.zone_id

    def _zone(self) -> str:
        if self.zone_id is None:
            try:
                zones = [z for z in self.client.zones.list(name=self.settings.zone) if z.name == self.settings.zone]
            except cloudflare.APIError as exc:
                raise DnsError(f"looking up zone {self.settings.zone}: {describe(exc)}") from None
            if not zones:
                raise DnsError(f"zone {self.settings.zone} not found (or the token may not read it)")
            self.zone_id = zones[0].id
        return self.zone_id

    def list(self) -> list[Record]:
        zone = self._zone()
        try:
            page = self.client.dns.records.list(zone_id=zone, name={"exact": self.settings.record}, type="A",
                                                per_page=100)
            rows = list(page)          # the client follows result_info to every page
        except cloudflare.APIError as exc:
            raise DnsError(f"listing {self.settings.record}: {describe(exc)}") from None
        return [Record(r.id, self.settings.node_of(r.comment), r.content or "", int(r.ttl), bool(r.proxied))
                for r in rows if r.name == self.settings.record]

    def add(self, node: str, address: str) -> Record:
        try:
            r = self.client.dns.records.create(zone_id=self._zone(), name=self.settings.record, type="A",
                                               content=address, ttl=self.settings.ttl,
                                               proxied=self.settings.proxied, comment=self.settings.comment(node))
        except cloudflare.APIError as exc:
            raise DnsError(f"adding {self.settings.record} A {address} ({node}): {describe(exc)}") from None
        assert r is not None
        return Record(r.id, node, r.content or address, int(r.ttl), bool(r.proxied))

    def remove(self, record: Record) -> None:
        try:
            self.client.dns.records.delete(record.id, zone_id=self._zone())
        except cloudflare.NotFoundError:
            return            # gone already: what we wanted
        except cloudflare.APIError as exc:
            raise DnsError(f"removing {self.settings.record} A {record.content} ({record.node}): "
                           f"{describe(exc)}") from None
