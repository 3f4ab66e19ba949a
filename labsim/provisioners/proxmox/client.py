"""Talking to Proxmox VE: proxmoxer over HTTPS with an API token, the certificate always verified."""
from __future__ import annotations

from proxmoxer import ProxmoxAPI

from labsim.provisioners.endpoints import ProxmoxEndpoint


def connect(ep: ProxmoxEndpoint, timeout: float = 30.0) -> ProxmoxAPI:
    """A client for one node's API. TLS is verified against `ep.ca` (the lab's CA file), else the system's
    trust store; only `verify_tls: false` in the lab file turns that off."""
    verify: str | bool = ep.ca if ep.ca else ep.verify_tls
    kwargs = {"token_name": ep.token_id, "token_value": ep.token_secret} if ep.token_secret else \
        {"password": ep.password}
    return ProxmoxAPI(f"{ep.host}:{ep.port}", user=ep.user, verify_ssl=verify, timeout=timeout, **kwargs)
