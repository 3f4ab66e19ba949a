"""The lab's Proxmox VE as the world builds it from the lab file's raw `proxmox:` section.

Credentials come from the section's secret references, resolved by the caller's `secret(ref)` exactly
like the RouterOS passwords (`SimulatedLab.secrets`): an API token `user!token_id` and, when the lab file
names one, a password for ticket logins.
"""
from __future__ import annotations

from typing import Any, Callable

from labsim.fakes.clock import VirtualClock
from labsim.fakes.proxmox.cluster import ProxmoxCluster, ProxmoxNode

DEFAULT_USER, DEFAULT_TOKEN_ID = "root@pam", "ci"


def credentials(section: dict[str, Any]) -> dict[str, Any]:
    cred = section.get("credentials") or {}
    return {"user": str(cred.get("user", DEFAULT_USER)), "token_id": str(cred.get("token_id", DEFAULT_TOKEN_ID)),
            "token_ref": cred.get("token_secret"), "password_ref": cred.get("password")}


def build_cluster(section: dict[str, Any], clock: VirtualClock, *, seed: int,
                  secret: Callable[[str], str]) -> ProxmoxCluster | None:
    """The simulated cluster of every node in the section (None when the lab has no Proxmox node)."""
    nodes = [ProxmoxNode.from_dict(d) for d in section.get("nodes") or []]
    if not nodes:
        return None
    c = credentials(section)
    users = {c["user"]: secret(c["password_ref"])} if c["password_ref"] else {}
    tokens = {f"{c['user']}!{c['token_id']}": secret(c["token_ref"])} if c["token_ref"] else {}
    return ProxmoxCluster(nodes, clock, users=users, tokens=tokens, seed=seed)


def bridge_pvids(section: dict[str, Any]) -> dict[tuple[str, str], int]:
    """(node, bridge) -> bridge-pvid, the VLAN untagged frames belong to on a VLAN-aware bridge (PVE: 1)."""
    return {(str(n["name"]), str(b["name"])): int(b.get("pvid", 1))
            for n in section.get("nodes") or [] for b in n.get("bridges") or []}
