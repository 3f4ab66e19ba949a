"""Probing a worker's ingress the way a client reaches it: HTTP(S) to the node's public address, with the Ingress
host as TLS SNI and as the Host header, so the ingress controller routes it like a real request for that name.

A probe is good when the ingress answers with a status in `expect` (default 200-499: Traefik answers 404 for a
path no route matches, which still proves the ingress serves); a refused or reset connection, a timeout, a TLS
failure or a 5xx is a failed probe, with what happened in `detail`.
"""
from __future__ import annotations

import http.client
import socket
import ssl
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from labsim_dnswatch.config import Probe


@dataclass(frozen=True)
class ProbeResult:
    node: str
    address: str
    ok: bool
    status: int | None
    detail: str
    seconds: float


class Prober:
    def __init__(self, probe: Probe, host: str, *, connect_to: dict[tuple[str, int], tuple[str, int]] | None = None,
                 monotonic: Callable[[], float] = time.monotonic,
                 dial: Callable[[tuple[str, int], float], socket.socket] | None = None):
        self.probe = probe
        self.host = host
        self.connect_to = dict(connect_to or {})
        self.monotonic = monotonic
        self.dial = dial or (lambda addr, timeout: socket.create_connection(addr, timeout=timeout))
        self._tls: ssl.SSLContext | None = None
        if probe.scheme == "https":
            ctx = ssl.create_default_context(cafile=probe.ca_file) if probe.tls_verify else \
                ssl.create_default_context()
            if not probe.tls_verify:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            self._tls = ctx

    def one(self, node: str, address: str) -> ProbeResult:
        port = self.probe.target_port
        dial_host, dial_port = self.connect_to.get((address, port), (address, port))
        start = self.monotonic()
        status: int | None = None
        try:
            sock = self.dial((dial_host, dial_port), self.probe.timeout)
            try:
                if self._tls is not None:
                    sock = self._tls.wrap_socket(sock, server_hostname=self.host)
                conn = http.client.HTTPConnection(self.host, port, timeout=self.probe.timeout)
                conn.sock = sock
                conn.request("GET", self.probe.path, headers={"Host": self.host, "User-Agent": "labsim-dnswatch",
                                                              "Connection": "close"})
                resp = conn.getresponse()
                status = resp.status
                resp.read(65536)
            finally:
                sock.close()
        except ssl.SSLCertVerificationError as exc:
            return self._result(node, address, None, f"TLS: {exc.verify_message or exc}", start)
        except ssl.SSLError as exc:
            return self._result(node, address, None, f"TLS: {exc.reason or exc}", start)
        except (TimeoutError, socket.timeout):
            return self._result(node, address, None, f"timed out after {self.probe.timeout:g}s", start)
        except ConnectionRefusedError:
            return self._result(node, address, None, "connection refused", start)
        except (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected):
            return self._result(node, address, None, "connection reset", start)
        except OSError as exc:
            return self._result(node, address, None, exc.strerror or str(exc), start)
        except http.client.HTTPException as exc:
            return self._result(node, address, None, f"bad HTTP answer: {exc!r}", start)
        return self._result(node, address, status, f"HTTP {status}", start)

    def _result(self, node: str, address: str, status: int | None, detail: str, start: float) -> ProbeResult:
        lo, hi = self.probe.expect
        ok = status is not None and lo <= status <= hi
        return ProbeResult(node, address, ok, status, detail, max(0.0, self.monotonic() - start))

    def all(self, targets: dict[str, str]) -> dict[str, ProbeResult]:
        """Probe every node (name -> address) at once; each within the probe timeout."""
        if not targets:
            return {}
        with ThreadPoolExecutor(max_workers=min(16, len(targets)), thread_name_prefix="dnswatch-probe") as pool:
            futures = {n: pool.submit(self.one, n, a) for n, a in sorted(targets.items())}
            return {n: f.result() for n, f in futures.items()}
