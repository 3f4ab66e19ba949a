"""Clients on the internet using the round-robin name, as a browser or an API client does: resolve the name (a
stub resolver that keeps an answer for its TTL, as the OS and browsers cache it), take the addresses in turn, and
send one HTTPS request per interval to the address it picked, with the name as SNI and Host. Each request's outcome
is kept with its time, so a scenario can say when clients failed and when they stopped failing.

DNS goes through dnspython to the target's resolver (the system's against a real lab, the zone's nameserver in the
simulator); TCP through the target's dialer; waits through the target's clock.
"""
from __future__ import annotations

import http.client
import socket
import ssl
from dataclasses import dataclass, field

import dns.exception
import dns.resolver


@dataclass
class Outcome:
    t: float
    address: str | None
    status: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and self.status < 500


@dataclass
class CachingResolver:
    resolver_at: tuple[str, int] | None
    clock: object
    cache: dict[str, tuple[float, list[str]]] = field(default_factory=dict)
    lookups: int = 0

    def resolve(self, name: str) -> list[str]:
        now = self.clock.now()
        hit = self.cache.get(name)
        if hit is not None and now < hit[0]:
            return hit[1]
        r = dns.resolver.Resolver(configure=self.resolver_at is None)
        if self.resolver_at is not None:
            r.nameservers, r.port = [self.resolver_at[0]], self.resolver_at[1]
        r.cache = None       # this object is the cache, on the target's clock
        self.lookups += 1
        try:
            ans = r.resolve(name, "A", lifetime=5.0)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            self.cache[name] = (now + 60, [])
            return []
        except dns.exception.DNSException:
            return hit[1] if hit else []
        addrs = sorted(a.address for a in ans)
        self.cache[name] = (now + ans.rrset.ttl, addrs)
        return addrs


def request(dialer, tls: ssl.SSLContext, address: str, host: str, path: str, port: int = 443,
            timeout: float = 5.0) -> tuple[int | None, str | None]:
    try:
        sock = dialer.connect(address, port)
        sock.settimeout(timeout)
        try:
            s = tls.wrap_socket(sock, server_hostname=host)
            conn = http.client.HTTPConnection(host, port, timeout=timeout)
            conn.sock = s
            conn.request("GET", path, headers={"Host": host, "User-Agent": "labsim-client", "Connection": "close"})
            resp = conn.getresponse()
            resp.read()
            return resp.status, None
        finally:
            sock.close()
    except ssl.SSLError as exc:
        return None, f"TLS: {exc.reason or exc}"
    except (socket.timeout, TimeoutError):
        return None, "timed out"
    except ConnectionRefusedError:
        return None, "connection refused"
    except (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected):
        return None, "connection reset"
    except OSError as exc:
        return None, exc.strerror or str(exc)


@dataclass
class Clients:
    """`n` clients, each with its own resolver cache, taking turns through the answers."""

    host: str
    ctx: object
    n: int = 3
    path: str = "/"
    outcomes: list[Outcome] = field(default_factory=list)

    def __post_init__(self) -> None:
        at = self.ctx.resolver.nameserver
        self.resolvers = [CachingResolver(at, self.ctx.clock) for _ in range(self.n)]
        self.turn = [i for i in range(self.n)]

    def tick(self) -> list[Outcome]:
        out = []
        now = self.ctx.clock.now()
        for i, r in enumerate(self.resolvers):
            addrs = r.resolve(self.host)
            if not addrs:
                out.append(Outcome(now, None, None, "no address for the name"))
                continue
            address = addrs[self.turn[i] % len(addrs)]
            self.turn[i] += 1
            status, err = request(self.ctx.dialer, self.ctx.tls, address, self.host, self.path)
            out.append(Outcome(now, address, status, err))
        self.outcomes += out
        return out

    def run(self, seconds: float, interval: float = 1.0) -> list[Outcome]:
        """Requests every `interval` for `seconds` of the target's clock."""
        end = self.ctx.clock.now() + seconds
        out = []
        while self.ctx.clock.now() < end:
            out += self.tick()
            self.ctx.clock.sleep(interval)
        return out


def failures(outcomes: list[Outcome]) -> list[Outcome]:
    return [o for o in outcomes if not o.ok]
