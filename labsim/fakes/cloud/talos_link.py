"""Where the cloud world and the Talos layer meet: Talos boots on cloud machines, the tailscale extension runs on
its nodes, the Talos API is refused where the network drops the dial, and a kubelet registers only once its
cluster endpoint (a DNS name in the lab's zone: controlplane.internal.<domain>) leads to a control plane it can
reach.
"""
from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

from labsim.fakes.cloud.machine import CloudMachine

if TYPE_CHECKING:
    from labsim.fakes.cloud.world import CloudWorld
    from labsim.fakes.talos.node import TalosNode
    from labsim.fakes.talos.world import TalosWorld


def attach(talos: TalosWorld, cloud: CloudWorld) -> None:
    talos.attach(cloud)
    talos.extensions.append(cloud.tailnet)
    talos.refusals.append(cloud.talos_api_refusal)
    talos.endpoint_checks.append(lambda node: endpoint_leads_to_control_plane(cloud, node))


def endpoint_leads_to_control_plane(cloud: CloudWorld, node: TalosNode) -> bool:
    """Can `node`'s kubelet reach its cluster's API through the configured endpoint? Only names in the lab's zone
    are judged (an IP endpoint, or a name the simulated lab does not serve, is taken as reachable)."""
    if not isinstance(node.vm, CloudMachine) or node.config is None:
        return True
    host = node.config.endpoint_host
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    if not cloud.zone.owns(host):
        return True
    cluster = node.cluster
    if cluster is None:
        return False
    targets = {a.value for a in cloud.zone.resolve(host, "A") if a.type == "A"}
    for cp in cluster.control_planes():
        if cp.reachable and cp.apiserver and cp.address in targets:
            return True
    return False


def locate(talos: TalosWorld):
    """For the node ingress: a machine's Kubernetes (cluster object, node name, whether the node is up)."""
    def find(m: CloudMachine) -> tuple[Any, str, bool] | None:
        node = talos.nodes.get(m.vmid)
        if node is None or node.cluster is None or node.cluster.kube is None:
            return None
        return node.cluster.kube.cluster, node.hostname, node.stage != "off" and m.status == "running"
    return find


def run_pods(talos: TalosWorld, network, runtimes: list) -> None:
    """Run real programs behind simulated pods (labsim/fakes/cloud/pods.py) on every Talos cluster's Kubernetes."""
    from labsim.fakes.cloud.pods import PodRuntime

    def started(cluster) -> None:
        link = cluster.kube

        def node_up(name: str) -> bool:
            node = next((n for n in cluster.nodes.values() if n.hostname == name), None)
            return node is not None and node.stage != "off" and node.reachable

        rt = PodRuntime(link.cluster, server=link.server, network=network, node_up=node_up)
        link.cluster.pod_behaviour.append(rt)
        runtimes.append(rt)
    talos.on_kube_started.append(started)
