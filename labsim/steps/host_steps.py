"""Steps for features/hosts.feature and features/picluster.feature: thin glue to labsim.provisioners.hosts.

Hosts are reached through testinfra (paramiko backend over SSH, host keys verified; `local` for the
workstation). The SSH endpoints come from the target: the simulated lab's SSH servers in sim, the lab
file's addresses and `ssh:` logins against a real lab.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from pytest_bdd import given, parsers, then

from labsim.provisioners.hosts import checks as hc
from labsim.provisioners.hosts import run as hosts_run
from labsim.provisioners.hosts.connect import HostUnreachable, close_host, open_host
from labsim.provisioners.hosts.endpoints import for_target
from labsim.provisioners.hosts.nodes import nodes_ready
from labsim.provisioners.lab.model import Rke2Cluster
from labsim.provisioners.mesh_plan import mesh_plan
from labsim.provisioners.vocabulary import Result
from labsim.steps.common import holds
from labsim.steps.subjects import names

KUBE_REASON = ("needs a Kubernetes client from the target (target.kubernetes(cluster)); the Kubernetes API "
               "fake (labsim/fakes/kube) is not wired into the targets yet")


@dataclass
class SshHosts:
    """The hosts a scenario logged in to: name -> testinfra host, closed when the scenario ends."""

    opened: dict[str, Any] = field(default_factory=dict)

    def host(self, name: str):
        assert name in self.opened, f"{name} has no ssh: login in the lab file"
        return self.opened[name]


@pytest.fixture
def ssh_hosts(target):
    hosts = SshHosts()
    yield hosts
    for host in hosts.opened.values():
        close_host(host)


@given("the lab's hosts answer over SSH", target_fixture="ssh_hosts")
def hosts_answer(target, ssh_hosts, evidence) -> SshHosts:
    eps = for_target(target)
    results = []
    for name, ep in eps.items():
        try:
            ssh_hosts.opened[name] = open_host(ep)
            results.append(Result("ssh-login", name, True, f"{ep.user}@{ep.address} answers"))
        except (HostUnreachable, OSError) as exc:
            results.append(Result("ssh-login", name, False, str(exc)))
    evidence.attach("ssh-hosts", {n: {"address": e.address, "user": e.user, "sudo": e.sudo} for n, e in eps.items()})
    holds(evidence, "ssh-logins", results)
    return ssh_hosts


@then(parsers.parse("the Proxmox nodes {nodes} run pve-cluster, pvedaemon and pveproxy, enabled, with the API on "
                    "port 8006"))
def pve_units(target, ssh_hosts, evidence, nodes):
    holds(evidence, "pve-units", [r for n in names(nodes) for r in hc.proxmox_units(ssh_hosts.host(n), n)])


@then(parsers.parse("the Proxmox nodes {nodes} have their bridges as the lab file says, carrying the VLANs of their "
                    "clusters"))
def pve_bridges(target, ssh_hosts, evidence, nodes):
    lab = target.lab
    holds(evidence, "pve-bridges", [r for n in names(nodes) for r in hc.proxmox_bridges(
        ssh_hosts.host(n), lab.proxmox_node(n), hosts_run.cluster_vlans(lab, n))])


def _rke2(target, name) -> Rke2Cluster:
    c = target.lab.cluster(name)
    assert isinstance(c, Rke2Cluster), f"{name} is not an RKE2 cluster"
    return c


@then(parsers.parse('every RKE2 server of "{cluster}" passes rke2-ansible\'s server checks'))
def rke2_servers(target, ssh_hosts, evidence, cluster):
    servers = _rke2(target, cluster).hosts.servers
    holds(evidence, "rke2-servers", [r for n in servers for r in hc.rke2_node(ssh_hosts.host(n), n, "server")])


@then(parsers.parse('every RKE2 agent of "{cluster}" passes rke2-ansible\'s agent checks'))
def rke2_agents(target, ssh_hosts, evidence, cluster):
    agents = _rke2(target, cluster).hosts.agents
    holds(evidence, "rke2-agents", [r for n in agents for r in hc.rke2_node(ssh_hosts.host(n), n, "agent")])


@then(parsers.parse('every node of "{cluster}" is Ready through the Kubernetes API'))
def nodes_are_ready(target, evidence, cluster):
    kube = getattr(target, "kubernetes", None)
    if kube is None:   # the collection hook has skipped this already; kept for direct calls
        pytest.skip(f"@kube_api: {KUBE_REASON}")
    from kubernetes import client

    api = kube(cluster)
    core = api if hasattr(api, "list_node") else client.CoreV1Api(api)
    holds(evidence, "nodes-ready", nodes_ready(core, [m.name for m in target.lab.cluster(cluster).members()]))


@then(parsers.parse('the lab file plans "{cluster}" with Cilium cluster id {cid:d}, unique among the mesh\'s '
                    'clusters, its pod CIDR apart from theirs, its kube-proxy replacement and Cilium version '
                    'fit for a mesh with them'))
def planned_member(target, evidence, cluster, cid):
    holds(evidence, "mesh-plan", mesh_plan(target.lab, cluster, cid))


@then(parsers.parse("the workstation has {tools} at the versions the lab file pins"))
def workstation_tools(target, evidence, tools):
    import testinfra

    pinned = {t: v for t, v in target.lab.tools.items() if t in names(tools)}
    holds(evidence, "workstation-tools", hc.workstation(testinfra.get_host("local://"), pinned))


# --- hooks: the Kubernetes deviation (host breakages strike through labsim/steps/harness.py) -----------------
def kube_client_available(config: pytest.Config) -> bool:
    from labsim.steps.targets import LabTarget, SimTarget

    target = config.getoption("--target")
    if target == "kind":
        from labsim.steps.kind_target import KindTarget as cls
    else:
        cls = LabTarget if target == "lab" else SimTarget
    return callable(getattr(cls, "kubernetes", None))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if kube_client_available(config):
        return
    for item in items:
        if item.get_closest_marker("kube_api"):
            item.add_marker(pytest.mark.skip(reason=f"@kube_api: {KUBE_REASON}"))


@pytest.hookimpl(optionalhook=True)
def pytest_signoff_deviations(config: pytest.Config) -> dict[str, str]:
    return {} if kube_client_available(config) else {"kube_api": KUBE_REASON}
