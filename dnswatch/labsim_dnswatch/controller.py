"""One watcher: each cycle it reads the candidate Nodes and the watched Ingresses, reads its records at Cloudflare,
probes every candidate's ingress, lets the engine decide, and makes the record set match, writing a log line and an
Event on each Ingress for every change. Between cycles it waits `probe.interval`, or less when a watch sees a
Node's readiness or an Ingress change.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from labsim_dnswatch.clock import Clock
from labsim_dnswatch.config import Settings
from labsim_dnswatch.decide import Decision, Engine, Observation
from labsim_dnswatch.dnsapi import DnsError, Record, Records
from labsim_dnswatch.kube import IngressRef, Kube
from labsim_dnswatch.metrics import Metrics
from labsim_dnswatch.probe import Prober, ProbeResult

EVENT_REASONS = {"add": ("Normal", "DNSRecordAdded"), "remove": ("Warning", "DNSRecordRemoved"),
                 "keep-last": ("Warning", "DNSLastRecordKept")}


@dataclass
class CycleReport:
    decision: Decision | None = None
    probes: dict[str, ProbeResult] = field(default_factory=dict)
    applied: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class Controller:
    def __init__(self, settings: Settings, kube: Kube, records: Records, prober: Prober, clock: Clock,
                 log: logging.Logger, metrics: Metrics | None = None):
        self.settings = settings
        self.kube = kube
        self.records = records
        self.prober = prober
        self.clock = clock
        self.log = log
        self.metrics = metrics or Metrics()
        self.engine = Engine(unstable_after=settings.unstable_after, window=settings.window,
                             recover_after=settings.recover_after)
        self.wake = threading.Event()
        self.stop = threading.Event()
        self.cycles = 0
        self.last_ok: float | None = None
        self._warned: set[str] = set()

    # --- the loop ------------------------------------------------------------------------------------------------
    def run(self) -> None:
        s = self.settings
        self.log.info("watching %s (zone %s): probing %s://<node>:%d%s with host %s every %gs; out after %d failed "
                      "probes within %gs or NotReady, back after %d good probes%s", s.record, s.zone, s.probe.scheme,
                      s.probe.target_port, s.probe.path, s.probe_host, s.probe.interval, s.unstable_after, s.window,
                      s.recover_after, " (dry run: no change is made)" if s.dry_run else "")
        if s.watch:
            self.kube.watch(self.wake, self.stop)
        try:
            while not self.stop.is_set():
                self.cycle()
                self.clock.wait(s.probe.interval, self.wake)
        finally:   # SIGTERM, or the clock ending the process: the watches end with it
            self.wake.set()
            if s.watch:
                self.kube.close(self.stop)

    def healthy(self) -> tuple[bool, str]:
        if self.last_ok is None:
            return False, "no cycle has completed yet"
        age = self.clock.now() - self.last_ok
        limit = 3 * self.settings.probe.interval + self.settings.probe.timeout + 30
        return (age <= limit, f"last cycle {age:.0f}s ago")

    # --- one cycle -----------------------------------------------------------------------------------------------
    def cycle(self) -> CycleReport:
        report = CycleReport()
        self.cycles += 1
        now = self.clock.now()
        try:
            nodes = self.kube.nodes()
            ingresses = self.kube.ingresses()
        except Exception as exc:  # noqa: BLE001 - the API server may be away; try again next cycle, change nothing
            return self._failed(report, "kubernetes", f"cannot read Nodes and Ingresses: {exc}")
        try:
            records = self.records.list()
        except DnsError as exc:
            return self._failed(report, "dns", str(exc))
        ours = {r.node: r for r in records if r.node}
        foreign = [r for r in records if not r.node]
        if foreign and "foreign" not in self._warned:
            self._warned.add("foreign")
            self.log.info("%s also has %d record(s) the watcher does not own (no '%s: <node>' comment): left alone",
                          self.settings.record, len(foreign), self.settings.owner)
        if not ingresses and "no-ingress" not in self._warned:
            self._warned.add("no-ingress")
            self.log.warning("no Ingress serves host %s: probes still run, Events have nowhere to go",
                             self.settings.probe_host)
        targets = {n.name: n.address for n in nodes if n.address}
        for n in nodes:
            if not n.address and f"addr:{n.name}" not in self._warned:
                self._warned.add(f"addr:{n.name}")
                self.log.warning("node %s has no ExternalIP and no entry in addresses: it is not probed", n.name)
        report.probes = self.prober.all({n: a for n, a in targets.items() if n in {x.name for x in nodes if x.ready}}
                                        | {n: a for n, a in targets.items() if n in ours})
        for name, res in report.probes.items():
            self.metrics.probes.labels(name, "ok" if res.ok else "failed").inc()
            self.metrics.probe_seconds.labels(name).observe(res.seconds)
            if not res.ok:
                self.log.debug("probe %s (%s) failed: %s", name, res.address, res.detail)
        observations = [Observation(n.name, n.ready, report.probes[n.name].ok if n.name in report.probes else None,
                                    report.probes[n.name].detail if n.name in report.probes else "")
                        for n in nodes if n.address]
        decision = self.engine.step(now, observations, set(ours))
        report.decision = decision
        addresses = {n.name: n.address for n in nodes if n.address}
        self._apply(decision, ours, addresses, ingresses, report)
        for name, st in self.engine.nodes.items():
            self.metrics.healthy.labels(name).set(1 if st.serving else 0)
        self.metrics.kept.set(1 if decision.kept else 0)
        self.last_ok = self.clock.now()
        self.metrics.last_cycle.set(self.clock.utcnow().timestamp())
        return report

    def _apply(self, decision: Decision, ours: dict[str, Record], addresses: dict[str, str],
               ingresses: list[IngressRef], report: CycleReport) -> None:
        s = self.settings
        held = set(ours)
        for ch in decision.changes:
            if ch.action == "keep-last":
                self._tell(ingresses, ch.action, f"{s.record}: {ch.reason}", report)
                continue
            if ch.action == "add":
                address = addresses.get(ch.node)
                if address is None:
                    continue
                msg = f"{s.record} A {address} ({ch.node}) added: {ch.reason}"
                if s.dry_run:
                    self.metrics.changes.labels("would_add").inc()
                    self.log.info("dry run: would add %s A %s (%s): %s", s.record, address, ch.node, ch.reason)
                    continue
                try:
                    self.records.add(ch.node, address)
                except DnsError as exc:
                    self._failed(report, "dns", str(exc))
                    continue
                held.add(ch.node)
            else:
                rec = ours.get(ch.node)
                if rec is None:
                    continue
                if len(held) <= 1:     # the engine never asks for this; a guard against a record that vanished
                    continue
                msg = f"{s.record} A {rec.content} ({ch.node}) removed: {ch.reason}"
                if s.dry_run:
                    self.metrics.changes.labels("would_remove").inc()
                    self.log.info("dry run: would remove %s A %s (%s): %s", s.record, rec.content, ch.node, ch.reason)
                    continue
                try:
                    self.records.remove(rec)
                except DnsError as exc:
                    self._failed(report, "dns", str(exc))
                    continue
                held.discard(ch.node)
            self.metrics.changes.labels(ch.action).inc()
            self._tell(ingresses, ch.action, msg, report)
        self.metrics.records.labels(s.record).set(len(held))

    def _tell(self, ingresses: list[IngressRef], action: str, message: str, report: CycleReport) -> None:
        level = logging.WARNING if action != "add" else logging.INFO
        self.log.log(level, message)
        report.applied.append(message)
        if self.settings.dry_run:
            return
        kind, reason = EVENT_REASONS[action]
        for ing in ingresses:
            self.kube.event(ing, kind, reason, message, self.clock.utcnow())

    def _failed(self, report: CycleReport, stage: str, message: str) -> CycleReport:
        self.metrics.errors.labels(stage).inc()
        self.log.error("cycle %d: %s", self.cycles, message)
        report.errors.append(message)
        return report
