"""How long things take on a simulated Talos node, in virtual seconds.

Orders of magnitude from a Talos VM on Proxmox (our choices where no source gives a number): an install
after apply-config pulls the installer and writes the disk in tens of seconds; a reboot takes about as long;
apid answers a few seconds into the boot. VIP failover follows vip.mdx ("almost instantly" on a graceful
shutdown, "typically up to a minute" on a crash); the 10-minute window is the Cilium guide's ("you have
approximately 10 minutes to apply Cilium before the node reboots"); Kubernetes marks a silent kubelet
Unknown after the node monitor grace period (50 s since Kubernetes 1.32).
"""
from __future__ import annotations

MAINTENANCE_APID = 6.0       # ISO boot until the maintenance API answers
INSTALL = 25.0               # apply-config in maintenance mode until the node reboots into the install
REBOOT = 15.0                # firmware and kernel until machined runs again
APID = 5.0                   # machined up until apid answers
ETCD_START = 5.0             # bootstrap (or boot of a node with etcd data) until etcd runs
ETCD_JOIN = 12.0             # a control plane joining a bootstrapped etcd (learner, then promoted)
KUBELET = 8.0                # boot until the kubelet runs
APISERVER = 20.0             # etcd running until the static pods' API server answers
REGISTER = 3.0               # kubelet running (and API reachable) until the Node object exists
CNI_WINDOW = 600.0           # boot sequence waits this long for the node to be Ready, then reboots
VIP_GRACEFUL = 1.0
VIP_CRASH = (15.0, 60.0)     # seeded uniform: the etcd election lease has to expire first
NODE_MONITOR_GRACE = 50.0
