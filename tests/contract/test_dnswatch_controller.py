"""The failover watcher's real entry point (labsim_dnswatch.__main__.main) against a Kubernetes API server (the kube
fake over TLS, a service-account-like token), the Cloudflare face through the official client, and two HTTPS
ingresses standing for the workers' public addresses (reached with --connect-to), on a virtual clock: every cycle a
turn of the simulation (labsim/fakes/cloud/pods.py TurnClock). What it changes is read back with the official
Cloudflare client and the kubernetes client; its metrics are scraped over HTTP."""
from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
import yaml

from labsim.fakes.clock import VirtualClock
from labsim.fakes.cloud.pods import Stopped, TurnClock
from labsim.fakes.cloud.testing import start_clouds
from labsim.fakes.kube import KubeCluster, KubeServer
from labsim.fakes.pki import CA

ZONE = "example.dev"
RAW = {"dns": {"provider": "cloudflare", "zone": ZONE, "api_token": "env:CF"}}
WORKERS = {"w1": "203.0.113.1", "w2": "203.0.113.2"}


class Ingress:
    """One worker's HTTPS: answers 404 (Traefik, no route for the path) while up, resets connections while down."""

    def __init__(self, ctx: ssl.SSLContext):
        owner = self
        self.up = True

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                self.send_response(404)
                self.send_header("Content-Length", "19")
                self.end_headers()
                self.wfile.write(b"404 page not found\n")

        class S(ThreadingHTTPServer):
            daemon_threads = True

            def get_request(self):
                sock, addr = super().get_request()
                if not owner.up:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    sock.close()
                    raise OSError("down")
                return ctx.wrap_socket(sock, server_side=True), addr

            def handle_error(self, *a):
                pass

        self.srv = S(("127.0.0.1", 0), H)
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    @property
    def port(self) -> int:
        return self.srv.server_address[1]


@contextlib.contextmanager
def running_watcher(tmp_path: Path, *, dry_run: bool = False):
    with start_clouds(RAW, secrets={"env:CF": "cf" + "B" * 38}) as clouds:
        clock = VirtualClock()
        ca = CA.generate("watcher test CA")
        kube = KubeCluster("c1", clock)
        server = KubeServer(kube, ca=ca).start()
        with clock.lock:
            kube.register_node("cp", addresses=[("InternalIP", "100.64.0.1")], control_plane=True, ready=True)
            for n in WORKERS:
                kube.register_node(n, addresses=[("InternalIP", f"100.64.0.{n[1]}0")], ready=True)
            kube.create("namespaces", {"metadata": {"name": "app"}})
            kube.create("ingresses.networking.k8s.io", {"metadata": {"name": "web", "namespace": "app"}, "spec": {
                "rules": [{"host": f"lb.{ZONE}", "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
                    "service": {"name": "web", "port": {"number": 80}}}}]}}]}}, "app")
        ing_ctx = ca.issue_server_cert([f"lb.{ZONE}"]).server_context()
        ingresses = {n: Ingress(ing_ctx) for n in WORKERS}
        cf = clouds.cloudflare(token=clouds.secrets["env:CF"])
        zid = next(iter(cf.zones.list(name=ZONE))).id
        for n, ip in WORKERS.items():
            cf.dns.records.create(zone_id=zid, name="lb", type="A", content=ip, ttl=60, comment=f"labsim-dnswatch: {n}")
        bundle = tmp_path / "ca.pem"
        bundle.write_bytes(Path(ca.cert_path).read_bytes() + Path(clouds.ca.cert_path).read_bytes())
        kc = tmp_path / "kubeconfig"
        server.kubeconfig(kc, "system:serviceaccount:dnswatch:dnswatch", auth="token",
                          groups=("system:serviceaccounts", "system:authenticated"))
        cfg = tmp_path / "config.yaml"
        cfg.write_text(yaml.safe_dump({"record": "lb", "zone": ZONE, "ttl": 60, "addresses": WORKERS,
                                       "probe": {"interval": "10s", "timeout": "3s"},
                                       "unstable_after": 3, "window": "60s", "recover_after": 2}))
        args = ["--config", str(cfg), "--kubeconfig", str(kc), "--metrics-address", "127.0.0.1:0"]
        for n, ip in WORKERS.items():
            args += ["--connect-to", f"{ip}:443:127.0.0.1:{ingresses[n].port}"]
        if dry_run:
            args.append("--dry-run")
        env = {"CLOUDFLARE_API_TOKEN": clouds.secrets["env:CF"], "CLOUDFLARE_BASE_URL":
               clouds.endpoints["cloudflare"]["url"], "SSL_CERT_FILE": str(bundle)}
        turn = TurnClock(clock, lambda: True)
        log = logging.getLogger(f"test.dnswatch.{tmp_path.name}")
        log.propagate = False
        lines: list[str] = []

        class Keep(logging.Handler):
            def emit(self, record):
                lines.append(record.getMessage())
        log.handlers[:] = [Keep()]
        seen: dict = {}

        def started(controller, metrics):
            seen["controller"], seen["metrics"] = controller, metrics
            turn.first_turn()

        def run():
            from labsim_dnswatch.__main__ import main
            try:
                seen["rc"] = main(args, environ=env, clock=turn, log=log, started=started)
            except Stopped:
                pass
            finally:
                turn.stop()
        turn.schedule(clock.now())
        t = threading.Thread(target=run, daemon=True)
        t.start()

        def owned() -> dict[str, str]:
            return {r.comment.split(": ", 1)[1]: r.content for r in cf.dns.records.list(zone_id=zid, name={
                "exact": f"lb.{ZONE}"}) if (r.comment or "").startswith("labsim-dnswatch: ")}
        ns = type("W", (), {})()
        ns.clock, ns.kube, ns.ingresses, ns.owned, ns.lines, ns.seen, ns.cf, ns.zid = \
            clock, kube, ingresses, owned, lines, seen, cf, zid
        try:
            clock.sleep(1)
            yield ns
        finally:
            turn.stop()
            t.join(timeout=10)
            for i in ingresses.values():
                i.srv.shutdown()
            server.stop()
            ca.cleanup()


def test_removes_a_failing_worker_returns_it_and_keeps_the_last(tmp_path) -> None:
    with running_watcher(tmp_path) as w:
        w.clock.sleep(30)
        assert w.owned() == WORKERS
        w.ingresses["w2"].up = False
        w.clock.sleep(40)
        assert w.owned() == {"w1": WORKERS["w1"]}
        assert any("(w2) removed: unstable: 3 failed probes within 60s (last: connection reset)" in ln
                   for ln in w.lines), w.lines
        with w.clock.lock:
            events = [e for e in w.kube.list("events", "app") if e["reason"] == "DNSRecordRemoved"]
        assert events and events[0]["involvedObject"]["kind"] == "Ingress" and events[0]["type"] == "Warning"
        w.ingresses["w2"].up = True
        w.clock.sleep(10)
        assert "w2" not in w.owned()                 # one good probe: not yet (recover_after 2)
        w.clock.sleep(10)
        assert w.owned() == WORKERS
        with w.clock.lock:
            w.kube.set_node_ready("w1", False)
        w.clock.sleep(10)
        assert w.owned() == {"w2": WORKERS["w2"]}    # NotReady: out at the next cycle
        w.ingresses["w2"].up = False
        w.clock.sleep(60)
        assert w.owned() == {"w2": WORKERS["w2"]}    # the last record stays
        assert any("every node is out" in ln and "keeping w2 as the last record" in ln for ln in w.lines), w.lines
        text = requests.get(f"http://127.0.0.1:{w.seen['metrics'].port}/metrics", timeout=5).text
        assert 'dnswatch_record_changes_total{action="remove"} 2.0' in text
        assert "dnswatch_last_record_kept 1.0" in text
        assert 'dnswatch_probes_total{node="w2",result="failed"}' in text
        health = requests.get(f"http://127.0.0.1:{w.seen['metrics'].port}/healthz", timeout=5)
        assert health.status_code == 200


def test_dry_run_changes_nothing_and_says_what_it_would_do(tmp_path) -> None:
    with running_watcher(tmp_path, dry_run=True) as w:
        w.ingresses["w1"].up = False
        w.clock.sleep(60)
        assert w.owned() == WORKERS
        assert any(ln.startswith("dry run: would remove lb.example.dev A 203.0.113.1 (w1)") for ln in w.lines), w.lines
        with w.clock.lock:
            assert [e for e in w.kube.list("events", "app") if e.get("source", {}).get("component") ==
                    "labsim-dnswatch"] == []


def test_records_it_does_not_own_are_left_alone(tmp_path) -> None:
    with running_watcher(tmp_path) as w:
        w.cf.dns.records.create(zone_id=w.zid, name="lb", type="A", content="198.51.100.77", ttl=60,
                                comment="set by hand")
        w.ingresses["w1"].up = False
        w.clock.sleep(60)
        contents = sorted(r.content for r in w.cf.dns.records.list(zone_id=w.zid, name={"exact": f"lb.{ZONE}"}))
        assert contents == ["198.51.100.77", WORKERS["w2"]]


def test_a_stopped_process_leaves_no_watch_behind(tmp_path) -> None:
    """The pod's process ends (deleted pod, SIGTERM, the lab stopping) while its watches are open on a quiet API
    server: its watch threads end with it, none is left blocked in a TLS read (where interpreter shutdown aborts)."""
    with running_watcher(tmp_path) as w:
        w.clock.sleep(30)
        watches = [t for t in threading.enumerate() if t.name.startswith("dnswatch-watch-")]
        assert len(watches) == 2, watches
        w.seen["controller"].stop.set()
        w.clock.sleep(10)      # its next turn sees the stop and the process returns
        for t in watches:
            t.join(timeout=10)
        assert [t.name for t in watches if t.is_alive()] == []
        assert w.seen.get("rc") == 0


@pytest.mark.parametrize("bad, message", [
    ({"record": "lb"}, "zone: missing"),
    ({"record": "lb", "zone": ZONE, "window": "5s", "probe": {"interval": "10s"}}, "window: 5s cannot hold"),
    ({"record": "lb", "zone": ZONE, "colour": "blue"}, "unknown setting: colour"),
])
def test_bad_settings_stop_it_with_one_message(tmp_path, bad, message) -> None:
    from labsim_dnswatch.__main__ import main
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump(bad))
    lines: list[str] = []
    log = logging.getLogger(f"test.bad.{tmp_path.name}")
    log.propagate = False

    class Keep(logging.Handler):
        def emit(self, record):
            lines.append(record.getMessage())
    log.handlers[:] = [Keep()]
    assert main(["--config", str(cfg)], environ={"CLOUDFLARE_API_TOKEN": "x"}, log=log) == 2
    assert any(message in ln for ln in lines), lines
