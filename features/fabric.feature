@fabric
Feature: The VLAN fabric carries, serves and routes every lab VLAN
  The lab's RouterOS devices carry its VLANs to the Proxmox nodes and hosts that need them, serve each VLAN's
  DHCP from exactly one device, and route between the VLANs of the mesh's members so that the ClusterMesh can
  form. Provisioning is safe to repeat, and changes made by hand are found and repaired.

  Background:
    Given the lab file passes its intent checks
    And the fabric is provisioned

  Scenario: Every VLAN exists on every device with its address
    Then every VLAN has its interface and address on every device

  Scenario Outline: Each VLAN is carried from its DHCP device to the machines that need it
    Then <vlans> are carried hop by hop from their DHCP device to the machines that need them

    Examples:
      | vlans                             |
      | the VLANs the lab's machines need |

  Scenario Outline: Each VLAN with DHCP has exactly one DHCP server with its pool inside its subnet
    Then <vlans> each have exactly one DHCP server with its pool inside its subnet

    Examples:
      | vlans               |
      | the VLANs with DHCP |

  Scenario Outline: The VLANs <pair> of two mesh members are routed to each other
    Then traffic is routed between "<pair.a>" and "<pair.b>"

    Examples:
      | pair                             |
      | each connected pair of mesh VLANs |

  Scenario: The devices' whole configuration matches the lab file
    Then every device's configuration matches the lab file

  @idempotence @writes
  Scenario: A second apply changes nothing
    When the fabric is applied again
    Then no device accepted any change

  @drift @destructive @writes
  Scenario Outline: A VLAN removed from a trunk by hand is found, traced and repaired
    When an engineer removes "<trunk.vlan>" from trunk "<trunk.port>" on "<trunk.device>" by hand
    Then verification reports that "<trunk.device>" no longer tags "<trunk.port>" for VLAN <trunk.vid>
    And the trace of "<trunk.vlan>" to "<trunk.target>" stops at "<trunk.hop>"
    When the fabric is applied
    Then the fabric verifies clean
    And only "<trunk.device>" was changed by the repair

    Examples:
      | trunk                                              |
      | a VLAN tagged on a trunk to a machine that needs it |

  @drift @destructive @writes
  Scenario Outline: An address changed by hand is found and repaired
    When an engineer changes the address on "<gateway.vlan>" of "<gateway.device>" to "<gateway.new>" by hand
    Then verification reports that "<gateway.device>" has "<gateway.new>" on "<gateway.vlan>" instead of "<gateway.have>"
    When the fabric is applied
    Then the fabric verifies clean
    And only "<gateway.device>" was changed by the repair

    Examples:
      | gateway                  |
      | a VLAN gateway's address |

  @intent
  Scenario Outline: An invalid lab file is refused before any device is contacted
    Given a copy of the lab file where the DHCP pool of "<vlan.vlan>" is "<vlan.outside>"
    When the fabric is provisioned from that copy
    Then the run is refused before any device is contacted
    And the refusal names check "pool-outside-subnet" at "<vlan.path>"

    Examples:
      | vlan             |
      | a VLAN with DHCP |
