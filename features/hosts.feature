@hosts
Feature: The lab's hosts run what the lab needs
  The Proxmox host runs its API services and carries the cluster VLANs on its VLAN-aware bridge, checked
  over SSH with testinfra exactly as an engineer would check it by hand. The operator's workstation has
  the command-line tools the lab file pins, at the versions it expects.

  Scenario: The Proxmox host runs its API services
    Given the lab's hosts answer over SSH
    Then every Proxmox node runs pve-cluster, pvedaemon and pveproxy, enabled, with the API on port 8006

  Scenario: The Proxmox host's bridge carries every cluster VLAN
    Given the lab's hosts answer over SSH
    Then every Proxmox node has its bridges as the lab file says, carrying the VLANs of its clusters

  @lab_only @workstation
  Scenario: The operator's workstation has the lab's tools
    Then the workstation has every tool the lab file pins, at the version it expects
