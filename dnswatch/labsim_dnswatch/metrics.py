"""Prometheus metrics (one registry per watcher) and the HTTP endpoint that serves them with /healthz.

    dnswatch_probes_total{node,result}            probes by outcome (ok | failed)
    dnswatch_probe_duration_seconds{node}         how long a probe took
    dnswatch_node_healthy{node}                   1 while the node belongs in the record set
    dnswatch_records{name}                        A records the name holds now (the watcher's own)
    dnswatch_record_changes_total{action}         add | remove (dry-run: would_add | would_remove)
    dnswatch_last_record_kept                     1 while every node is out and the last record is kept
    dnswatch_cycle_errors_total{stage}            kubernetes | dns | probe
    dnswatch_last_cycle_timestamp_seconds         end of the last completed cycle
"""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.probes = Counter("dnswatch_probes", "Ingress probes by outcome", ["node", "result"], registry=r)
        self.probe_seconds = Histogram("dnswatch_probe_duration_seconds", "Time a probe took", ["node"], registry=r,
                                       buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10))
        self.healthy = Gauge("dnswatch_node_healthy", "1 while the node belongs in the record set", ["node"],
                             registry=r)
        self.records = Gauge("dnswatch_records", "A records the round-robin name holds", ["name"], registry=r)
        self.changes = Counter("dnswatch_record_changes", "Record changes", ["action"], registry=r)
        self.kept = Gauge("dnswatch_last_record_kept", "1 while every node is out and the last record is kept",
                          registry=r)
        self.errors = Counter("dnswatch_cycle_errors", "Cycles that failed, by stage", ["stage"], registry=r)
        self.last_cycle = Gauge("dnswatch_last_cycle_timestamp_seconds", "End of the last completed cycle",
                                registry=r)

    def text(self) -> bytes:
        return generate_latest(self.registry)


class MetricsServer:
    """`/metrics` (Prometheus text format) and `/healthz` (200 once a cycle completed recently, else 503)."""

    def __init__(self, metrics: Metrics, port: int, healthy, host: str = "0.0.0.0"):
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:   # quiet: scrapes every few seconds
                pass

            def do_GET(self) -> None:
                if self.path.split("?")[0] == "/metrics":
                    body, ctype, code = owner.metrics.text(), CONTENT_TYPE_LATEST, 200
                elif self.path.split("?")[0] in ("/healthz", "/readyz"):
                    ok, why = owner.healthy()
                    body, ctype, code = (why + "\n").encode(), "text/plain; charset=utf-8", 200 if ok else 503
                else:
                    body, ctype, code = b"not found\n", "text/plain; charset=utf-8", 404
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.metrics = metrics
        self.healthy = healthy
        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True, name="dnswatch-metrics")

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    def start(self) -> MetricsServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
