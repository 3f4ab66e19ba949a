"""The VMs from end to end: plan from what PVE reports, apply (the lab file was checked by the caller)."""
from __future__ import annotations

from dataclasses import dataclass

from labsim.provisioners.vocabulary import Clock
from labsim.provisioners.proxmox.apply import ApplyReport, apply
from labsim.provisioners.proxmox.plan import Plan, plan


@dataclass
class Provisioned:
    plan: Plan
    report: ApplyReport


def provision(lab, api, clock: Clock, **kw) -> Provisioned:
    p = plan(lab, api)
    return Provisioned(p, apply(p, api, clock, **kw))
