@proxmox
Feature: The cluster VMs run on Proxmox VE, sized as planned, each with a lease on its cluster VLAN
  Each Talos cluster's control planes and workers are VMs on their Proxmox node, created and kept as the
  lab file plans them: cores, memory, CPU type, VirtIO SCSI, the system disk and (where planned) a blank
  disk for Ceph, a VirtIO NIC tagged with the cluster's VLAN on the VLAN-aware bridge, the guest agent,
  the Talos ISO and a boot order that falls through to it. Every VM runs and holds a DHCP lease in its
  cluster subnet from the device that serves its VLAN, which only happens when the fabric carries that
  VLAN to the Proxmox node. Provisioning is safe to repeat, a failed task stops the run with PVE's own
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
  Scenario Outline: A VLAN missing on the Proxmox trunk leaves its VMs without addresses and the report names the hop
    When an engineer removes "<hop.vlan>" from trunk "<hop.port>" on "<hop.device>" by hand
    Then the VMs of "<hop>" have no address and the report names "<hop.hop>"
    And the VMs of <hop.others> still hold their leases
    When the fabric is applied
    Then every VM holds a lease in its cluster subnet from its VLAN's DHCP server

    Examples:
      | hop                                                                            |
      | a cluster VLAN tagged on the trunk to its Proxmox node, and a cluster on another VLAN |

  @idempotence @writes
  Scenario: A second apply of the VMs changes nothing
    When the VMs are applied again
    Then no VM was changed

  # sim_only: makes Proxmox fail a create task (a thin pool with no room) through the simulator's fault injection; a real node cannot be made to fail one on purpose
  @destructive @writes @sim_only
  Scenario Outline: A failed create task is reported and a rerun converges
    When an engineer destroys "<vm>" by hand
    And the next "qmcreate" task on the Proxmox host fails with "unable to create VM <vm.vmid> - lvcreate 'pve/vm-<vm.vmid>-disk-0' failed: insufficient free space"
    And the VMs are applied
    Then the run stops at "<vm>" with the task's exit status "unable to create VM <vm.vmid> - lvcreate 'pve/vm-<vm.vmid>-disk-0' failed: insufficient free space" and its last log line
    When the VMs are applied again
    Then the VMs verify clean

    Examples:
      | vm          |
      | the last VM |

  @drift @destructive @writes
  Scenario Outline: VMs changed by hand are found and repaired
    When an engineer changes the memory of "<vms.first>" to <vms.first less memory> MiB and reboots it by hand
    And an engineer moves "<vms.second>" to VLAN <vms.other vid> by hand
    And an engineer stops "<vms.third>" by hand
    Then verification reports that "<vms.first>" has memory <vms.first less memory> instead of <vms.first memory>
    And verification reports that "<vms.second>" is on VLAN <vms.other vid> instead of <vms.second vid>
    And verification reports that "<vms.third>" is stopped
    When the VMs are applied
    Then the VMs verify clean
    And only the VMs "<vms.first>", "<vms.second>" and "<vms.third>" were changed by the repair

    Examples:
      | vms                             |
      | three VMs of the lab's clusters |
