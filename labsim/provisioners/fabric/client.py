"""Talking to a RouterOS device: librouteros over the API socket, nothing else."""
from __future__ import annotations

from typing import Any

import librouteros
import librouteros.login

from labsim.provisioners.endpoints import RouterOSEndpoint
from labsim.provisioners.tls import client_context


def connect(ep: RouterOSEndpoint, timeout: float = 10.0):
    """Log in to a device's API (plain login, or the legacy challenge for RouterOS < 6.43)."""
    method = librouteros.login.token if ep.login == "token" else librouteros.login.plain
    kwargs: dict[str, Any] = {}
    port = ep.port
    if ep.tls_port:
        # verified by default (the lab file's ca_file, else the system's trust store); verify_tls: false opts out
        ctx = client_context(ep.ca, getattr(ep, "verify_tls", True))
        kwargs["ssl_wrapper"] = lambda sock: ctx.wrap_socket(sock, server_hostname=ep.host)
        port = ep.tls_port
    return librouteros.connect(host=ep.host, port=port, username=ep.username, password=ep.password,
                               login_method=method, timeout=timeout, **kwargs)


def menu_path(api, menu: str):
    return api.path(*menu.strip("/").split("/"))


def read(api, menu: str) -> list[dict[str, Any]]:
    """Every row of a menu, as the device prints them (one `print`, read-only)."""
    if menu == "/system/identity":
        return [dict(r) for r in api("/system/identity/print")]
    return [dict(r) for r in menu_path(api, menu)]
