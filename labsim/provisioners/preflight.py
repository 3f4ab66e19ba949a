"""Preflight of a run against a real lab: before any scenario, is everything the run needs there?

Three questions, for the systems the selected scenarios touch (a `-k dhcp` run needs the routers, not
the Pi nodes' SSH keys):
- every endpoint the lab file names for them answers (TCP within a short timeout; TLS endpoints also
  complete a verified handshake: the lab file's `ca_file`, else the system's trust store);
- every secret they reference is present (variable set, file readable), named by reference only;
- every tool they need is on PATH at the version the lab file's `tools:` expects.
The answer is one report listing everything missing, grouped, so a single run tells the whole story.
"""
from __future__ import annotations

import os
import socket
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from labsim.provisioners.hosts.endpoints import from_lab as ssh_endpoints
from labsim.provisioners.lab.model import Lab, TalosCluster
from labsim.provisioners.lab.secrets import SecretError, resolve
from labsim.provisioners.tls import client_context
from labsim.provisioners.tools import Runner, check_tool, needed_tools

# Scenario tag -> systems its scenarios touch. Data: a new feature's tag joins here.
TAG_SYSTEMS: dict[str, set[str]] = {
    "fabric": {"routeros"},
    "proxmox": {"proxmox"},
    "talos": {"talos", "kubernetes"},
    "mesh": {"mesh", "kubernetes"},
    "ceph": {"ceph", "kubernetes"},
    "hosts": {"ssh"},
    "picluster": {"ssh"},
    "kube_api": {"kubernetes"},
    "cloud": {"cloud", "talos", "kubernetes"},
    "failover": {"cloud", "kubernetes"},
    "backup": {"cloud", "object_storage", "kubernetes"},
    "workstation": {"tools"},
}
ALL_SYSTEMS = set().union(*TAG_SYSTEMS.values())
TALOS_API_PORT = 50000


def systems_for(tag_sets: list[set[str]]) -> set[str]:
    return {s for tags in tag_sets for t in tags for s in TAG_SYSTEMS.get(t, ())}


@dataclass(frozen=True)
class Probe:
    what: str            # e.g. "routeros rb5009-01 API"
    host: str
    port: int
    tls: bool = False
    ca_file: str | None = None
    verify: bool = True
    built_by_run: bool = False   # an endpoint this run itself brings up (a Talos cluster's API under --apply)


@dataclass
class Report:
    lab: str
    systems: set[str]
    unreachable: list[str] = field(default_factory=list)
    reachable: list[str] = field(default_factory=list)
    secrets_missing: list[str] = field(default_factory=list)
    secrets_present: list[str] = field(default_factory=list)
    tools_bad: list[str] = field(default_factory=list)
    tools_ok: list[str] = field(default_factory=list)
    not_yet_built: list[str] = field(default_factory=list)   # silent now, built by this run: not a problem

    @property
    def ok(self) -> bool:
        return not (self.unreachable or self.secrets_missing or self.tools_bad)

    def problems(self) -> int:
        return len(self.unreachable) + len(self.secrets_missing) + len(self.tools_bad)

    def summary(self) -> str:
        later = (f", {len(self.not_yet_built)} to be built by this run ({'; '.join(self.not_yet_built)})"
                 if self.not_yet_built else "")
        return (f"preflight of lab {self.lab!r} (systems: {', '.join(sorted(self.systems)) or 'none'}): "
                f"{len(self.reachable)} endpoints reachable, {len(self.secrets_present)} secrets present, "
                f"{len(self.tools_ok)} tools as expected{later}")

    def render(self) -> str:
        if self.ok:
            return self.summary()
        lines = [f"preflight failed for lab {self.lab!r}: {self.problems()} problem(s); no scenario was run.",
                 f"(checked what the selected scenarios need: {', '.join(sorted(self.systems)) or 'nothing'})"]
        for title, items in (("unreachable endpoints", self.unreachable), ("missing secrets", self.secrets_missing),
                             ("missing or wrong tools", self.tools_bad)):
            if items:
                lines.append(f"  {title} ({len(items)}):")
                lines += [f"    - {i}" for i in items]
        return "\n".join(lines)

    def reasons(self) -> str:
        """One line for the sign-off: the groups and their first items."""
        parts = [f"{title}: {'; '.join(items)}" for title, items in
                 (("unreachable", self.unreachable), ("missing secrets", self.secrets_missing),
                  ("tools", self.tools_bad)) if items]
        return "preflight failed - " + " | ".join(parts)


# --- endpoints ---------------------------------------------------------------------------------------
def probes(lab: Lab, systems: set[str], building: frozenset[str] | set[str] = frozenset()) -> list[Probe]:
    """`building`: the clusters this run provisions (their APIs may not exist yet)."""
    out: list[Probe] = []
    if "routeros" in systems:
        for d in lab.routeros.devices:
            lg = lab.routeros_login(d.identity)
            out.append(Probe(f"routeros {d.identity} {'api-ssl' if lg.tls else 'API'}", str(lg.address), lg.port,
                             lg.tls, lg.ca_file, lg.verify_tls))
    if "proxmox" in systems and lab.proxmox:
        for n in lab.proxmox.nodes:
            host, port = lab.proxmox_reach(n.name)
            out.append(Probe(f"proxmox {n.name} API", host, port, True, lab.proxmox.ca_file, lab.proxmox.verify_tls))
    if "kubernetes" in systems:
        for c in lab.clusters:
            r = c.reach
            out.append(Probe(f"kubernetes {c.name} API", r.host if r else c.endpoint_host,
                             (r.port if r and r.port else c.endpoint_port), c.ca_file is not None, c.ca_file,
                             built_by_run=c.name in building))
    if "talos" in systems:
        for c in lab.clusters:
            if isinstance(c, TalosCluster) and c.hosts is not None:
                for m in c.members():
                    addr = lab.host(m.name).address if any(h.name == m.name for h in lab.hosts) else None
                    if addr is not None:   # VM nodes take DHCP addresses: nothing known to probe ahead
                        out.append(Probe(f"talos {c.name} {m.name} API", str(addr), TALOS_API_PORT))
    if "ssh" in systems:
        for name, ep in ssh_endpoints(lab).items():
            out.append(Probe(f"ssh {name}", ep.host, ep.port))
    out += _cloud_probes(lab, systems)
    return out


def _cloud_probes(lab: Lab, systems: set[str]) -> list[Probe]:
    """The providers' APIs the cloud scenarios talk to (a TLS handshake each), and the object storage."""
    from labsim.provisioners.cloud.context import CLOUDFLARE_API, HETZNER_API, TAILSCALE_API

    urls: list[tuple[str, str]] = []
    if "cloud" in systems:
        if lab.cloud is not None:
            urls += [(f"hetzner-cloud {p.name} API", p.api or HETZNER_API) for p in lab.cloud.providers
                     if p.kind == "hetzner-cloud" and p.managed]
        if lab.tailnet is not None:
            urls.append(("tailscale API", lab.tailnet.api or TAILSCALE_API))
        if lab.dns is not None:
            urls.append((f"{lab.dns.provider} API (zone {lab.dns.zone})", lab.dns.api or CLOUDFLARE_API))
    if "object_storage" in systems and lab.object_storage is not None:
        urls.append((f"object storage {lab.object_storage.bucket}", lab.object_storage.endpoint))
    out = []
    for what, url in urls:
        u = urlsplit(url)
        tls = u.scheme == "https"
        out.append(Probe(what, u.hostname or "", u.port or (443 if tls else 80), tls))
    return out


def probe(p: Probe, timeout: float) -> str | None:
    """None when the endpoint answers, else why not (never a secret: nothing is sent but a handshake)."""
    try:
        sock = socket.create_connection((p.host, p.port), timeout=timeout)
    except TimeoutError:
        return f"no answer within {timeout:g}s"
    except OSError as exc:
        return exc.strerror or str(exc)
    try:
        if p.tls:
            ctx = client_context(p.ca_file, p.verify)
            sock.settimeout(timeout)
            with ctx.wrap_socket(sock, server_hostname=p.host if p.verify else None):
                pass
    except (OSError, ValueError) as exc:
        hint = " (set ca_file to the CA that signed it, or verify_tls: false)" if "CERTIFICATE" in str(exc).upper() else ""
        return f"TLS handshake failed: {getattr(exc, 'reason', None) or exc}{hint}"
    finally:
        sock.close()
    return None


# --- secrets -------------------------------------------------------------------------------------------
def secret_system(path: str) -> str:
    if ".ssh." in path:
        return "ssh"
    for prefix, system in (("routeros", "routeros"), ("proxmox", "proxmox"), ("clusters", "kubernetes"),
                           ("cloud.", "cloud"), ("tailnet.", "cloud"), ("dns.", "cloud"),
                           ("object_storage.", "object_storage")):
        if path.startswith(prefix):
            return system
    return "other"


def check_secrets(lab: Lab, systems: set[str], environ) -> tuple[list[str], list[str]]:
    """Each reference once (with the fields that use it), resolved to see that it is there; the value
    itself is dropped at once and never part of a message."""
    paths: dict[str, list[str]] = {}
    refs = {}
    for path, ref in lab.secret_refs():
        if secret_system(path) in systems:
            paths.setdefault(str(ref), []).append(path)
            refs[str(ref)] = ref
    missing, present = [], []
    for key, where in paths.items():
        fields = where[0] + (f" and {len(where) - 1} more" if len(where) > 1 else "")
        try:
            resolve(refs[key], environ)
            present.append(f"{key} ({fields})")
        except SecretError as exc:
            missing.append(f"{key} ({fields}): {str(exc).split(': ', 1)[-1]}")
    return missing, present


# --- the whole preflight -------------------------------------------------------------------------------
def run_preflight(lab: Lab, systems: set[str], *, run_tool: Runner, environ=os.environ,
                  timeout: float = 3.0, building: frozenset[str] | set[str] = frozenset()) -> Report:
    """`building`: clusters the run provisions (an `--apply` run of the Talos scenarios): their Kubernetes APIs
    need not answer yet, so a first `make lab-apply` on a fresh lab is not refused for what it is about to build."""
    report = Report(lab.lab.name, set(systems))
    ps = probes(lab, systems, building)
    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(lambda p: probe(p, timeout), ps))
    for p, why in zip(ps, answers):
        if why and p.built_by_run:
            report.not_yet_built.append(f"{p.what} at {p.host}:{p.port}")
            continue
        (report.unreachable if why else report.reachable).append(
            f"{p.what} at {p.host}:{p.port}" + (f": {why}" if why else ""))
    report.secrets_missing, report.secrets_present = check_secrets(lab, systems, environ)
    for tool, expected in sorted(needed_tools(dict(lab.tools), systems).items()):
        c = check_tool(tool, expected, run_tool)
        (report.tools_ok if c.ok else report.tools_bad).append(
            c.message + (f" (the lab file expects {expected})" if not c.found and expected else ""))
    return report
