"""Talos benchmark: N clusters of 3 control planes and 3 workers, each on its own VLAN and subnet, brought up
from maintenance mode to healthy with Cilium and verified, through the real provisioner
(`labsim.provisioners.talos.run.provision` + `verify`) and the fake talosctl/helm subprocesses.

The lab is generated from the Proxmox bench's (`tests.bench.proxmox.lab_with_vms`: one RouterOS device serving
DHCP over a trunk to one Proxmox host sized for the VMs), split into one VLAN, DHCP pool and Talos cluster per
cluster. Not timed: the fabric and the VMs (`setup_s`). Timed: provisioning every cluster, then verifying every
cluster (every `talosctl health` check, Kubernetes reads, the VIP). One size per process, so the peak memory
belongs to that size alone; printed as one JSON line:

    python -m tests.bench.talos 32
    python -m tests.bench.talos 2 --profile prof.out     # cProfile of the timed part
"""
from __future__ import annotations

import argparse
import ipaddress
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import yaml

from tests.bench.proxmox import SECRETS, lab_with_vms

CPS, WORKERS = 3, 3
CILIUM_VERSION = "1.18.5"


def lab_with_clusters(n: int) -> dict:
    """The Proxmox bench's lab with 6 VMs per cluster, as n Talos clusters, cluster i on VLAN 100+i."""
    lab = lab_with_vms(n * (CPS + WORKERS))
    lab["lab"]["name"] = f"bench-{n}-talos"
    base_vlan, = lab["vlans"]
    base_cluster, = lab["clusters"]
    machine = {k: v for k, v in base_cluster["machines"]["control_plane"].items() if k not in ("names", "first_vmid")}
    vlans, clusters = [], []
    for i in range(n):
        net = ipaddress.ip_network(f"172.{20 + i // 256}.{i % 256}.0/24")   # apart from the pod and service CIDRs
        host = lambda k, net=net: str(net.network_address + k)
        name = f"VLAN{100 + i}"
        vlans.append({**base_vlan, "name": name, "id": 100 + i, "subnet": str(net), "gateway": host(1),
                      "addresses": {"bench-01": host(1)},
                      "dhcp": {**base_vlan["dhcp"], "pool": [f"{host(100)}-{host(200)}"]}})
        c = f"t{i:02d}"
        clusters.append({
            "name": c, "distribution": "talos", "version": base_cluster["version"], "kubernetes_version": "1.34.1",
            "vlan": name, "proxmox_node": "pve", "endpoint": f"https://{host(10)}:6443", "vip": host(10),
            "install_disk": "/dev/vda", "cni": "none", "kube_proxy": False,
            "machines": {"control_plane": {"names": [f"{c}-cp-{k}" for k in range(1, CPS + 1)],
                                           "first_vmid": 1000 + 10 * i, **machine},
                         "workers": {"names": [f"{c}-wrk-{k}" for k in range(1, WORKERS + 1)],
                                     "first_vmid": 1000 + 10 * i + CPS, **machine}},
            "cilium": {"version": CILIUM_VERSION, "cluster_id": i + 1}})
    lab["vlans"] = vlans
    lab["clusters"] = clusters
    for dev in lab["routeros"]["devices"]:
        for trunk in dev["trunks"]:
            trunk["vlans"] = [v["name"] for v in vlans]
    return lab


def _rss_mib(who: int) -> float:
    return round(resource.getrusage(who).ru_maxrss / 1024, 1)


def _cpu_s(who: int) -> float:
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def run(n: int, profile: str | None = None) -> dict:
    from labsim.fakes.lab import SimulatedLab
    from labsim.provisioners.endpoints import Endpoints
    from labsim.provisioners.fabric.client import connect as ros_connect
    from labsim.provisioners.fabric.run import provision as provision_fabric
    from labsim.provisioners.lab import load_lab
    from labsim.provisioners.proxmox.client import connect
    from labsim.provisioners.proxmox.run import provision as provision_vms
    from labsim.provisioners.talos import run as T
    from labsim.provisioners.talos.cli import Tools
    from labsim.provisioners.talos.context import TalosContext

    out: dict = {"clusters": n, "nodes": n * (CPS + WORKERS)}
    with tempfile.TemporaryDirectory(prefix="labsim-bench-") as tmp:
        work = Path(tmp)
        path = work / "bench.yaml"
        path.write_text(yaml.safe_dump(lab_with_clusters(n), sort_keys=False))
        lab = load_lab(path)
        from labsim.provisioners.lab.checks import errors, run_checks
        bad = errors(run_checks(lab))
        assert not bad, [f"{f.path}: {f.message}" for f in bad[:3]]     # the generated lab is a valid lab file
        t0 = time.perf_counter()
        with SimulatedLab(path, secrets=SECRETS) as sim:
            eps = Endpoints.from_json(sim.endpoints())
            ros = {d: ros_connect(ep) for d, ep in eps.routeros.items()}
            provision_fabric(lab, ros.__getitem__)
            api = connect(eps.proxmox["pve"])
            provision_vms(lab, api, sim.clock)
            env = {**os.environ, **sim.talos.tool_env(), "HELM_CONFIG_HOME": str(work / "helm")}
            tools = Tools(env=env, cwd=work)
            ctx = TalosContext(tools, sim.clock, api, work / "talos")
            names = [c.name for c in lab.clusters]
            from kubernetes.client import AppsV1Api, CoreV1Api  # noqa: F401 - the one-off import, not per cluster
            out["setup_s"] = round(time.perf_counter() - t0, 2)
            v0 = sim.clock.now()
            prof = None
            if profile:
                import cProfile
                prof = cProfile.Profile()
                prof.enable()
            t1, cpu1, tools_cpu1 = time.perf_counter(), _cpu_s(resource.RUSAGE_SELF), _cpu_s(resource.RUSAGE_CHILDREN)
            reports = [T.provision(lab, c, ctx) for c in names]
            t2 = time.perf_counter()
            out["provision_calls"] = len(tools.transcript)
            tools.transcript.clear()
            results = [r for c, rep in zip(names, reports) for r in T.verify(lab, c, ctx, machines=rep.machines)]
            t3, cpu3 = time.perf_counter(), _cpu_s(resource.RUSAGE_SELF)
            if prof is not None:
                prof.disable()
                prof.dump_stats(profile)
            out["verify_calls"] = len(tools.transcript)
            bad = [str(r) for r in results if not r.ok]
            assert not bad, bad[:3]
            assert all(rep.bootstrapped and rep.cilium == "installed" and len(rep.applied) == CPS + WORKERS
                       for rep in reports), [rep.changes for rep in reports]
            out.update({"checks": len(results), "provision_s": round(t2 - t1, 2), "verify_s": round(t3 - t2, 2),
                        "total_s": round(t3 - t1, 2), "virtual_s": round(sim.clock.now() - v0),
                        "lab_cpu_s": round(cpu3 - cpu1, 2), "zygote_peak_rss_mib": _zygote_peak_mib(sim)})
    # the tools' processes (launchers, and the zygote's forks once the zygote is reaped at the lab's stop)
    out["tools_cpu_s"] = round(_cpu_s(resource.RUSAGE_CHILDREN) - tools_cpu1, 2)
    out["peak_rss_mib"] = _rss_mib(resource.RUSAGE_SELF)     # the lab and the provisioner (one process)
    return out


def _zygote_peak_mib(sim) -> float:
    """The tools' fork server's peak (VmHWM): every tool run is a fork of it. (RUSAGE_CHILDREN would report the
    lab's own size: a child forked by subprocess counts the parent's pages until it execs.)"""
    proc = getattr(sim.zygote, "proc", None)
    try:
        text = Path(f"/proc/{proc.pid}/status").read_text() if proc is not None else ""
    except OSError:
        text = ""
    kib = next((int(line.split()[1]) for line in text.splitlines() if line.startswith("VmHWM:")), 0)
    return round(kib / 1024, 1)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.bench.talos")
    p.add_argument("clusters", type=int, nargs="?", default=2)
    p.add_argument("--profile", help="write a cProfile of the timed part to this file")
    a = p.parse_args(argv)
    print(json.dumps(run(a.clusters, a.profile)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
