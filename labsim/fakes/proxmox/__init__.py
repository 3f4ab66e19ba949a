"""The simulated Proxmox VE: a cluster model (`ProxmoxCluster`, `ProxmoxNode`) and its HTTPS API face
(`ProxmoxServer`) that `proxmoxer` talks to exactly as it talks to a real PVE 8.

    from labsim.fakes.clock import VirtualClock
    from labsim.fakes.pki import CA
    from labsim.fakes.proxmox import ProxmoxCluster, ProxmoxNode, ProxmoxServer

    clock = VirtualClock()
    node = ProxmoxNode.from_dict(lab["proxmox"]["nodes"][0])
    cluster = ProxmoxCluster([node], clock, users={"root@pam": "pw"}, tokens={"root@pam!ci": "secret"})
    server = ProxmoxServer(cluster, ca=CA.generate()).start()
    prox = ProxmoxAPI(server.host_port, user="root@pam", token_name="ci", token_value="secret",
                      verify_ssl=server.ca.cert_path)
"""
from labsim.fakes.proxmox.cluster import ProxmoxCluster, ProxmoxNode
from labsim.fakes.proxmox.faults import Faults
from labsim.fakes.proxmox.qemu import QemuVM
from labsim.fakes.proxmox.server import ProxmoxServer

__all__ = ["Faults", "ProxmoxCluster", "ProxmoxNode", "ProxmoxServer", "QemuVM"]
