"""Verify the VMs' configuration and power state: read-only checks, each with its evidence.

`vm-config`: the VM exists on its planned node, with its planned name, sizing, CPU type, SCSI controller,
agent, boot order, Talos ISO, disks and NIC; a planned value still pending on a running VM (it applies
only at the next start) is a failure too. `vm-running`: the VM runs. Addresses: see `leases.py`.
"""
from __future__ import annotations

from labsim.provisioners.vocabulary import Result
from labsim.provisioners.proxmox.compare import differences, needs_restart
from labsim.provisioners.proxmox.desired import DesiredVm, desired_vms
from labsim.provisioners.proxmox.observed import Observed, observe
from labsim.provisioners.proxmox.plan import plan_vm


def subject(vm: DesiredVm) -> str:
    return f"{vm.cluster} {vm.name}"


def _summary(vm: DesiredVm) -> str:
    p = vm.plan
    disks = ", ".join(f"{d.slot} {d.size_gib}G on {d.storage}" + (f" ({d.purpose})" if d.purpose != "system" else "")
                      for d in vm.disks)
    nic = f"VLAN {vm.tag}" if vm.tag else "untagged"
    return (f"{p.sockets}x{p.cores} cores, {p.memory_mib} MiB, cpu {p.cpu}, {vm.settings['scsihw']}, "
            f"{disks}, net0 on {vm.bridge} {nic}")


def vm_config(desired: list[DesiredVm], observed: Observed) -> list[Result]:
    out = []
    for vm in desired:
        have = observed.vms.get(vm.vmid)
        conflicts = plan_vm(vm, observed).conflicts
        if have is None or conflicts:
            msg = "; ".join(conflicts) or f"VM {vm.vmid} does not exist on {vm.node}"
            out.append(Result("vm-config", subject(vm), False, msg, {"vmid": vm.vmid, "node": vm.node}))
            continue
        diffs = differences(vm, have.effective)
        seen = {d.key for d in diffs}
        late = [d for d in needs_restart(vm, have.current) if d.key not in seen] if have.running else []
        problems = [d.describe() for d in diffs] + [d.describe_running() for d in late]
        out.append(Result("vm-config", subject(vm), not problems,
                          f"VM {vm.vmid} on {vm.node}: " + ("; ".join(problems) if problems else _summary(vm)),
                          {"vmid": vm.vmid, "node": vm.node, "differences": problems,
                           "pending": have.pending_keys, "config": have.effective}))
    return out


def vm_running(desired: list[DesiredVm], observed: Observed) -> list[Result]:
    out = []
    for vm in desired:
        have = observed.vms.get(vm.vmid)
        status = have.status if have is not None and have.name == vm.name else "missing"
        out.append(Result("vm-running", subject(vm), status == "running", f"VM {vm.vmid} is {status}",
                          {"vmid": vm.vmid, "status": status}))
    return out


def observe_lab(lab, api) -> tuple[list[DesiredVm], Observed]:
    desired = desired_vms(lab)
    return desired, observe(api, {vm.vmid for vm in desired})


def verify_config(lab, api) -> list[Result]:
    desired, observed = observe_lab(lab, api)
    return vm_config(desired, observed) + vm_running(desired, observed)


def reported(results: list[Result], name: str, pattern: str, check: str) -> list[Result]:
    """Verification reports something about VM `name`: its result fails with a message matching `pattern`."""
    import re

    found = [r for r in results if r.subject.endswith(f" {name}")]
    if not found:
        return [Result(check, name, False, f"no result for VM {name!r}")]
    return [Result(check, r.subject, not r.ok and re.search(pattern, r.message) is not None,
                   r.message, {"differences": r.evidence.get("differences")}) for r in found]
