"""Open a testinfra host over SSH (testinfra's paramiko backend) with the host key verified.

testinfra's paramiko backend accepts unknown host keys with a warning. Here the SSH client is made
first, with the known_hosts file of the endpoint (the simulated lab writes one per run; in a real lab
the lab file's `ssh.known_hosts` or ~/.ssh/known_hosts) and paramiko's RejectPolicy, and handed to the
backend: an unknown or changed host key stops the check, as a TLS certificate would.
"""
from __future__ import annotations

import io
import os
from pathlib import Path

import paramiko
import testinfra.backend
import testinfra.host

from labsim.provisioners.hosts.endpoints import SshEndpoint
from labsim.provisioners.lab.secrets import resolve


class HostUnreachable(ConnectionError):
    pass


def _pkey(text: str) -> paramiko.PKey:
    for cls in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return cls.from_private_key(io.StringIO(text))
        except (paramiko.SSHException, ValueError):
            continue
    raise HostUnreachable("the SSH key from its env: reference is not a private key paramiko reads")


def ssh_client(ep: SshEndpoint, timeout: float = 10.0, environ=os.environ) -> paramiko.SSHClient:
    client = paramiko.SSHClient()
    known = Path(os.path.expanduser(ep.known_hosts or "~/.ssh/known_hosts"))
    if known.is_file():
        client.load_host_keys(str(known))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    kwargs: dict = {"hostname": ep.host, "port": ep.port, "username": ep.user, "timeout": timeout,
                    "allow_agent": False, "look_for_keys": False, "banner_timeout": timeout, "auth_timeout": timeout}
    if ep.key_file:
        kwargs["key_filename"] = os.path.expanduser(ep.key_file)
    elif ep.key_ref is not None:
        kwargs["pkey"] = _pkey(resolve(ep.key_ref, environ))
    password = ep.password or (resolve(ep.password_ref, environ) if ep.password_ref else None)
    if password:
        kwargs["password"] = password
    try:
        client.connect(**kwargs)
    except paramiko.SSHException as exc:
        raise HostUnreachable(f"{ep.name} ({ep.address}): {exc}") from None
    except OSError as exc:
        raise HostUnreachable(f"{ep.name} ({ep.address}): {exc.strerror or exc}") from None
    return client


def open_host(ep: SshEndpoint, timeout: float = 10.0) -> testinfra.host.Host:
    """A testinfra host (paramiko backend, sudo as the endpoint says) on an already verified connection.
    Built outside testinfra's global host cache, so a scenario's connection ends with `close_host`."""
    spec = f"paramiko://{ep.user}@{ep.host}:{ep.port}"
    backend = testinfra.backend.get_backend(spec, sudo=ep.sudo, timeout=int(timeout))
    backend.__dict__["client"] = ssh_client(ep, timeout)   # fills testinfra's cached_property
    host = testinfra.host.Host(backend)
    backend.set_host(host)
    return host


def close_host(host: testinfra.host.Host) -> None:
    client = host.backend.__dict__.get("client")
    if client is not None:
        client.close()
