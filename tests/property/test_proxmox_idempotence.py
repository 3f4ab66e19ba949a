"""Idempotence as a property: for any small VM plan, applying it (and then a changed plan over the VMs the
first one made) leaves a second apply with an empty plan and zero writes on the Proxmox fake.

Plans are drawn for talos-east of the Aggrik8s lab: control-plane and worker counts, cores, sockets,
memory, CPU type, system and Ceph disks. The second plan only grows disks (a disk never shrinks).
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labsim.fakes.lab import SimulatedLab
from labsim.fakes.proxmox.testing import load_lab as load_raw
from labsim.provisioners.endpoints import Endpoints
from labsim.provisioners.lab import load_lab
from labsim.provisioners.proxmox.client import connect
from labsim.provisioners.proxmox.plan import plan
from labsim.provisioners.proxmox.run import provision
from labsim.provisioners.proxmox.verify import verify_config

CPUS = ["host", "x86-64-v2-AES", "kvm64"]


@st.composite
def machine(draw, names: list[str], first_vmid: int, ceph: bool, floor: dict | None = None):
    floor = floor or {}
    system = draw(st.integers(floor.get("system", 10), 40))
    disks = [{"slot": "virtio0", "storage": "cluster-lvm", "size_gib": system}]
    if ceph:
        disks.append({"slot": "virtio1", "storage": "cluster-lvm", "size_gib": draw(st.integers(floor.get("ceph", 8), 64)),
                      "purpose": "ceph"})
    return {"names": names, "first_vmid": first_vmid, "cores": draw(st.integers(2, 8)),
            "sockets": draw(st.integers(1, 2)), "memory_mib": draw(st.sampled_from([2048, 3072, 4096, 8192])),
            "cpu": draw(st.sampled_from(CPUS)), "disks": disks}


def floor_of(m: dict) -> dict:
    return {"system": m["disks"][0]["size_gib"], "ceph": m["disks"][1]["size_gib"] if len(m["disks"]) > 1 else 8}


@st.composite
def plans(draw):
    cps = [f"cp-e-{i}" for i in range(1, draw(st.sampled_from([1, 3])) + 1)]
    workers = [f"wrk-e-{i}" for i in range(1, draw(st.integers(0, 3)) + 1)]
    ceph = draw(st.booleans())
    first = {"control_plane": draw(machine(cps, 1501, False))}
    if workers:
        first["workers"] = draw(machine(workers, 1511, ceph))
    second = {k: draw(machine(m["names"], m["first_vmid"], len(m["disks"]) > 1, floor_of(m))) for k, m in first.items()}
    return first, second


def write_lab(tmp: Path, name: str, machines: dict) -> Path:
    raw = load_raw()
    for c in raw["clusters"]:
        if c["name"] == "talos-east":
            c["machines"] = machines
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans())
def test_second_apply_sends_zero_writes(drawn):
    first, second = drawn
    with tempfile.TemporaryDirectory() as tmp:
        a, b = write_lab(Path(tmp), "a", first), write_lab(Path(tmp), "b", second)
        secrets = {"env:ROUTEROS_PASSWORD": "p", "env:PVE_TOKEN_SECRET": "t"}
        with SimulatedLab(a, secrets=secrets) as sim:
            api = connect(Endpoints.from_json(sim.endpoints()).proxmox["pve"])
            for labfile in (a, b):
                lab = load_lab(labfile)
                done = provision(lab, api, sim.clock)
                assert done.report.total > 0 or labfile == b
                writes = sim.world.proxmox.writes
                again = plan(lab, api)
                assert again.empty(), again.describe()
                assert provision(lab, api, sim.clock).report.total == 0
                assert sim.world.proxmox.writes == writes, "the second apply changed a VM"
                bad = [str(r) for r in verify_config(lab, api) if not r.ok]
                assert not bad, bad
