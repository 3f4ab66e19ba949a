"""The VMs from end to end: plan from what PVE reports, apply (the lab file was checked by the caller), verify.

    plan(lab, api) -> Plan    apply(plan, api, clock) -> ApplyReport    verify(lab, api, connect, clock) -> [Result]
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from labsim.provisioners.proxmox.apply import ApplyReport
from labsim.provisioners.proxmox.apply import apply as apply_steps
from labsim.provisioners.proxmox.leases import vm_leases
from labsim.provisioners.proxmox.plan import Plan
from labsim.provisioners.proxmox.plan import plan as plan_steps
from labsim.provisioners.proxmox.verify import verify_config
from labsim.provisioners.vocabulary import Clock, Result


@dataclass
class Provisioned:
    plan: Plan
    report: ApplyReport


def plan(lab, api) -> Plan:
    return plan_steps(lab, api)


def apply(p: Plan, api, clock: Clock, **kw) -> ApplyReport:
    return apply_steps(p, api, clock, **kw)


def verify(lab, api, connect: Callable[[str], Any], clock: Clock) -> list[Result]:
    """Sizing, disks and power of every planned VM, and each one's lease on its VLAN (read from the DHCP device)."""
    return verify_config(lab, api) + vm_leases(lab, api, connect, clock)


def provision(lab, api, clock: Clock, **kw) -> Provisioned:
    p = plan_steps(lab, api)
    return Provisioned(p, apply_steps(p, api, clock, **kw))
