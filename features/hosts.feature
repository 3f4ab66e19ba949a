@hosts
Feature: The lab's hosts run what the lab needs
  Each Proxmox node runs its API services and carries its clusters' VLANs on its VLAN-aware bridge, checked
  over SSH with testinfra exactly as an engineer would check it by hand. The operator's workstation has
  the command-line tools the lab file pins, at the versions it expects.

  Scenario Outline: The Proxmox hosts run their API services
    Given the lab's hosts answer over SSH
    Then the Proxmox nodes <nodes> run pve-cluster, pvedaemon and pveproxy, enabled, with the API on port 8006

    Examples:
      | nodes                             |
      | the Proxmox nodes with SSH logins |

  Scenario Outline: The Proxmox hosts' bridges carry their clusters' VLANs
    Given the lab's hosts answer over SSH
    Then the Proxmox nodes <nodes> have their bridges as the lab file says, carrying the VLANs of their clusters

    Examples:
      | nodes                             |
      | the Proxmox nodes with SSH logins |

  @lab_only @workstation
  Scenario Outline: The operator's workstation has the lab's tools
    Then the workstation has <tools> at the versions the lab file pins

    Examples:
      | tools                     |
      | the tools the lab file pins |
