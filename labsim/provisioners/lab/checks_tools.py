"""Intent check on the lab file's `tools:` section: the pinned talosctl matches the Talos clusters.

talosctl supports Talos releases of its own minor version (and one back); a workstation pinned to
another minor than the clusters' Talos version talks to them with a client they may not accept.
"""
from __future__ import annotations

from collections.abc import Iterator

from labsim.provisioners.lab.checks_context import Context
from labsim.provisioners.lab.checks_core import Hit, producer
from labsim.provisioners.lab.model import TalosCluster


def _minor(v: str) -> tuple[str, ...]:
    return tuple(v.strip().lstrip("v>=").split(".")[:2])


@producer(("tools-talosctl-minor", "warning", "Does the pinned talosctl have the Talos clusters' minor version?"))
def talosctl_minor(ctx: Context) -> Iterator[Hit]:
    pinned = ctx.lab.tools.get("talosctl")
    if not pinned:
        return
    for c in ctx.lab.clusters:
        if isinstance(c, TalosCluster) and _minor(c.version) != _minor(pinned):
            yield Hit("tools-talosctl-minor", "tools.talosctl",
                      f"talosctl {pinned} is pinned but cluster {c.name} runs Talos {c.version}: pin talosctl "
                      f"{'.'.join(_minor(c.version))}", {"pinned": pinned, "cluster": c.name, "talos": c.version})
