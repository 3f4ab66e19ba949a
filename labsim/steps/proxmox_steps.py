"""Steps for features/proxmox.feature: thin glue from a sentence to the VM provisioner."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest
from labsim.steps.checkpoints import builds
from pytest_bdd import given, parsers, then, when

from labsim.provisioners.proxmox.apply import ProxmoxApplyError, stopped_at
from labsim.provisioners.proxmox.leases import vm_leases, without_address
from labsim.provisioners.proxmox.run import Provisioned, provision
from labsim.provisioners.proxmox.verify import observe_lab, reported, vm_config, vm_running
from labsim.provisioners.vocabulary import only_changed, unchanged
from labsim.steps import proxmox_hands as hands
from labsim.steps.common import holds
from labsim.steps.subjects import names

QUOTED = re.compile(r'"([^"]+)"')


@dataclass
class VmRun:
    """What a VM scenario has seen: its applies, the write counters before the last, an expected failure."""

    applies: list[Provisioned] = field(default_factory=list)
    writes_before: dict[str, int] | None = None
    expect_failure: bool = False
    failed: ProxmoxApplyError | None = None


@pytest.fixture
def vms() -> VmRun:
    return VmRun()


def _config(target):
    desired, observed = observe_lab(target.lab, target.proxmox())
    return vm_config(desired, observed) + vm_running(desired, observed)


def _leases(target, **kw):
    return vm_leases(target.lab, target.proxmox(), target.routeros, target.clock, **kw)


# --- Background --------------------------------------------------------------------------------------
@given("the VMs are provisioned", target_fixture="vms")
@builds
def vms_provisioned(target, vms, evidence) -> VmRun:
    api = target.proxmox()
    if target.writes_allowed:
        done = provision(target.lab, api, target.clock)
        evidence.attach("vm-plan", done.plan.describe())
        vms.applies.append(done)
    else:
        evidence.attach("vm-provision", "read-only run: the VMs are verified as found (no --apply)")
    evidence.lab_version("Proxmox VE", str(api.version.get().get("version", "")))
    return vms


# --- Apply ---------------------------------------------------------------------------------------------
@when("the VMs are applied again")
@when("the VMs are applied")
def vms_apply(target, vms, evidence):
    vms.writes_before = target.device_writes()
    try:
        done = provision(target.lab, target.proxmox(), target.clock)
    except ProxmoxApplyError as exc:
        if not vms.expect_failure:
            raise
        vms.expect_failure, vms.failed = False, exc
        evidence.attach("apply-failure", str(exc))
        return
    evidence.attach("vm-plan", done.plan.describe())
    vms.applies.append(done)


# --- Verification ----------------------------------------------------------------------------------------
@then("each cluster's VMs exist with the planned sizing and disks")
def sizing(target, evidence):
    holds(evidence, "vm-config", vm_config(*observe_lab(target.lab, target.proxmox())))


@then("every VM is running")
def running(target, evidence):
    holds(evidence, "vm-running", vm_running(*observe_lab(target.lab, target.proxmox())))


@then("every VM holds a lease in its cluster subnet from its VLAN's DHCP server")
def leases(target, evidence):
    holds(evidence, "vm-lease", _leases(target))


@then("the VMs verify clean")
def verify_clean(target, evidence):
    holds(evidence, "vm-verify", _config(target) + _leases(target))


@then(parsers.parse('the VMs of "{cluster}" have no address and the report names "{hop}"'))
def no_address(target, evidence, cluster, hop):
    holds(evidence, "vm-without-address", without_address(_leases(target, clusters=[cluster], timeout=60), hop))


@then(parsers.parse("the VMs of {clusters} still hold their leases"))
def still_leased(target, evidence, clusters):
    holds(evidence, "vm-lease", _leases(target, clusters=names(clusters)))


# --- Idempotence -----------------------------------------------------------------------------------------
@then("no VM was changed")
def no_vm_changed(target, vms, evidence):
    last = vms.applies[-1]
    holds(evidence, "second-apply", unchanged("VMs", last.plan, last.report.writes, vms.writes_before,
                                              target.device_writes()))


@then(parsers.parse("only the VMs {vm_names} were changed by the repair"))
def only_vms_changed(vms, evidence, vm_names):
    holds(evidence, "repair-scope", only_changed("VMs", vms.applies[-1].report.writes, QUOTED.findall(vm_names)))


# --- Drift -------------------------------------------------------------------------------------------------
@when(parsers.parse('an engineer changes the memory of "{name}" to {mib:d} MiB and reboots it by hand'))
def memory_by_hand(target, name, mib):
    hands.set_memory_and_reboot(target, name, mib)


@when(parsers.parse('an engineer moves "{name}" to VLAN {vid:d} by hand'))
def vlan_by_hand(target, name, vid):
    hands.move_to_vlan(target, name, vid)


@when(parsers.parse('an engineer stops "{name}" by hand'))
def stop_by_hand(target, name):
    hands.stop(target, name)


@when(parsers.parse('an engineer destroys "{name}" by hand'))
def destroy_by_hand(target, name):
    hands.destroy(target, name)


@then(parsers.parse('verification reports that "{name}" has memory {have:d} instead of {want:d}'))
def reports_memory(target, evidence, name, have, want):
    holds(evidence, "differences", reported(vm_config(*observe_lab(target.lab, target.proxmox())), name,
                                            rf"memory is {have}, want {want}\b", "reports-memory"))


@then(parsers.parse('verification reports that "{name}" is on VLAN {have:d} instead of {want:d}'))
def reports_vlan(target, evidence, name, have, want):
    holds(evidence, "differences", reported(vm_config(*observe_lab(target.lab, target.proxmox())), name,
                                            rf"net0 is \S+ on \S+ VLAN {have}, want \S+ on \S+ VLAN {want}\b",
                                            "reports-vlan"))


@then(parsers.parse('verification reports that "{name}" is stopped'))
def reports_stopped(target, evidence, name):
    holds(evidence, "vm-running", reported(vm_running(*observe_lab(target.lab, target.proxmox())), name,
                                           "stopped", "reports-stopped"))


# --- Faults (simulator only) -------------------------------------------------------------------------------
@when(parsers.parse('the next "{kind}" task on the Proxmox host fails with "{message}"'))
def next_task_fails(target, vms, kind, message):
    target.sim.world.proxmox.faults.fail_next_task(kind, message)
    vms.expect_failure = True


@then(parsers.parse('the run stops at "{name}" with the task\'s exit status "{status}" and its last log line'))
def run_stopped(vms, evidence, name, status):
    if vms.failed is not None:
        evidence.attach("failure", str(vms.failed))
    holds(evidence, "run-stopped", stopped_at(vms.failed, name, status))
