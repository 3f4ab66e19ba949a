"""Proxmox benchmark: create, start and verify N VMs through proxmoxer against the simulated lab.

One RouterOS device serves the VMs' VLAN (a pool large enough for every VM) over a trunk to the Proxmox
host; the fabric is provisioned first (not timed). Timed: provisioning the VMs (create, start: tasks in
virtual time) and verifying them (sizing and disks, running, and each VM's lease read from its guest agent
and cross-checked with the RouterOS lease table). One size per process, so the peak memory is that size's:
    python -m tests.bench.proxmox 600
"""
from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import yaml

SECRETS = {"env:BENCH_ROUTEROS_PASSWORD": "bench", "env:BENCH_PVE_TOKEN": "bench-token"}


def lab_with_vms(n: int) -> dict:
    cps, workers = 3, max(0, n - 3)
    vlan = {"name": "VLAN100", "id": 100, "subnet": "10.100.0.0/16", "gateway": "10.100.0.1",
            "addresses": {"bench-01": "10.100.0.1"},
            "dhcp": {"server": "bench-01", "pool": ["10.100.1.1-10.100.8.254"], "dns": ["1.1.1.1"]}}
    machine = {"cores": 2, "memory_mib": 2048, "cpu": "x86-64-v2-AES",
               "disks": [{"slot": "virtio0", "storage": "vmdata", "size_gib": 10}]}
    return {
        "lab": {"name": f"bench-{n}-vms"},
        "routeros": {"defaults": {"username": "admin", "password": "env:BENCH_ROUTEROS_PASSWORD"},
                     "devices": [{"identity": "bench-01", "model": "CHR",
                                  "management": {"address": "192.168.88.1", "interface": "bridge"},
                                  "bridge": {"name": "bridge", "vlan_filtering": True, "pvid": 1},
                                  "trunks": [{"interface": "ether1", "vlans": ["VLAN100"]}]}]},
        "vlans": [vlan],
        "cables": [["bench-01:ether1", "pve:eno1"]],
        "proxmox": {"credentials": {"user": "root@pam", "token_id": "bench", "token_secret": "env:BENCH_PVE_TOKEN"},
                    "nodes": [{"name": "pve", "management": {"address": "192.168.88.10"}, "cpus": 4096,
                               "memory_gib": 4 * n + 64, "nics": ["eno1"],
                               "bridges": [{"name": "vmbr0", "ports": ["eno1"], "vlan_aware": True}],
                               "storage": [{"name": "local", "type": "dir", "content": ["iso"], "size_gib": 100},
                                           {"name": "vmdata", "type": "lvmthin", "content": ["images"],
                                            "size_gib": 16 * n + 64}],
                               "images": [{"volid": "local:iso/talos-v1.11.3-metal-amd64.iso",
                                           "talos_version": "1.11.3"}]}]},
        "clusters": [{"name": "bench", "distribution": "talos", "version": "1.11.3", "vlan": "VLAN100",
                      "proxmox_node": "pve", "endpoint": "https://10.100.0.10:6443",
                      "machines": {"control_plane": {"names": [f"cp-{i}" for i in range(1, cps + 1)],
                                                     "first_vmid": 1000, **machine},
                                   **({"workers": {"names": [f"wrk-{i}" for i in range(1, workers + 1)],
                                                   "first_vmid": 2000, **machine}} if workers else {})}}],
    }


def run(n: int) -> dict:
    from labsim.fakes.lab import SimulatedLab
    from labsim.provisioners.endpoints import Endpoints
    from labsim.provisioners.fabric.client import connect as ros_connect
    from labsim.provisioners.fabric.run import provision as provision_fabric
    from labsim.provisioners.lab import load_lab
    from labsim.provisioners.proxmox.client import connect
    from labsim.provisioners.proxmox.leases import leases_of
    from labsim.provisioners.proxmox.run import provision
    from labsim.provisioners.proxmox.verify import observe_lab, vm_config, vm_running

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.yaml"
        path.write_text(yaml.safe_dump(lab_with_vms(n), sort_keys=False))
        lab = load_lab(path)
        with SimulatedLab(path, secrets=SECRETS) as sim:
            eps = Endpoints.from_json(sim.endpoints())
            ros = {d: ros_connect(ep) for d, ep in eps.routeros.items()}
            provision_fabric(lab, ros.__getitem__)
            api = connect(eps.proxmox["pve"])
            t0, v0, c0 = time.perf_counter(), sim.clock.now(), time.process_time()
            done = provision(lab, api, sim.clock)
            t1 = time.perf_counter()
            desired, observed = observe_lab(lab, api)
            results = vm_config(desired, observed) + vm_running(desired, observed)
            results += leases_of(lab, api, ros.__getitem__, sim.clock, desired, observed, timeout=180, interval=2)
            t2, c2 = time.perf_counter(), time.process_time()
            bad = [str(r) for r in results if not r.ok]
            assert not bad, bad[:3]
            assert len(results) == 3 * n
            writes = sim.world.proxmox.writes
            virtual = sim.clock.now() - v0
    return {"vms": n, "writes": writes, "provision_s": round(t1 - t0, 3), "verify_s": round(t2 - t1, 3),
            "total_s": round(t2 - t0, 3), "cpu_s": round(c2 - c0, 3), "virtual_s": round(virtual, 1), "steps": len(done.plan.steps),
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


if __name__ == "__main__":
    print(json.dumps(run(int(sys.argv[1]))))
