"""`labsim-dnswatch [--config FILE] [--kubeconfig FILE] [--dry-run] [--once] [--connect-to H:P:H2:P2]`.

In a cluster it runs as its Deployment's container: settings from the ConfigMap mounted at /etc/dnswatch, the
Cloudflare token from the Secret (CLOUDFLARE_API_TOKEN), Kubernetes through the pod's service account. `main` takes
its environment, clock and clients as arguments, so a simulator can run the very same code as a simulated pod's
process (labsim/fakes/cloud/pods.py).
"""
from __future__ import annotations

import logging
import os
import signal
import ssl
import sys
from collections.abc import Mapping, Sequence

import cloudflare
import httpx
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from labsim_dnswatch import __version__
from labsim_dnswatch.clock import Clock, WallClock
from labsim_dnswatch.config import BASE_URL_ENV, TOKEN_ENV, ConfigError, Settings, load, parser
from labsim_dnswatch.controller import Controller
from labsim_dnswatch.dnsapi import Records
from labsim_dnswatch.kube import Kube
from labsim_dnswatch.metrics import Metrics, MetricsServer
from labsim_dnswatch.probe import Prober

SERVICE_ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"


def kube_client(kubeconfig: str | None) -> k8s.ApiClient:
    cfg = k8s.Configuration()
    if kubeconfig:
        k8s_config.load_kube_config(config_file=kubeconfig, client_configuration=cfg)
    else:
        k8s_config.load_incluster_config(client_configuration=cfg)
    return k8s.ApiClient(cfg)


def cloudflare_client(environ: Mapping[str, str]) -> cloudflare.Cloudflare:
    """The official client; SSL_CERT_FILE (from the watcher's own environment) names the CAs it trusts."""
    ca = environ.get("SSL_CERT_FILE")
    verify = ssl.create_default_context(cafile=ca) if ca else ssl.create_default_context()
    return cloudflare.Cloudflare(api_token=environ[TOKEN_ENV], base_url=environ.get(BASE_URL_ENV) or None,
                                 http_client=httpx.Client(verify=verify, timeout=20.0), max_retries=2)


def build(settings: Settings, *, api: k8s.ApiClient, cf: cloudflare.Cloudflare, clock: Clock,
          log: logging.Logger, environ: Mapping[str, str] | None = None, dial=None) -> Controller:
    if settings.probe.ca_file is None and environ and environ.get("SSL_CERT_FILE"):
        settings.probe.ca_file = environ["SSL_CERT_FILE"]      # the container's trust store
    prober = Prober(settings.probe, settings.probe_host, connect_to=settings.connect_to, monotonic=clock.now,
                    dial=dial)
    return Controller(settings, Kube(api, settings, log), Records(cf, settings), prober, clock, log, Metrics())


def main(argv: Sequence[str] | None = None, *, environ: Mapping[str, str] | None = None, clock: Clock | None = None,
         log: logging.Logger | None = None, started=None, dial=None) -> int:
    """Run the watcher. For a simulator: `started(controller, metrics_server)` is called once it runs, and `dial`
    ((host, port), timeout) -> socket stands for the pod's network."""
    environ = os.environ if environ is None else environ
    p = parser()
    p.add_argument("--metrics-address", default=None, metavar="HOST:PORT",
                   help="where /metrics and /healthz listen (default 0.0.0.0:<metrics_port>)")
    p.add_argument("--version", action="version", version=f"labsim-dnswatch {__version__}")
    args = p.parse_args(list(argv) if argv is not None else None)
    if log is None:
        logging.basicConfig(stream=sys.stdout, level=args.log_level,
                            format="%(asctime)s %(levelname)s %(message)s")
        log = logging.getLogger("labsim_dnswatch")
    log.setLevel(args.log_level)
    try:
        settings = load(args, environ)
    except ConfigError as exc:
        log.error("configuration: %s", exc)
        return 2
    clock = clock or WallClock()
    try:
        api = kube_client(args.kubeconfig)
    except Exception as exc:  # noqa: BLE001 - no service account, a bad kubeconfig: say which and stop
        log.error("kubernetes: %s", exc)
        return 2
    controller = build(settings, api=api, cf=cloudflare_client(environ), clock=clock, log=log, environ=environ,
                       dial=dial)
    server = None
    if args.once:
        report = controller.cycle()
        return 1 if report.errors else 0
    address = args.metrics_address or (f"0.0.0.0:{settings.metrics_port}" if settings.metrics_port else None)
    if address:
        host, _, port = address.rpartition(":")
        server = MetricsServer(controller.metrics, int(port), controller.healthy, host=host or "0.0.0.0").start()
    if threading_main():
        signal.signal(signal.SIGTERM, lambda *_: (controller.stop.set(), controller.wake.set()))
    if started is not None:
        started(controller, server)
    try:
        controller.run()
    finally:
        if server is not None:
            server.stop()
    return 0


def threading_main() -> bool:
    import threading
    return threading.current_thread() is threading.main_thread()


if __name__ == "__main__":
    sys.exit(main())
