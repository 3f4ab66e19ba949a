"""Proxmox VE: the cluster VMs of the lab file, planned from what the API reports, applied with proxmoxer,
verified read-only (sizing, disks, running, and a DHCP lease on the cluster VLAN cross-checked with the
RouterOS lease table)."""
