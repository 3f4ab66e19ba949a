"""Hosts reached over SSH (the Proxmox host, the Pi nodes) and the operator's workstation: testinfra
checks (`checks`), SSH endpoints and connections (`endpoints`, `connect`), and the Ansible inventory for
rancherfederal/rke2-ansible (`inventory`, `python -m labsim.provisioners inventory LABFILE`).
"""
