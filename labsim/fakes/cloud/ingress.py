"""Each cloud server's public HTTPS (TCP 443), as the internet reaches it: one TLS listener on 127.0.0.1 per public
address (`listeners()`: "95.216.12.34:443" -> ("127.0.0.1", port)), deciding on every connection from the world as
it is at that instant:

- the server is off, or its firewall drops TCP 443 from the internet: the connection is reset at once (a real
  client would wait for its timeout instead; the probe and the clients count both as a failed request, and the
  simulated lab does not spend real seconds waiting);
- no ingress controller listens there (no Running pod on the node with an image of Traefik and a hostPort 443, or
  host networking): reset, as a live host without a listener answers;
- else TLS (a certificate of the lab CA for the zone and its subdomains) and one HTTP request, routed as Traefik's
  Kubernetes Ingress provider routes it: the Ingress rules of class `traefik` (or no class) by host (exact or
  `*.`) and path (Prefix / Exact), to the Service's ready endpoints, one after another. No rule: 404
  `404 page not found`; no ready endpoint: 503 `no available server`; the chosen endpoint's node down: 502
  `Bad Gateway`; else 200 with what traefik/whoami prints. (Texts: Traefik v3's own.)
"""
from __future__ import annotations

import itertools
import socket
import socketserver
import ssl
import struct
import threading
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from labsim.fakes.cloud.machine import CloudMachine
    from labsim.fakes.cloud.world import CloudWorld

INTERNET_CLIENT = "203.0.113.50"      # where an anonymous internet client comes from (TEST-NET-3)
# locate(machine) -> (KubeCluster, node name, node up) for a machine that runs a Kubernetes node, else None
Locator = Callable[["CloudMachine"], "tuple[Any, str, bool] | None"]


def _reset(sock: socket.socket) -> None:
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


class NodeIngress:
    def __init__(self, cloud: CloudWorld, locate: Locator, tls: ssl.SSLContext, host: str = "127.0.0.1"):
        self.cloud = cloud
        self.locate = locate
        self.tls = tls
        self.host = host
        self.lock = cloud.clock.lock
        self._servers: dict[str, socketserver.ThreadingTCPServer] = {}
        self._rr = itertools.count()
        self.requests: list[tuple[float, str, str, int]] = []     # (time, public address, host, status)
        self._mutex = threading.Lock()

    def listeners(self) -> dict[str, tuple[str, int]]:
        with self._mutex:
            return {f"{ip}:443": (self.host, srv.server_address[1]) for ip, srv in self._servers.items()}

    def ensure(self, m: CloudMachine) -> None:
        with self._mutex:
            if m.public_ipv4 in self._servers:
                return
            owner, ip = self, m.public_ipv4

            class Handler(socketserver.BaseRequestHandler):
                def handle(self) -> None:
                    owner._serve(ip, self.request)

            class Server(socketserver.ThreadingTCPServer):
                daemon_threads = True
                allow_reuse_address = True

                def handle_error(self, request, client_address):
                    pass

                def shutdown_request(self, request):     # _serve closes (or resets) the socket itself
                    pass

            srv = Server((self.host, 0), Handler)
            threading.Thread(target=srv.serve_forever, daemon=True, name=f"labsim-ingress-{ip}").start()
            self._servers[ip] = srv

    def stop(self) -> None:
        with self._mutex:
            for srv in self._servers.values():
                srv.shutdown()
                srv.server_close()
            self._servers.clear()

    # --- one connection ---------------------------------------------------------------------------------------------
    def _serve(self, ip: str, sock: socket.socket) -> None:
        with self.lock:
            m = self.cloud.machine_at(ip)
            ok = m is not None and self.cloud.refusal(ip, 443, "tcp", INTERNET_CLIENT) is None \
                and self._controller(m) is not None
        if not ok:
            _reset(sock)
            return
        try:
            sock.settimeout(10.0)
            tls = self.tls.wrap_socket(sock, server_side=True)
        except (OSError, ssl.SSLError):
            _reset(sock)
            return
        try:
            _Http(tls, ("internet", 0), self, ip)
        except (OSError, ssl.SSLError):
            pass
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def _controller(self, m: CloudMachine) -> tuple[Any, str] | None:
        found = self.locate(m)
        if found is None:
            return None
        kube, node, up = found
        if not up:
            return None
        for pod in kube.select(kube.rtype("pods"), None):
            spec = pod.get("spec") or {}
            if spec.get("nodeName") != node or (pod.get("status") or {}).get("phase") != "Running":
                continue
            for c in spec.get("containers") or []:
                if "traefik" not in str(c.get("image", "")):
                    continue
                if spec.get("hostNetwork") or any(p.get("hostPort") == 443 for p in c.get("ports") or []):
                    return kube, node
        return None

    def route(self, ip: str, host: str, path: str) -> tuple[int, str]:
        """What Traefik on the node at `ip` answers for `host` + `path`: (status, body)."""
        with self.lock:
            m = self.cloud.machine_at(ip)
            found = self._controller(m) if m is not None else None
            if found is None:
                return 502, "Bad Gateway"
            kube, _ = found
            backend = self._match(kube, host, path)
            if backend is None:
                return 404, "404 page not found\n"
            ns, svc, port = backend
            ready = []
            for sl in kube.select(kube.rtype("endpointslices.discovery.k8s.io"), ns,
                                  labels={"kubernetes.io/service-name": svc}):
                for ep in sl.get("endpoints") or []:
                    if (ep.get("conditions") or {}).get("ready"):
                        ready.append(ep)
            if not ready:
                return 503, "no available server"
            ep = ready[next(self._rr) % len(ready)]
            node_up = True
            if ep.get("nodeName"):
                node_up = self._node_up(kube, ep["nodeName"])
            if not node_up:
                return 502, "Bad Gateway"
            pod = (ep.get("targetRef") or {}).get("name", "whoami")
            return 200, (f"Hostname: {pod}\nIP: 127.0.0.1\nIP: {ep['addresses'][0]}\nRemoteAddr: {INTERNET_CLIENT}:"
                         f"40000\nGET {path} HTTP/1.1\nHost: {host}\n")

    def _node_up(self, kube, node: str) -> bool:
        for m in self.cloud.machines.values():
            found = self.locate(m)
            if found is not None and found[0] is kube and found[1] == node:
                return found[2]
        return True

    @staticmethod
    def _match(kube, host: str, path: str) -> tuple[str, str, Any] | None:
        best: tuple[int, tuple[str, str, Any]] | None = None
        for ing in kube.select(kube.rtype("ingresses.networking.k8s.io"), None):
            spec = ing.get("spec") or {}
            if spec.get("ingressClassName") not in (None, "traefik"):
                continue
            ns = ing["metadata"]["namespace"]
            for rule in spec.get("rules") or []:
                rh = rule.get("host")
                if rh and not (rh == host or rh.startswith("*.") and host.endswith(rh[1:]) and
                               host.count(".") == rh.count(".")):
                    continue
                for p in (rule.get("http") or {}).get("paths") or []:
                    want = p.get("path") or "/"
                    kind = p.get("pathType", "Prefix")
                    hit = path == want if kind == "Exact" else \
                        path == want or path.startswith(want.rstrip("/") + "/") or want == "/"
                    if not hit:
                        continue
                    svc = (p.get("backend") or {}).get("service") or {}
                    score = len(want) + (1000 if rh else 0)
                    if best is None or score > best[0]:
                        best = (score, (ns, svc.get("name", ""), svc.get("port")))
            default = (spec.get("defaultBackend") or {}).get("service")
            if best is None and default:
                best = (0, (ns, default.get("name", ""), default.get("port")))
        return best[1] if best else None


class _Http(BaseHTTPRequestHandler):
    """One request on the node's port 443 (Traefik closes after answering when asked to)."""

    protocol_version = "HTTP/1.1"
    server_version = ""

    def __init__(self, sock, addr, ingress: NodeIngress, ip: str):
        self.ingress, self.ip = ingress, ip
        super().__init__(sock, addr, None)   # type: ignore[arg-type]

    def log_message(self, *args: Any) -> None:
        pass

    def version_string(self) -> str:
        return ""

    def do_GET(self) -> None:
        host = (self.headers.get("Host") or "").split(":")[0].lower()
        status, body = self.ingress.route(self.ip, host, self.path.split("?")[0])
        with self.ingress._mutex:
            self.ingress.requests.append((self.ingress.cloud.clock.now(), self.ip, host, status))
            del self.ingress.requests[:-10000]
        data = body.encode()
        self.close_connection = True       # one request per connection: the next one sees the node as it is then
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_HEAD = do_POST = do_GET
