"""The faces of a simulated lab's clouds, started together: the Hetzner Cloud, Cloudflare and Tailscale APIs over
HTTPS (certificates of the lab CA for their real host names and 127.0.0.1), the S3 endpoint, the zone's nameserver,
and each server's public HTTPS. `endpoints()` is what clients need: URLs, tokens, the CA, the nameserver, and the
map from public addresses to the loopback ports that stand for them (`internet`).
"""
from __future__ import annotations

import string
from typing import Any

from labsim.fakes.cloud.cloudflare import CloudflareApi
from labsim.fakes.cloud.hetzner import HetznerApi
from labsim.fakes.cloud.http import ApiServer
from labsim.fakes.cloud.ingress import Locator, NodeIngress
from labsim.fakes.cloud.nameserver import Nameserver
from labsim.fakes.cloud.s3 import S3Endpoint
from labsim.fakes.cloud.tailscale import TailscaleApi
from labsim.fakes.cloud.world import CATALOG, CloudWorld

HOSTS = {"hetzner": "api.hetzner.cloud", "cloudflare": "api.cloudflare.com", "tailscale": "api.tailscale.com"}


def s3_shaped(kind: str, value: str, planted: bool) -> str:
    """An S3 access key is 20 upper-case letters and digits and a secret key 40 characters (what S3 services and
    moto's account lookup expect); a value the simulator invented is given that shape, a planted one is kept."""
    if planted:
        return value
    alphabet = string.ascii_uppercase + string.digits if kind == "access" else string.ascii_letters + string.digits
    n = 20 if kind == "access" else 40
    raw = "".join(c for c in value if c.isalnum()).upper() if kind == "access" else "".join(c for c in value
                                                                                          if c.isalnum())
    return (raw + "".join(alphabet[(i * 7 + len(raw)) % len(alphabet)] for i in range(n)))[:n]


class CloudFaces:
    def __init__(self, world: CloudWorld, ca, locate: Locator):
        self.world = world
        self.ca = ca

        def tls(name: str):
            return ca.issue_server_cert([name, "127.0.0.1", "localhost"], common_name=name).server_context()

        self.hetzner = ApiServer(HetznerApi(world.hetzner), tls=tls(HOSTS["hetzner"])) if world.hetzner else None
        zone = world.zone
        self.cloudflare = ApiServer(CloudflareApi(zone), tls=tls(HOSTS["cloudflare"]), server_header="cloudflare") \
            if zone.name else None
        self.tailscale = ApiServer(TailscaleApi(world.tailnet, CATALOG["tailscale"]["client_version"]),
                                   tls=tls(HOSTS["tailscale"])) if world.tailnet.spec else None
        self.nameserver = Nameserver(zone) if zone.name else None
        names = [zone.name, f"*.{zone.name}"] if zone.name else ["localhost"]
        self.ingress = NodeIngress(world, locate, ca.issue_server_cert(names, common_name=names[0]).server_context())
        world.on_machine_added.append(self.ingress.ensure)
        self.s3: S3Endpoint | None = None
        s3 = world.raw.get("object_storage")
        if s3:
            host = (s3.get("endpoint") or "").split("://", 1)[-1].split("/")[0].split(":")[0] or "s3.local"
            self.s3 = S3Endpoint(access_key=world.secret(s3["access_key"]), secret_key=world.secret(s3["secret_key"]),
                                 region=str(s3.get("region") or "us-east-1"), tls=tls(host))

    def start(self) -> CloudFaces:
        for face in (self.hetzner, self.cloudflare, self.tailscale, self.nameserver, self.s3):
            if face is not None:
                face.start()
        return self

    def stop(self) -> None:
        for face in (self.hetzner, self.cloudflare, self.tailscale, self.nameserver, self.s3):
            if face is not None:
                try:
                    face.stop()
                except Exception:  # noqa: BLE001 - stopping: the others must stop too
                    pass
        self.ingress.stop()

    def endpoints(self) -> dict[str, Any]:
        w = self.world
        out: dict[str, Any] = {"ca": self.ca.cert_path,
                               "internet": {k: f"{h}:{p}" for k, (h, p) in self.ingress.listeners().items()}}
        if self.hetzner is not None:
            out["hetzner"] = {"url": f"{self.hetzner.url}/v1", "host": HOSTS["hetzner"]}
        if self.cloudflare is not None:
            out["cloudflare"] = {"url": f"{self.cloudflare.url}/client/v4", "zone": w.zone.name, "zone_id": w.zone.id}
        if self.tailscale is not None:
            out["tailscale"] = {"url": self.tailscale.url, "tailnet": w.tailnet.name, "domain": w.tailnet.domain}
        if self.nameserver is not None:
            out["dns"] = {"host": self.nameserver.host, "port": self.nameserver.port, "zone": w.zone.name}
        if self.s3 is not None:
            out["s3"] = {"url": self.s3.url, "region": self.s3.region}
        return out

    def writes(self) -> dict[str, int]:
        return {name: face.writes for name, face in (("hetzner", self.hetzner), ("cloudflare", self.cloudflare),
                                                      ("tailscale", self.tailscale)) if face is not None}
