"""Steps for features/proxmox.feature: thin glue from a sentence to the VM provisioner."""
from __future__ import annotations

import re

import pytest
from pytest_bdd import given, parsers, then, when

from labsim.provisioners.proxmox.apply import ProxmoxApplyError
from labsim.provisioners.proxmox.leases import vm_leases
from labsim.provisioners.proxmox.run import provision
from labsim.provisioners.proxmox.verify import observe_lab, vm_config, vm_running
from labsim.steps import proxmox_hands as hands
from labsim.steps.fabric_steps import _check
from labsim.steps.fabric_steps import no_change as nothing_changed

QUOTED = re.compile(r'"([^"]+)"')


@pytest.fixture
def vms():
    """What a scenario has seen so far: applies, an expected failure."""
    return {}


def _config(target):
    desired, observed = observe_lab(target.lab, target.proxmox())
    return vm_config(desired, observed) + vm_running(desired, observed)


def _leases(target, **kw):
    return vm_leases(target.lab, target.proxmox(), target.routeros, target.clock, **kw)


def _of(results, name):
    found = [r for r in results if r.subject.endswith(f" {name}")]
    assert found, f"no result for VM {name!r}"
    return found


# --- Background --------------------------------------------------------------------------------------
@given("the VMs are provisioned")
def vms_provisioned(target, vms, evidence):
    api = target.proxmox()
    if target.writes_allowed:
        done = provision(target.lab, api, target.clock)
        evidence.attach("vm-plan", done.plan.describe())
        vms.setdefault("applies", []).append(done)
    else:
        evidence.attach("vm-provision", "read-only run: the VMs are verified as found (no --apply)")
    evidence.lab_version("Proxmox VE", str(api.version.get().get("version", "")))


# --- Apply ---------------------------------------------------------------------------------------------
@when("the VMs are applied again")
@when("the VMs are applied")
def vms_apply(target, vms, evidence):
    vms["writes_before"] = target.device_writes()
    try:
        done = provision(target.lab, target.proxmox(), target.clock)
    except ProxmoxApplyError as exc:
        if not vms.pop("expect_failure", False):
            raise
        vms["failed"] = exc
        evidence.attach("apply-failure", str(exc))
        return
    evidence.attach("vm-plan", done.plan.describe())
    vms.setdefault("applies", []).append(done)


# --- Verification ----------------------------------------------------------------------------------------
@then("each cluster's VMs exist with the planned sizing and disks")
def sizing(target, evidence):
    desired, observed = observe_lab(target.lab, target.proxmox())
    _check(evidence, "vm-config", vm_config(desired, observed))


@then("every VM is running")
def running(target, evidence):
    desired, observed = observe_lab(target.lab, target.proxmox())
    _check(evidence, "vm-running", vm_running(desired, observed))


@then("every VM holds a lease in its cluster subnet from its VLAN's DHCP server")
def leases(target, evidence):
    _check(evidence, "vm-lease", _leases(target))


@then("the VMs verify clean")
def verify_clean(target, evidence):
    _check(evidence, "vm-verify", _config(target) + _leases(target))


@then(parsers.parse('the VMs of "{cluster}" have no address and the report names "{hop}"'))
def no_address(target, evidence, cluster, hop):
    results = _leases(target, clusters=[cluster], timeout=60)
    evidence.attach("vm-lease", [r.__dict__ for r in results])
    assert results, f"the lab file plans no VM for cluster {cluster!r}"
    held = [f"{r.subject} holds {', '.join(f'{a}/{p}' for a, p in r.evidence['agent'])}" for r in results
            if r.evidence.get("agent")]
    assert not held, "VMs still hold an address: " + "; ".join(held)
    unnamed = [str(r) for r in results if r.evidence.get("stopped_at") != hop]
    assert not unnamed, f"the report does not name {hop!r} for:\n" + "\n".join(unnamed)


@then(parsers.parse('the VMs of "{cluster}" still hold their leases'))
def still_leased(target, evidence, cluster):
    _check(evidence, "vm-lease", _leases(target, clusters=[cluster]))


# --- Idempotence -----------------------------------------------------------------------------------------
@then("no VM was changed")
def no_vm_changed(target, vms):
    nothing_changed(target, vms)   # the fabric's rule, on the same record: last apply's plan, report, writes


@then(parsers.parse("only the VMs {names} were changed by the repair"))
def only_changed(vms, names):
    want = sorted(QUOTED.findall(names))
    changed = sorted(n for n, w in vms["applies"][-1].report.writes.items() if w)
    assert changed == want, f"the repair changed {changed}, expected only {want}"


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
    (r,) = _of(vm_config(*observe_lab(target.lab, target.proxmox())), name)
    evidence.attach("differences", r.evidence.get("differences"))
    assert f"memory is {have}, want {want}" in r.message, r.message


@then(parsers.parse('verification reports that "{name}" is on VLAN {have:d} instead of {want:d}'))
def reports_vlan(target, evidence, name, have, want):
    (r,) = _of(vm_config(*observe_lab(target.lab, target.proxmox())), name)
    evidence.attach("differences", r.evidence.get("differences"))
    assert re.search(rf"net0 is \S+ on \S+ VLAN {have}, want \S+ on \S+ VLAN {want}\b", r.message), r.message


@then(parsers.parse('verification reports that "{name}" is stopped'))
def reports_stopped(target, evidence, name):
    (r,) = _of(vm_running(*observe_lab(target.lab, target.proxmox())), name)
    evidence.attach("vm-running", r.__dict__)
    assert not r.ok and "stopped" in r.message, r.message


# --- Faults (simulator only) -------------------------------------------------------------------------------
@when(parsers.parse('the next "{kind}" task on the Proxmox host fails with "{message}"'))
def next_task_fails(target, vms, kind, message):
    target.sim.world.proxmox.faults.fail_next_task(kind, message)
    vms["expect_failure"] = True


@then(parsers.parse('the run stops at "{name}" with the task\'s exit status "{status}" and its last log line'))
def run_stopped(vms, evidence, name, status):
    exc = vms.get("failed")
    assert exc is not None, "the run did not stop"
    evidence.attach("failure", str(exc))
    assert exc.step.vm.name == name, f"the run stopped at {exc.step.vm.name}, expected {name}: {exc}"
    assert exc.message == status, f"exit status {exc.message!r}, expected {status!r}"
    assert exc.last_log and exc.last_log in str(exc), f"the last log line is missing from: {exc}"
