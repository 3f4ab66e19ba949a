@proxmox
Feature: The cluster VMs run on Proxmox VE, sized as planned, each with a lease on its cluster VLAN
  Each Talos cluster's control planes and workers are VMs on the Proxmox host, created and kept as the
  lab file plans them: cores, memory, CPU type, VirtIO SCSI, the system disk and (on workers) a blank
  disk for Ceph, a VirtIO NIC tagged with the cluster's VLAN on the VLAN-aware bridge, the guest agent,
  the Talos ISO and a boot order that falls through to it. Every VM runs and holds a DHCP lease in its
  cluster subnet from the device that serves its VLAN, which only happens when the fabric carries that
  VLAN to the Proxmox host. Provisioning is safe to repeat, a failed task stops the run with PVE's own
  words and the next run finishes the job, and changes made by hand are found and repaired.

  Background:
    Given the lab file passes its intent checks
    And the fabric is provisioned
    And the VMs are provisioned

  Scenario: The VMs of each cluster exist with the planned sizing and disks
    Then each cluster's VMs exist with the planned sizing and disks
    And every VM is running

  Scenario: Every VM holds a lease in its cluster subnet from the right DHCP server
    Then every VM holds a lease in its cluster subnet from its VLAN's DHCP server

  @drift @destructive @writes
  Scenario: A VLAN missing on the Proxmox trunk leaves its VMs without addresses and the report names the hop
    When an engineer removes "VLAN1500" from trunk "sfp-sfpplus3" on "crs328-01" by hand
    Then the VMs of "talos-east" have no address and the report names "crs328-01 sfp-sfpplus3"
    And the VMs of "talos-west" still hold their leases
    When the fabric is applied
    Then every VM holds a lease in its cluster subnet from its VLAN's DHCP server

  @idempotence @writes
  Scenario: A second apply of the VMs changes nothing
    When the VMs are applied again
    Then no VM was changed

  @destructive @writes @sim_only
  Scenario: A failed create task is reported and a rerun converges
    When an engineer destroys "wrk-w-3" by hand
    And the next "qmcreate" task on the Proxmox host fails with "unable to create VM 2013 - lvcreate 'pve/vm-2013-disk-0' failed: insufficient free space"
    And the VMs are applied
    Then the run stops at "wrk-w-3" with the task's exit status "unable to create VM 2013 - lvcreate 'pve/vm-2013-disk-0' failed: insufficient free space" and its last log line
    When the VMs are applied again
    Then the VMs verify clean

  @drift @destructive @writes
  Scenario: VMs changed by hand are found and repaired
    When an engineer changes the memory of "cp-e-1" to 16384 MiB and reboots it by hand
    And an engineer moves "wrk-e-2" to VLAN 2000 by hand
    And an engineer stops "cp-w-2" by hand
    Then verification reports that "cp-e-1" has memory 16384 instead of 32768
    And verification reports that "wrk-e-2" is on VLAN 2000 instead of 1500
    And verification reports that "cp-w-2" is stopped
    When the VMs are applied
    Then the VMs verify clean
    And only the VMs "cp-e-1", "wrk-e-2" and "cp-w-2" were changed by the repair
