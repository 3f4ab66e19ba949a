"""A Talos cluster on cloud servers, reached only over the tailnet (bouquet2's design), and its verification.

    provision: configs (gen secrets once, gen config with the lab's patches and the tailscale extension's
               ExtensionServiceConfig, one file per machine with its hostname and TS_HOSTNAME)
               -> Hetzner firewalls and servers, created with their machine config as user data
               -> unmanaged servers (Oracle) launched by their owner with theirs (the target's hands)
               -> every node's device online on the tailnet; the control planes' routes approved
               -> DNS: the cluster endpoint (controlplane.internal.<domain>) to the control planes' tailnet
                  addresses, the round-robin name to the workers' public addresses
               -> talosctl endpoints = the control planes' tailnet addresses; every node answers there
               -> a node whose running config differs from its file gets it (apply-config over the tailnet)
               -> bootstrap once -> kubeconfig -> the API and a Node for every machine -> Cilium (KPR,
                  KubePrism localhost:7445) -> every node Ready
    verify:    the servers, the tailnet devices and routes, the records, the Talos API on tailnet addresses and
               refused on public ones, every `talosctl health` check, and what Kubernetes reports.

Patches (Talos docs; bouquet2 tofu/talos.tf and templates/): CNI none and no kube-proxy (Cilium replaces it), the
cluster's pod and service subnets, KubePrism on 7445, the kubelet's and etcd's addresses taken from the tailnet's
100.64.0.0/10 (there is no private network between the clouds), the install disk; the tailscale extension with
TS_AUTHKEY (the lab file's reference, resolved only here), TS_HOSTNAME, TS_AUTH_ONCE=true and, on control planes,
TS_ROUTES = the lab file's routes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from labsim import fastyaml
from labsim.provisioners.clock import WaitTimeout, wait_for
from labsim.provisioners.cloud import dns as D
from labsim.provisioners.cloud import hetzner as H
from labsim.provisioners.cloud import tailnet as T
from labsim.provisioners.vocabulary import Result
from labsim.provisioners.lab.model_cloud import TAILNET_RANGE
from labsim.provisioners.talos import apply as A
from labsim.provisioners.talos import bootstrap as B
from labsim.provisioners.talos import cilium as C
from labsim.provisioners.talos import health as HL
from labsim.provisioners.talos import verify as V
from labsim.provisioners.talos.apply import json_stream, talos
from labsim.provisioners.talos.configs import Files
from labsim.provisioners.talos.kube import Kube, ready
from labsim.provisioners.talos.nodes import Machine

API_TIMEOUT = 900.0
READY_TIMEOUT = 900.0
INTERVAL = 10.0
KUBEPRISM_PORT = 7445


@dataclass
class Report:
    cluster: str
    servers: list[str] = field(default_factory=list)       # Hetzner changes
    launched: list[str] = field(default_factory=list)      # unmanaged servers the owner launched
    tailnet: list[str] = field(default_factory=list)       # routes approved
    dns: list[str] = field(default_factory=list)
    applied: dict[str, str] = field(default_factory=dict)
    bootstrapped: bool = False
    cilium: str | None = None
    machines: list[Machine] = field(default_factory=list)
    public: dict[str, str] = field(default_factory=dict)
    conflicts: list[str] = field(default_factory=list)

    @property
    def changes(self) -> list[str]:
        out = self.servers + [f"{n}: launched" for n in self.launched] + self.tailnet + self.dns
        out += [f"{m}: config {what}" for m, what in sorted(self.applied.items())]
        if self.bootstrapped:
            out.append(f"{self.cluster}: etcd bootstrapped")
        if self.cilium:
            out.append(f"{self.cluster}: cilium {self.cilium}")
        return out


def cloud_clusters(lab) -> list[Any]:
    """Talos clusters whose hosts are cloud servers of the lab file (what this module builds)."""
    from labsim.provisioners.lab.model import TalosCluster
    names = {s.name for s in (lab.cloud.servers if lab.cloud else [])}
    return [c for c in lab.clusters if isinstance(c, TalosCluster) and c.hosts is not None
            and {m.name for m in c.members()} <= names and c.members()]


def members(lab, cluster: str) -> list[tuple[str, str]]:
    return [(m.name, m.role) for m in lab.cluster(cluster).members()]


# --- configs -------------------------------------------------------------------------------------------------------
def patches(lab, cluster: str, auth_key: str | None) -> dict[str, list[dict[str, Any]]]:
    c = lab.cluster(cluster)
    tailnet = lab.tailnet is not None
    common: dict[str, Any] = {
        "machine": {"kubelet": {"extraArgs": {"rotate-server-certificates": "true"}},
                    "features": {"kubePrism": {"enabled": True, "port": KUBEPRISM_PORT}},
                    "install": {"disk": c.install_disk}},
        "cluster": {"network": {"podSubnets": [str(c.pod_subnet)], "serviceSubnets": [str(c.service_subnet)],
                                "cni": {"name": c.cni}},
                    "proxy": {"disabled": not c.kube_proxy}},
    }
    cp: dict[str, Any] = {}
    if tailnet:
        common["machine"]["kubelet"]["nodeIP"] = {"validSubnets": [str(TAILNET_RANGE)]}
        cp["cluster"] = {"etcd": {"advertisedSubnets": [str(TAILNET_RANGE)]}}
    if c.ntp:
        common["machine"]["time"] = {"servers": list(c.ntp)}
    if c.allow_scheduling_on_control_planes:
        cp.setdefault("cluster", {})["allowSchedulingOnControlPlanes"] = True
    out: dict[str, list[dict[str, Any]]] = {"common": [common], "controlplane": [cp] if cp else [], "worker": []}
    if tailnet and auth_key:
        env = [f"TS_AUTHKEY={auth_key}", "TS_AUTH_ONCE=true"]
        ext = {"apiVersion": "v1alpha1", "kind": "ExtensionServiceConfig", "name": "tailscale"}
        routes = ",".join(str(r) for r in lab.tailnet.routes)
        out["controlplane"].append({**ext, "environment": env + ([f"TS_ROUTES={routes}"] if routes else [])})
        out["worker"].append({**ext, "environment": list(env)})
    return out


def generate(lab, cluster: str, ctx) -> Files:
    c = lab.cluster(cluster)
    d = ctx.cluster_dir(cluster)
    run = ctx.tools.run
    secrets = d / "secrets.yaml"
    if not secrets.exists():
        run(["talosctl", "gen", "secrets", "-o", str(secrets)])
    key = ctx.secret(lab.tailnet.auth_key) if lab.tailnet is not None and ctx.secret else None
    args = ["talosctl", "gen", "config", cluster, c.endpoint, "--with-secrets", str(secrets), "--install-disk",
            c.install_disk, "--talos-version", f"v{c.version}", "-o", str(d), "--force"]
    if c.kubernetes_version:
        args += ["--kubernetes-version", str(c.kubernetes_version)]
    for kind, flag in (("common", "--config-patch"), ("controlplane", "--config-patch-control-plane"),
                       ("worker", "--config-patch-worker")):
        docs = patches(lab, cluster, key)[kind]
        if docs:
            path = d / f"patch-{kind}.yaml"
            path.touch(mode=0o600)
            path.write_text(yaml.safe_dump_all(docs, sort_keys=False))
            args += [flag, f"@{path}"]
    run(args)
    return Files(d, d / "talosconfig", d / "controlplane.yaml", d / "worker.yaml")


def machine_text(files: Files, role: str, name: str) -> str:
    """The machine's own config: its role's file with its hostname, and TS_HOSTNAME for the tailscale extension."""
    docs = [x for x in fastyaml.load_all(files.for_role(role).read_text()) if x is not None]
    for doc in docs:
        if doc.get("kind") == "ExtensionServiceConfig" and doc.get("name") == "tailscale":
            env = [e for e in doc.get("environment") or [] if not str(e).startswith("TS_HOSTNAME=")]
            doc["environment"] = env + [f"TS_HOSTNAME={name}"]
        elif "machine" in doc:
            doc["machine"].setdefault("network", {})["hostname"] = name
    return yaml.safe_dump_all(docs, sort_keys=False, indent=4, width=1 << 16)


def machine_files(lab, cluster: str, files: Files) -> dict[str, Path]:
    out = {}
    for name, role in members(lab, cluster):
        path = files.machine(name)
        text = machine_text(files, role, name)
        if not path.exists() or path.read_text() != text:
            path.touch(mode=0o600)
            path.write_text(text)
        out[name] = path
    return out


def user_data_dir(ctx, cluster: str) -> Path:
    d = ctx.cluster_dir(cluster) / "user-data"
    d.mkdir(parents=True, exist_ok=True)
    return d


# --- provisioning --------------------------------------------------------------------------------------------------
def provision(lab, cluster: str, ctx, *, wait_ready: bool = True) -> Report:
    report = Report(cluster)
    files = generate(lab, cluster, ctx)
    paths = machine_files(lab, cluster, files)
    texts = {n: p.read_text() for n, p in paths.items()}
    if ctx.hcloud is not None:
        plan = H.plan(lab, ctx, texts)
        report.conflicts = [f"{c.subject}: {c.detail}" for c in plan.conflicts]
        report.servers = H.apply(plan, ctx)
    names = [n for n, _ in members(lab, cluster)]
    managed = {s.name for s in H.managed_servers(lab)}
    unmanaged = [n for n in names if n not in managed]
    if unmanaged:
        online = T.addresses(lab, ctx, unmanaged, timeout=0.0, partial=True)
        for n in unmanaged:
            (user_data_dir(ctx, cluster) / f"{n}.yaml").write_text(texts[n])
            if n not in online:
                if ctx.launch is None:
                    raise RuntimeError(f"{n} is not on the tailnet: launch it with the user data in "
                                       f"{user_data_dir(ctx, cluster) / (n + '.yaml')}")
                ctx.launch(n, texts[n])
                report.launched.append(n)
    try:
        addrs = T.addresses(lab, ctx, names)
    except WaitTimeout as exc:
        raise RuntimeError(not_joined(lab, ctx, exc)) from None
    roles = dict(members(lab, cluster))
    machines = [Machine(n, roles[n], addrs[n]) for n in names]
    report.machines = machines
    cps = [m for m in machines if m.control_plane]
    report.tailnet = T.approve_routes(lab, ctx, [m.name for m in cps])
    report.public = H.public_addresses(lab, ctx) if ctx.hcloud is not None else \
        {s.name: str(s.public_ipv4) for s in lab.cloud.servers if s.public_ipv4}
    if lab.dns is not None and ctx.cloudflare is not None:
        dplan, zid = D.plan(lab, ctx, report.public, addrs)
        report.dns = D.apply(dplan, ctx, zid)
    tc = files.talosconfig
    run = ctx.tools.run
    run(["talosctl", "--talosconfig", str(tc), "config", "endpoint", *[m.address for m in cps]])
    run(["talosctl", "--talosconfig", str(tc), "config", "node", cps[0].address])
    tctx = ctx.talos()
    A.wait_configured(tctx, tc, machines)
    running = A.running_configs(tctx, tc, machines)
    for m in machines:
        want = next(d for d in fastyaml.load_all(paths[m.name].read_text()) if d and "machine" in d)
        if m.address in running and running[m.address] != want:
            run(["talosctl", "--talosconfig", str(tc), "-n", m.address, "-e", cps[0].address, "apply-config",
                 "--file", str(paths[m.name])])
            report.applied[m.name] = "updated"
    report.bootstrapped = B.bootstrap_once(tctx, tc, cps)
    kubeconfig = B.kubeconfig(tctx, tc, cps, files.kubeconfig)
    kube = Kube(kubeconfig)
    wait_for(lambda: kube.reachable() and len(kube.nodes()) >= len(machines), API_TIMEOUT, INTERVAL, ctx.clock,
             what=f"the {cluster} API and a Node for every machine")
    if lab.cluster(cluster).cilium is not None:
        report.cilium = C.install(lab, cluster, tctx, kubeconfig)
        if wait_ready:
            def not_ready() -> list[str]:
                return sorted(n.metadata.name for n in kube.nodes() if not ready(n))
            wait_for(lambda: not not_ready(), READY_TIMEOUT, INTERVAL, ctx.clock,
                     what=f"every {cluster} node to be Ready")
    return report


def not_joined(lab, ctx, exc: WaitTimeout) -> str:
    """Why nodes never came onto the tailnet, as far as the outside can tell: a node in maintenance mode (created
    without its machine config as user data) answers the insecure API on its public address where the firewall lets
    the dial through; otherwise its state cannot be read from here."""
    missing = (exc.last or {}).get("not online", []) if isinstance(exc.last, dict) else []
    public = H.public_addresses(lab, ctx) if ctx.hcloud is not None else {}
    public.update({s.name: str(s.public_ipv4) for s in lab.cloud.servers if s.public_ipv4})
    why = []
    for n in missing:
        ip = public.get(n)
        if ip is None:
            why.append(f"{n}: no such server at its provider")
            continue
        r = ctx.tools.run(["talosctl", "get", "machinestatus", "--insecure", "-n", ip, "-e", ip, "-o", "json"],
                          check=False)
        if r.rc == 0 and '"maintenance"' in r.stdout:
            why.append(f"{n} ({ip}) is in maintenance mode: it booted without its machine config (user data)")
        else:
            last = r.output.splitlines()[-1] if r.output else f"exit {r.rc}"
            why.append(f"{n} ({ip}) is not on the tailnet and its Talos API does not answer on its public address "
                       f"({last}): look at its console at the provider (a wrong auth key, an image without "
                       f"siderolabs/tailscale, no user data)")
    return f"{exc}; " + "; ".join(why) if why else str(exc)


# --- verification --------------------------------------------------------------------------------------------------
def files_of(ctx, cluster: str) -> Files:
    d = ctx.cluster_dir(cluster)
    return Files(d, d / "talosconfig", d / "controlplane.yaml", d / "worker.yaml")


def known_machines(lab, cluster: str, ctx) -> list[Machine]:
    """The machines with their tailnet addresses now (a node off the tailnet comes back with address "")."""
    names = [n for n, _ in members(lab, cluster)]
    addrs = T.addresses(lab, ctx, names, timeout=0.0, partial=True)
    return [Machine(n, r, addrs.get(n, "")) for n, r in members(lab, cluster)]


def api_reach(lab, cluster: str, ctx, machines: list[Machine], public: dict[str, str]) -> list[Result]:
    """The Talos API answers on every node's tailnet address and is refused on its public one (read-only:
    `talosctl version`)."""
    tc = files_of(ctx, cluster).talosconfig
    out = []
    for m in machines:
        if m.address:
            r = ctx.tools.run(["talosctl", "--talosconfig", str(tc), "-n", m.address, "-e", m.address, "version",
                               "--short"], check=False)
            out.append(Result("talos-api-tailnet", m.name, r.rc == 0, f"answers on {m.address}" if r.rc == 0 else
                              f"no answer on {m.address}: {r.output.splitlines()[-1] if r.output else r.rc}",
                              {"address": m.address}))
        else:
            out.append(Result("talos-api-tailnet", m.name, False, "no tailnet address (its device is offline)"))
        ip = public.get(m.name)
        if ip:
            r = ctx.tools.run(["talosctl", "--talosconfig", str(tc), "-n", ip, "-e", ip, "version", "--short"],
                              check=False)
            refused = r.rc != 0
            out.append(Result("talos-api-public-refused", m.name, refused,
                              f"refused on {ip}: {r.output.splitlines()[-1]}" if refused and r.output else
                              (f"refused on {ip}" if refused else f"ANSWERS on its public address {ip}"),
                              {"address": ip}))
    return out


def verify(lab, cluster: str, ctx, *, wait: str = "10m") -> tuple[list[Result], HL.Health | None]:
    out: list[Result] = []
    if ctx.hcloud is not None:
        out += H.verify(lab, ctx)
        public = H.public_addresses(lab, ctx)
    else:
        public = {s.name: str(s.public_ipv4) for s in lab.cloud.servers if s.public_ipv4}
    out += T.verify(lab, ctx, members(lab, cluster))
    machines = known_machines(lab, cluster, ctx)
    tailnet = {m.name: m.address for m in machines if m.address}
    if lab.dns is not None and ctx.cloudflare is not None:
        out += D.verify(lab, ctx, public, tailnet)
    out += api_reach(lab, cluster, ctx, machines, public)
    up = [m for m in machines if m.address]
    if not any(m.control_plane for m in up):
        out.append(Result("talos-health", cluster, False, "no control plane on the tailnet: health cannot run"))
        return out, None
    files = files_of(ctx, cluster)
    tctx = ctx.talos()
    if not files.kubeconfig.exists():
        B.kubeconfig(tctx, files.talosconfig, [m for m in up if m.control_plane], files.kubeconfig)
    h = HL.run(tctx, files.talosconfig, up, wait)
    out += V.health_results(cluster, h)
    out += V.kube_results(lab, cluster, Kube(files.kubeconfig), machines)
    out.append(kubeprism(lab, cluster, ctx, up))
    return out, h


def kubeprism(lab, cluster: str, ctx, machines: list[Machine]) -> Result:
    """Every node's config turns KubePrism on at 7445 (what Cilium's k8sServiceHost=localhost:7445 relies on)."""
    tc = files_of(ctx, cluster).talosconfig
    cps = [m for m in machines if m.control_plane]
    r = ctx.tools.run(talos(tc, cps, machines, "get", "machineconfig", "-o", "json"), check=False)
    have = {}
    try:
        for o in json_stream(r.stdout):
            prism = ((o["spec"].get("machine") or {}).get("features") or {}).get("kubePrism") or {}
            have[o["node"]] = (bool(prism.get("enabled")), int(prism.get("port") or 7445))
    except (ValueError, KeyError):
        pass
    wrong = [f"{m.name}: {have.get(m.address, 'no answer')}" for m in machines
             if have.get(m.address) != (True, KUBEPRISM_PORT)]
    return Result("kubeprism", cluster, not wrong, f"enabled on {KUBEPRISM_PORT} on every node" if not wrong else
                  "; ".join(wrong), {"nodes": {m.name: have.get(m.address) for m in machines}})
