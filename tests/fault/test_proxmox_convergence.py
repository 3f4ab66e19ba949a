"""A failure at any step of the VM provisioner leaves the lab in a state the next run repairs.

The lab starts drifted so that one run needs every kind of step: cp-e-1 exists with too little memory and
a small disk and runs (update, resize, reboot), cp-e-2 exists but is stopped (start), cp-e-3 runs on the
wrong VLAN (update), the other VMs are missing (create, start). For every step of the clean run, a fresh
lab fails exactly that step (its task fails, or PVE refuses the request); the run must stop naming the VM,
the step and PVE's message, and a second run must converge: an empty plan and a clean verification.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from labsim.fakes.lab import SimulatedLab
from labsim.fakes.proxmox.testing import wait_task
from labsim.provisioners.endpoints import Endpoints
from labsim.provisioners.lab import load_lab
from labsim.provisioners.proxmox.apply import ProxmoxApplyError
from labsim.provisioners.proxmox.client import connect
from labsim.provisioners.proxmox.desired import desired_vms
from labsim.provisioners.proxmox.plan import plan
from labsim.provisioners.proxmox.run import provision
from labsim.provisioners.proxmox.verify import verify_config

LABFILE = Path(__file__).resolve().parents[2] / "labs" / "aggrik8s.yaml"
SECRETS = {"env:ROUTEROS_PASSWORD": "c", "env:PVE_TOKEN_SECRET": "c"}
TASK_OF = {"create": "qmcreate", "resize": "resize", "start": "qmstart", "reboot": "qmreboot"}
MESSAGE = "simulated failure: the host did not answer in time"


def drifted(sim, api) -> None:
    by_name = {vm.name: vm for vm in desired_vms(load_lab(LABFILE))}
    changes = {"cp-e-1": {"memory": "16384", "virtio0": "cluster-lvm:8"}, "cp-e-2": {},
               "cp-e-3": {"net0": "virtio,bridge=vmbr0,tag=2000"}}
    for name, change in changes.items():
        params = {**by_name[name].create_params(), **change}
        assert wait_task(api, api.nodes("pve").qemu.post(**params), sim.clock)["exitstatus"] == "OK"
        if name != "cp-e-2":
            assert wait_task(api, api.nodes("pve").qemu(params["vmid"]).status.start.post(), sim.clock)["exitstatus"] == "OK"


def _lab():
    sim = SimulatedLab(LABFILE, secrets=SECRETS).start()
    api = connect(Endpoints.from_json(sim.endpoints()).proxmox["pve"])
    drifted(sim, api)
    return sim, api


def _steps() -> list[tuple[str, str, int]]:
    sim, api = _lab()
    try:
        return [(s.action, s.vm.name, s.vm.vmid) for s in plan(load_lab(LABFILE), api).steps]
    finally:
        sim.stop()


STEPS = _steps()


def test_the_drifted_lab_needs_every_kind_of_step():
    assert {a for a, _, _ in STEPS} == {"create", "update", "resize", "start", "reboot"}


@pytest.mark.parametrize("action,name,vmid", STEPS, ids=[f"{a}-{n}" for a, n, _ in STEPS])
def test_rerun_converges_after_a_failed_step(action, name, vmid):
    lab = load_lab(LABFILE)
    sim, api = _lab()
    try:
        faults = sim.world.proxmox.faults
        if action == "update":   # synchronous: PVE refuses the request itself
            faults.http_error(rf"/nodes/pve/qemu/{vmid}/config$", 500, MESSAGE, method="PUT")
        else:
            faults.fail_next_task(TASK_OF[action], MESSAGE, vmid=vmid)
        with pytest.raises(ProxmoxApplyError) as failed:
            provision(lab, api, sim.clock)
        err = failed.value
        assert (err.step.action, err.step.vm.name) == (action, name)
        assert MESSAGE in str(err) and f"{name} (VM {vmid} on pve) {action} failed" in str(err)

        provision(lab, api, sim.clock)
        again = plan(lab, api)
        assert again.empty(), again.describe()
        bad = [str(r) for r in verify_config(lab, api) if not r.ok]
        assert not bad, bad
    finally:
        sim.stop()
