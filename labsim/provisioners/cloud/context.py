"""What the cloud provisioners need from the target, in one place: the providers' clients, the tools, the clock and
the workdir. The target builds them (the simulator's faces or the real APIs); lab code cannot tell which."""
from __future__ import annotations

import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labsim.provisioners.clock import Clock
from labsim.provisioners.talos.cli import Tools
from labsim.provisioners.talos.context import TalosContext

# the providers' public APIs, where the lab file names none (`api:`)
HETZNER_API = "https://api.hetzner.cloud/v1"
TAILSCALE_API = "https://api.tailscale.com"
CLOUDFLARE_API = "https://api.cloudflare.com/client/v4"


@dataclass
class Dialer:
    """How lab code opens a TCP connection to a public address: straight there against a real lab; in the simulator
    through the loopback port that stands for it (`via()`: "ip:port" -> (host, port), read at each connection), and
    an address the simulated internet does not have is refused, never dialled for real."""

    via: Callable[[], dict[str, tuple[str, int]]] | None = None
    timeout: float = 5.0

    def connect(self, address: str, port: int) -> socket.socket:
        if self.via is None:
            return socket.create_connection((address, port), timeout=self.timeout)
        target = self.via().get(f"{address}:{port}")
        if target is None:
            raise ConnectionRefusedError(f"{address}:{port} is not on the simulated internet")
        return socket.create_connection(target, timeout=self.timeout)


@dataclass
class Resolver:
    """Where lab code asks DNS: the system's resolver (None) against a real lab, the zone's nameserver in the
    simulator (host, port)."""

    nameserver: tuple[str, int] | None = None


@dataclass
class CloudContext:
    tools: Tools
    clock: Clock
    workdir: Path
    hcloud: Any = None                     # hcloud.Client (Hetzner Cloud), or None when the lab has no Hetzner
    cloudflare: Any = None                 # cloudflare.Cloudflare, or None
    tailscale: Any = None                  # a requests.Session with the API token, or None
    tailscale_url: str = "https://api.tailscale.com"
    s3: Callable[[], Any] | None = None    # () -> a boto3 S3 client with the lab's credentials
    kube_config: Callable[[Path], Any] | None = None   # kubeconfig path -> kubernetes.client.ApiClient
    dialer: Dialer = field(default_factory=Dialer)
    resolver: Resolver = field(default_factory=Resolver)
    tls: ssl.SSLContext = field(default_factory=ssl.create_default_context)   # what clients trust
    launch: Callable[[str, str], None] | None = None   # hands: the owner launches an unmanaged server with user data
    writes: Callable[[], dict[str, int]] | None = None   # per-face write counters, where the target can count them
    secret: Callable[[Any], str] | None = None          # a secret reference -> its value (resolved only when used)

    def talos(self) -> TalosContext:
        return TalosContext(tools=self.tools, clock=self.clock, proxmox=None, workdir=self.workdir)

    def cluster_dir(self, cluster: str) -> Path:
        d = self.workdir / cluster
        d.mkdir(parents=True, exist_ok=True)
        return d
