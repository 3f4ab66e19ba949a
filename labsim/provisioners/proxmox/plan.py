"""Plan: the steps that make each planned VM match the lab file, computed from what PVE reports.

Never from memory of an earlier run. A VM is the lab file's when its id and name are the planned ones;
any other VM is never touched (a VM in the way of a plan is a conflict, reported and left alone).

Pending changes: PVE applies cores, sockets, memory, CPU type, SCSI controller, agent and boot order to
a running VM only at its next start. The plan therefore writes the configuration, then reboots a running
VM that still runs with a planned setting it does not have (a stopped VM is simply started). Disks grow
with `resize`; a disk on another storage, or larger than planned, is reported and left to an engineer.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from labsim.provisioners.proxmox.compare import differences, needs_restart
from labsim.provisioners.proxmox.desired import DesiredVm, desired_vms
from labsim.provisioners.proxmox.observed import Observed, observe

Action = Literal["create", "update", "resize", "start", "reboot"]
PHASES: tuple[Action, ...] = ("create", "update", "resize", "start", "reboot")


@dataclass
class Step:
    vm: DesiredVm
    action: Action
    params: dict[str, str] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)

    def describe(self) -> str:
        return f"{self.vm.name} (VM {self.vm.vmid} on {self.vm.node}): {self.action}: {'; '.join(self.reasons)}"


@dataclass
class Plan:
    steps: list[Step]
    notes: list[str] = field(default_factory=list)      # differences the provisioner does not repair
    conflicts: list[str] = field(default_factory=list)  # VMs in the way, left alone

    def empty(self) -> bool:
        return not self.steps

    def describe(self) -> list[str]:
        return ([s.describe() for s in self.steps] + [f"not repaired: {n}" for n in self.notes]
                + [f"conflict: {c}" for c in self.conflicts])

    def vms(self) -> list[str]:
        return sorted({s.vm.name for s in self.steps})


def plan_vm(vm: DesiredVm, observed: Observed) -> Plan:
    have = observed.vms.get(vm.vmid)
    where = f"{vm.name} (VM {vm.vmid})"
    if have is None:
        others = observed.named(vm.name)
        if others:
            o = others[0]
            return Plan([], conflicts=[f"{where}: VM {o.vmid} on {o.node} already has this name; "
                                       f"the lab file plans it as VM {vm.vmid}"])
        return Plan([Step(vm, "create", vm.create_params(), ["missing"]), Step(vm, "start", {}, ["created"])])
    if have.name != vm.name:
        return Plan([], conflicts=[f"{where}: VM {vm.vmid} on {have.node} is {have.name!r}, which the lab file "
                                   f"does not name: left alone"])
    if have.node != vm.node:
        return Plan([], conflicts=[f"{where} is on {have.node}, the lab file plans {vm.node}: "
                                   f"migrating it is left to an engineer"])
    diffs = differences(vm, have.effective)
    steps: list[Step] = []
    sets = [d for d in diffs if d.repair == "set"]
    if sets:
        params = {d.key: d.value for d in sets}
        if have.digest:
            params["digest"] = have.digest   # refuse to overwrite a change made since we read it
        steps.append(Step(vm, "update", params, [d.describe() for d in sets]))
    steps += [Step(vm, "resize", {"disk": d.key, "size": d.value}, [d.describe()]) for d in diffs if d.repair == "resize"]
    notes = [f"{where}: {d.describe()}" for d in diffs if d.repair is None]
    if not have.running:
        steps.append(Step(vm, "start", {}, [f"it is {have.status}"]))
    else:
        late = needs_restart(vm, have.current)
        if late:
            steps.append(Step(vm, "reboot", {}, [d.describe_running() for d in late]))
    return Plan(steps, notes)


def plan_from(desired: list[DesiredVm], observed: Observed) -> Plan:
    out = Plan([])
    for vm in desired:
        p = plan_vm(vm, observed)
        out.steps += p.steps
        out.notes += p.notes
        out.conflicts += p.conflicts
    out.steps.sort(key=lambda s: PHASES.index(s.action))   # stable: plan order within a phase
    return out


def plan(lab, api) -> Plan:
    desired = desired_vms(lab)
    return plan_from(desired, observe(api, {vm.vmid for vm in desired}))
