"""Watching the round-robin name while the lab changes: clients on the internet send requests every second, the
name's records at Cloudflare are read every few seconds, and (when asked) one worker's ingress is probed directly
as the watcher probes it. The timeline says when each record went and came back, when the worker answered again,
and which requests failed when; the checks below turn it into results. Everything is read-only.
"""
from __future__ import annotations

import re

from dataclasses import dataclass, field

from labsim.provisioners.cloud import clients as CL
from labsim.provisioners.cloud import watcher as W
from labsim.provisioners.vocabulary import Result


@dataclass
class Timeline:
    start: float
    records: list[tuple[float, dict[str, str]]] = field(default_factory=list)     # (t, node -> address)
    outcomes: list[CL.Outcome] = field(default_factory=list)
    probes: list[tuple[float, bool, str]] = field(default_factory=list)            # (t, ok, detail) of one worker

    def first_without(self, node: str, after: float) -> float | None:
        return next((t for t, recs in self.records if t >= after and node not in recs), None)

    def first_with(self, node: str, after: float) -> float | None:
        return next((t for t, recs in self.records if t >= after and node in recs), None)

    def counts(self, after: float = 0.0) -> list[int]:
        return [len(recs) for t, recs in self.records if t >= after]

    def as_evidence(self) -> dict:
        return {"start": self.start,
                "records": [{"t": round(t - self.start, 1), "records": recs} for t, recs in self.records],
                "failed requests": [{"t": round(o.t - self.start, 1), "address": o.address, "status": o.status,
                                     "error": o.error} for o in self.outcomes if not o.ok],
                "requests": len(self.outcomes),
                "probes": [{"t": round(t - self.start, 1), "ok": ok, "detail": d} for t, ok, d in self.probes]}


def watch(lab, ctx, seconds: float, *, clients: CL.Clients | None = None, timeline: Timeline | None = None,
          every: float = 5.0, probe: tuple[str, str] | None = None, until=None) -> Timeline:
    """Run for `seconds` of the target's clock: a tick of the clients each second, the records every `every`
    seconds, and `probe` = (node, public address) probed each second. Stops early when `until(timeline)`."""
    clock = ctx.clock
    tl = timeline or Timeline(clock.now())
    host = lab.dns.failover.host or lab.dns.fqdn(lab.dns.failover.record)
    end = clock.now() + seconds
    last_read = None
    while clock.now() < end:
        now = clock.now()
        if last_read is None or now - last_read >= every:
            tl.records.append((now, W.records(lab, ctx)))
            last_read = now
            if until is not None and until(tl):
                break
        if clients is not None:
            tl.outcomes += clients.tick()
        if probe is not None:
            status, err = CL.request(ctx.dialer, ctx.tls, probe[1], host, lab.dns.failover.path)
            tl.probes.append((now, status is not None and status < 500, err or f"HTTP {status}"))
        clock.sleep(1.0)
    return tl


def seconds(text: str) -> float:
    m = re.fullmatch(r"(\d+)(ms|s|m|h)", text)
    assert m, text
    return int(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[m.group(2)]


def detection_budget(lab) -> float:
    """How long the watcher may take to take a dead worker's record away: N probes `interval` apart, the last one
    timing out, plus the interval the first failure may wait for (its cycle)."""
    fo = lab.dns.failover
    return fo.unstable_after * seconds(fo.interval) + seconds(fo.timeout)


def ttl_of(lab) -> int:
    rec = lab.dns.record(lab.dns.failover.record)
    return 300 if rec.ttl == 1 else rec.ttl


# --- the checks ------------------------------------------------------------------------------------------------------
def removed_within(lab, tl: Timeline, node: str, off_at: float) -> Result:
    gone = tl.first_without(node, off_at)
    budget = detection_budget(lab)
    ok = gone is not None and gone - off_at <= budget + 5.0      # +5: the records are read every 5 s
    return Result("record-removed", node, ok,
                  f"record gone {gone - off_at:.0f}s after the power-off (budget {budget:g}s)" if gone is not None
                  else f"still in the record set {tl.records[-1][0] - off_at:.0f}s after the power-off",
                  {"timeline": tl.as_evidence()})


def no_failures_after_ttl(lab, tl: Timeline, node: str, off_at: float) -> list[Result]:
    gone = tl.first_without(node, off_at)
    if gone is None:
        since = [o for o in tl.outcomes if o.t >= off_at]
        return [Result("clients-after-ttl", node, False, f"the record was never removed: "
                       f"{sum(not o.ok for o in since)} of {len(since)} requests since the power-off failed",
                       {"timeline": tl.as_evidence()})]
    ttl = ttl_of(lab)
    later = [o for o in tl.outcomes if o.t > gone + ttl]
    bad = [o for o in later if not o.ok]
    before = [o for o in tl.outcomes if off_at <= o.t <= gone + ttl and not o.ok]
    return [Result("clients-after-ttl", node, bool(later) and not bad,
                   (f"{len(later)} requests after the TTL ({ttl}s) since the removal, none failed; {len(before)} failed "
                    f"before (cached answers)") if later and not bad else
                   (f"{len(bad)} of {len(later)} requests failed more than {ttl}s after the removal: "
                    f"{[(round(o.t - gone), o.address, o.error or o.status) for o in bad[:5]]}" if later else
                    "no request was sent after the TTL: nothing was checked"),
                   {"timeline": tl.as_evidence()})]


def regained_after(lab, tl: Timeline, node: str, on_at: float) -> list[Result]:
    fo = lab.dns.failover
    back = tl.first_with(node, on_at)
    first_ok = next((t for t, ok, _ in tl.probes if t >= on_at and ok), None)
    if back is None:
        return [Result("record-regained", node, False, "the record did not come back" +
                       (f" (the worker answered from {first_ok - on_at:.0f}s after the power-on)" if first_ok else
                        " (the worker never answered a probe)"), {"timeline": tl.as_evidence()})]
    interval = seconds(fo.interval)
    floor = first_ok + (fo.recover_after - 1) * interval - 5.0 if first_ok is not None else None
    soon = floor is not None and back < floor
    return [Result("record-regained", node, not soon,
                   f"back {back - on_at:.0f}s after the power-on; the worker answered from "
                   f"{(first_ok - on_at) if first_ok is not None else float('nan'):.0f}s: "
                   + (f"sooner than {fo.recover_after} good probes {fo.interval} apart allow" if soon
                      else f"after {fo.recover_after} good probes"), {"timeline": tl.as_evidence()})]
