"""Every Proxmox scenario passes on a healthy simulated lab and fails on a lab broken the way it describes.

Same method as test_broken_lab.py: the real feature runs in a subprocess with `--sim-break NAME`; VM
breakages strike right after "the VMs are provisioned" (see labsim/steps/breakages.py `breaks_after`).
"""
from __future__ import annotations


import pytest

from tests.features.test_broken_lab import ROOT, assert_scenario_fails, cases, scenario_names

FEATURE = ROOT / "features" / "proxmox.feature"
HAND = "VMs changed by hand are found and repaired"
CREATE = "A failed create task is reported and a rerun converges"
HOP = "A VLAN missing on the Proxmox trunk leaves its VMs without addresses and the report names the hop"

CASES = [
    # (scenario, breakage, text the failure must contain[, the Then step that fails with it[, strike before this step]])
    ("The VMs of each cluster exist with the planned sizing and disks", "vm-memory-shrunk", "memory is 16384, want 32768",
     "each cluster's VMs exist with the planned sizing and disks"),
    ("The VMs of each cluster exist with the planned sizing and disks", "vm-stopped", "VM 2002 is stopped",
     "every VM is running"),
    ("Every VM holds a lease in its cluster subnet from the right DHCP server", "proxmox-cable-pulled",
     "stops at crs328-01 sfp-sfpplus3", "every VM holds a lease in its cluster subnet from its VLAN's DHCP server"),
    ("A VLAN missing on the Proxmox trunk leaves its VMs without addresses and the report names the hop",
     "vm-moved-to-another-vlan", "[talos-east wrk-e-2]: holds 192.168.20.",
     'the VMs of "<hop>" have no address and the report names "<hop.hop>"', None,
     (("every VM holds a lease in its cluster subnet from its VLAN's DHCP server",
       "[talos-east wrk-e-2]: no address in 192.168.15.0/24: its NIC is on vmbr0 VLAN 2000"),)),
    ("A second apply of the VMs changes nothing", "vm-stopped", "the second plan is not empty", "no VM was changed"),
    ("A failed create task is reported and a rerun converges", "proxmox-refuses-creates",
     "exit status \"unable to create VM - lvcreate 'pve/vm-disk' failed: insufficient free space\", expected",
     'the run stops at "<vm>" with the task\'s exit status "unable to create VM <vm.vmid> - lvcreate '
     '\'pve/vm-<vm.vmid>-disk-0\' failed: insufficient free space" and its last log line'),
    ("VMs changed by hand are found and repaired", "proxmox-refuses-starts",
     "cp-w-2 (VM 2002 on pve) start failed: start failed: QEMU exited with code 1"),
    # a second engineer puts back what the first changed: verification finds nothing, and the repair writes nothing
    (HAND, "vm-hand-edits-undone", "32768 MiB",
     'verification reports that "<vms.first>" has memory <vms.first less memory> instead of <vms.first memory>', None,
     (('verification reports that "<vms.second>" is on VLAN <vms.other vid> instead of <vms.second vid>', "net0 on vmbr0 VLAN 1500"),
      ('verification reports that "<vms.third>" is stopped', "is running"),
      ('only the VMs "<vms.first>", "<vms.second>" and "<vms.third>" were changed by the repair',
       "the repair changed [], expected only"))),
    # a VM powered off after the repair (or the rerun): Proxmox reports it stopped
    (HAND, "vm-stopped", "is stopped", "the VMs verify clean", "the VMs verify clean"),
    (CREATE, "vm-stopped", "is stopped", "the VMs verify clean", "the VMs verify clean"),
    (HOP, "vm-of-other-cluster-powered-off", "is not running", "the VMs of <hop.others> still hold their leases"),
]


@pytest.mark.parametrize("case", cases(CASES))
def test_proxmox_scenario_fails_when_lab_is_broken(tmp_path, case):
    assert_scenario_fails(tmp_path, *case)


def test_every_proxmox_scenario_has_a_breaking_case():
    """test_broken_lab.py runs every feature on a healthy lab; here every scenario must have a case."""
    scenarios = scenario_names(FEATURE)
    assert sorted(set(scenarios)) == sorted({c[0] for c in CASES})
