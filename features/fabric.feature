@fabric
Feature: The VLAN fabric carries, serves and routes every lab VLAN
  The MikroTik devices carry the management network, piNet and the two Talos cluster VLANs to the
  Proxmox host and the Pi nodes, serve each VLAN's DHCP from exactly one device, and route between
  the two cluster VLANs so that the ClusterMesh can form. Provisioning is safe to repeat, and changes
  made by hand are found and repaired.

  Background:
    Given the lab file passes its intent checks
    And the fabric is provisioned

  Scenario: Every VLAN exists on every device with its address
    Then every VLAN has its interface and address on every device

  Scenario: Each cluster VLAN is carried from its DHCP device to the hosts that need it
    Then each cluster VLAN is carried hop by hop from its DHCP device to the hosts that need it

  Scenario: Each VLAN has exactly one DHCP server with its pool inside its subnet
    Then each VLAN has exactly one DHCP server with its pool inside its subnet

  Scenario: The two cluster VLANs are routed to each other for the mesh
    Then traffic is routed between "VLAN1500" and "VLAN2000"

  Scenario: The devices' whole configuration matches the lab file
    Then every device's configuration matches the lab file

  @idempotence @writes
  Scenario: A second apply changes nothing
    When the fabric is applied again
    Then no device accepted any change

  @drift @destructive @writes
  Scenario: A VLAN removed from a trunk by hand is found, traced and repaired
    When an engineer removes "VLAN1500" from trunk "sfp-sfpplus3" on "crs328-01" by hand
    Then verification reports that "crs328-01" no longer tags "sfp-sfpplus3" for VLAN 1500
    And the trace of "VLAN1500" to "pve:enp1s0f0" stops at "crs328-01 sfp-sfpplus3"
    When the fabric is applied
    Then the fabric verifies clean
    And only "crs328-01" was changed by the repair

  @drift @destructive @writes
  Scenario: An address changed by hand is found and repaired
    When an engineer changes the address on "VLAN2000" of "rb5009-02" to "192.168.20.99/24" by hand
    Then verification reports that "rb5009-02" has "192.168.20.99/24" on "VLAN2000" instead of "192.168.20.3/24"
    When the fabric is applied
    Then the fabric verifies clean
    And only "rb5009-02" was changed by the repair

  @intent
  Scenario: An invalid lab file is refused before any device is contacted
    Given a copy of the lab file where the DHCP pool of "VLAN1500" is "192.168.16.20-192.168.16.127"
    When the fabric is provisioned from that copy
    Then the run is refused before any device is contacted
    And the refusal names check "pool-outside-subnet" at "vlans[VLAN1500].dhcp.pool[0]"
