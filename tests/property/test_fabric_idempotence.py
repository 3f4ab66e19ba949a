"""Idempotence as a property: for any valid generated lab, a second apply sends zero writes.

Labs are generated small and valid by construction (devices in a chain, VLANs with unique ids and
subnets, trunks, access ports, optional bonds and DHCP), checked by the intent checks, provisioned
through librouteros against a fresh simulated lab, then planned and applied again.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from labsim.fakes.lab import SimulatedLab
from labsim.provisioners.endpoints import Endpoints
from labsim.provisioners.fabric.client import connect
from labsim.provisioners.fabric.plan import plan
from labsim.provisioners.fabric.run import provision
from labsim.provisioners.fabric.verify import config_matches, observe_all, vlans_present
from labsim.provisioners.lab import load_lab, run_checks


@st.composite
def labs(draw):
    n_dev = draw(st.integers(1, 3))
    devices = [f"sw-{i}" for i in range(n_dev)]
    vids = draw(st.lists(st.integers(2, 4094), min_size=1, max_size=5, unique=True))
    vlans = [{"name": f"VLAN{v}", "id": v, "subnet": f"10.{k}.{v % 250}.0/24"} for k, v in enumerate(vids)]
    for k, vlan in enumerate(vlans):
        holders = draw(st.lists(st.sampled_from(devices), min_size=1, unique=True))
        vlan["addresses"] = {d: f"10.{k}.{vlan['id'] % 250}.{devices.index(d) + 1}" for d in holders}
        vlan["gateway"] = vlan["addresses"][holders[0]]
        if draw(st.booleans()):
            vlan["dhcp"] = {"server": holders[0], "pool": [f"10.{k}.{vlan['id'] % 250}.100-10.{k}.{vlan['id'] % 250}.199"],
                            "dns": ["1.1.1.1"]}
    names = [v["name"] for v in vlans]
    cables, devs = [], []
    for i, d in enumerate(devices):
        uplinks = ([] if i == 0 else ["ether1"]) + (["ether2"] if i < n_dev - 1 else [])
        bonds = []
        if draw(st.booleans()):
            bonds.append({"name": "bond1", "slaves": ["ether7", "ether8"], "mode": "802.3ad", "lacp_rate": "1sec"})
        trunks = [{"interface": p, "vlans": draw(st.lists(st.sampled_from(names), min_size=1, unique=True))}
                  for p in uplinks + [b["name"] for b in bonds]]
        access = [{"interface": p, "vlan": draw(st.sampled_from(names))}
                  for p in draw(st.lists(st.sampled_from(["ether3", "ether4", "ether5"]), unique=True))]
        devs.append({"identity": d, "model": "CHR", "management": {"address": f"192.168.88.{i + 1}", "interface": "bridge"},
                     "bridge": {"name": "bridge", "vlan_filtering": draw(st.booleans()), "pvid": 1},
                     "bonds": bonds, "trunks": trunks, "access": access})
        if i < n_dev - 1:
            cables.append([f"{d}:ether2", f"{devices[i + 1]}:ether1"])
    return {"lab": {"name": "generated"},
            "routeros": {"defaults": {"username": "admin", "password": "env:GEN_PASSWORD"}, "devices": devs},
            "vlans": vlans, "cables": cables}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(labs())
def test_second_apply_sends_zero_writes(data):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "lab.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        lab = load_lab(path)
        errors = [f"{f.check} {f.path}: {f.message}" for f in run_checks(lab) if f.severity == "error"]
        assert not errors, errors
        with SimulatedLab(path, secrets={"env:GEN_PASSWORD": "generated"}) as sim:
            eps = Endpoints.from_json(sim.endpoints())
            conns = {d: connect(ep) for d, ep in eps.routeros.items()}
            first = provision(lab, conns.__getitem__)
            assert first.report.total > 0
            writes = sim.writes()
            second = plan(lab, conns)
            assert second.empty(), second.describe()
            provision(lab, conns.__getitem__)
            assert sim.writes() == writes, "the second apply changed a device"
            observed = observe_all(lab, conns)
            bad = [str(r) for r in config_matches(lab, observed) + vlans_present(lab, observed) if not r.ok]
            assert not bad, bad
