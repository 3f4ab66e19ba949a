"""Fabric benchmark: provision and verify N VLANs on four RouterOS devices through librouteros.

Each VLAN gets a VLAN interface, an address and a bridge VLAN row on every device. Run one size per
process so the peak memory (max RSS) belongs to that size alone:
    python -m tests.bench.fabric 1000
"""
from __future__ import annotations

import ipaddress
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import yaml

DEVICES = ["bench-01", "bench-02", "bench-03", "bench-04"]


def lab_with_vlans(n: int) -> dict:
    vlans = []
    for i in range(n):
        net = ipaddress.ip_network(f"10.{i // 256}.{i % 256}.0/24")
        hosts = list(net.hosts())
        vlans.append({"name": f"VLAN{100 + i}", "id": 100 + i, "subnet": str(net), "gateway": str(hosts[0]),
                      "addresses": {d: str(hosts[k]) for k, d in enumerate(DEVICES)}})
    names = [v["name"] for v in vlans]
    devices = []
    for k, d in enumerate(DEVICES):
        trunks = [p for p in ("ether1", "ether2") if not (k == 0 and p == "ether1")]
        devices.append({"identity": d, "model": "CHR", "management": {"address": f"192.168.88.{k + 1}", "interface": "bridge"},
                        "bridge": {"name": "bridge", "vlan_filtering": True, "pvid": 1},
                        "trunks": [{"interface": p, "vlans": names} for p in trunks]})
    cables = [[f"{DEVICES[k]}:ether2", f"{DEVICES[k + 1]}:ether1"] for k in range(len(DEVICES) - 1)]
    return {"lab": {"name": f"bench-{n}"},
            "routeros": {"defaults": {"username": "admin", "password": "env:BENCH_ROUTEROS_PASSWORD"},
                         "devices": devices},
            "vlans": vlans, "cables": cables}


def run(n: int) -> dict:
    from labsim.fakes.lab import SimulatedLab
    from labsim.provisioners.endpoints import Endpoints
    from labsim.provisioners.fabric.client import connect
    from labsim.provisioners.fabric.run import provision
    from labsim.provisioners.fabric.verify import config_matches, observe_all, vlans_present
    from labsim.provisioners.lab import load_lab

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.yaml"
        path.write_text(yaml.safe_dump(lab_with_vlans(n), sort_keys=False))
        tl, cl = time.perf_counter(), time.process_time()
        lab = load_lab(path)   # the whole process is timed, the lab file's load included
        load_s = time.perf_counter() - tl
        with SimulatedLab(path, secrets={"env:BENCH_ROUTEROS_PASSWORD": "bench"}) as sim:
            endpoints = Endpoints.from_json(sim.endpoints())
            conns = {d: connect(endpoints.routeros[d]) for d in DEVICES}
            t0 = time.perf_counter()
            done = provision(lab, conns.__getitem__)
            t1 = time.perf_counter()
            observed = observe_all(lab, conns)
            results = config_matches(lab, observed) + vlans_present(lab, observed)
            t2, c2 = time.perf_counter(), time.process_time()
            assert all(r.ok for r in results), [str(r) for r in results if not r.ok][:3]
            writes = sim.writes()
    return {"vlans": n, "writes": sum(writes.values()), "load_s": round(load_s, 3), "provision_s": round(t1 - t0, 3),
            "verify_s": round(t2 - t1, 3), "total_s": round(load_s + t2 - t0, 3), "cpu_s": round(c2 - cl, 3),
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "planned_changes": len(done.plan.changes)}


if __name__ == "__main__":
    print(json.dumps(run(int(sys.argv[1]))))
