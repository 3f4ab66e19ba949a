"""Steps for features/hosts.feature and features/picluster.feature: thin glue to labsim.provisioners.hosts.

Hosts are reached through testinfra (paramiko backend over SSH, host keys verified; `local` for the
workstation). The SSH endpoints come from the target: the simulated lab's SSH servers in sim, the lab
file's addresses and `ssh:` logins against a real lab.
"""
from __future__ import annotations

import pytest
from pytest_bdd import given, parsers, then

from labsim.provisioners.hosts import checks as hc
from labsim.provisioners.hosts.connect import HostUnreachable, close_host, open_host
from labsim.provisioners.hosts.endpoints import for_target
from labsim.provisioners.hosts.nodes import nodes_ready
from labsim.provisioners.lab.model import Rke2Cluster
from labsim.provisioners.mesh_plan import mesh_plan

# Steps after which a `--sim-break` host breakage is applied (the fabric's is the harness's business).
BREAK_AFTER = ("the lab's hosts answer over SSH", "the lab file passes its intent checks")
KUBE_REASON = ("needs a Kubernetes client from the target (target.kubernetes(cluster)); the Kubernetes API "
               "fake (labsim/fakes/kube) is not wired into the targets yet")


@pytest.fixture
def ssh_hosts(target):
    """name -> testinfra host, opened by the step that needs them, closed when the scenario ends."""
    opened: dict = {}
    yield opened
    for host in opened.values():
        close_host(host)


def _check(evidence, name, results):
    evidence.attach(name, [r.__dict__ for r in results])
    assert results, f"{name}: nothing to check"
    bad = [str(r) for r in results if not r.ok]
    assert not bad, f"{len(bad)} of {len(results)} failed:\n" + "\n".join(bad)


@given("the lab's hosts answer over SSH")
def hosts_answer(target, ssh_hosts, evidence):
    eps = for_target(target)
    assert eps, "the lab file gives no host an ssh: login"
    failed = []
    for name, ep in eps.items():
        try:
            ssh_hosts[name] = open_host(ep)
        except (HostUnreachable, OSError) as exc:
            failed.append(str(exc))
    evidence.attach("ssh-hosts", {n: {"address": e.address, "user": e.user, "sudo": e.sudo} for n, e in eps.items()})
    assert not failed, "hosts that do not answer over SSH:\n" + "\n".join(failed)


def _host(ssh_hosts, name):
    assert name in ssh_hosts, f"{name} has no ssh: login in the lab file"
    return ssh_hosts[name]


@then("every Proxmox node runs pve-cluster, pvedaemon and pveproxy, enabled, with the API on port 8006")
def pve_units(target, ssh_hosts, evidence):
    nodes = target.lab.proxmox.nodes if target.lab.proxmox else []
    _check(evidence, "pve-units", [r for n in nodes for r in hc.proxmox_units(_host(ssh_hosts, n.name), n.name)])


@then("every Proxmox node has its bridges as the lab file says, carrying the VLANs of its clusters")
def pve_bridges(target, ssh_hosts, evidence):
    lab = target.lab
    results = []
    for node in (lab.proxmox.nodes if lab.proxmox else []):
        vlans = {c.vlan: lab.vlan(c.vlan).id for c in lab.clusters
                 if getattr(c, "proxmox_node", None) == node.name and c.vlan}
        results += hc.proxmox_bridges(_host(ssh_hosts, node.name), node, vlans)
    _check(evidence, "pve-bridges", results)


def _rke2(target, name) -> Rke2Cluster:
    c = target.lab.cluster(name)
    assert isinstance(c, Rke2Cluster), f"{name} is not an RKE2 cluster"
    return c


@then(parsers.parse('every RKE2 server of "{cluster}" passes rke2-ansible\'s server checks'))
def rke2_servers(target, ssh_hosts, evidence, cluster):
    names = _rke2(target, cluster).hosts.servers
    _check(evidence, "rke2-servers", [r for n in names for r in hc.rke2_node(_host(ssh_hosts, n), n, "server")])


@then(parsers.parse('every RKE2 agent of "{cluster}" passes rke2-ansible\'s agent checks'))
def rke2_agents(target, ssh_hosts, evidence, cluster):
    names = _rke2(target, cluster).hosts.agents
    _check(evidence, "rke2-agents", [r for n in names for r in hc.rke2_node(_host(ssh_hosts, n), n, "agent")])


@then(parsers.parse('every node of "{cluster}" is Ready through the Kubernetes API'))
def nodes_are_ready(target, evidence, cluster):
    kube = getattr(target, "kubernetes", None)
    if kube is None:   # the collection hook has skipped this already; kept for direct calls
        pytest.skip(f"@kube_api: {KUBE_REASON}")
    from kubernetes import client

    api = kube(cluster)
    core = api if hasattr(api, "list_node") else client.CoreV1Api(api)
    _check(evidence, "nodes-ready", nodes_ready(core, [m.name for m in target.lab.cluster(cluster).members()]))


@then(parsers.parse('the lab file plans "{cluster}" with Cilium cluster id {cid:d}, unique among the mesh\'s '
                    'clusters, its pod CIDR apart from theirs'))
def planned_member(target, evidence, cluster, cid):
    _check(evidence, "mesh-plan", mesh_plan(target.lab, cluster, cid))


@then("the workstation has every tool the lab file pins, at the version it expects")
def workstation_tools(target, evidence):
    import testinfra

    assert target.lab.tools, "the lab file pins no tools (add a tools: section)"
    _check(evidence, "workstation-tools", hc.workstation(testinfra.get_host("local://"), dict(target.lab.tools)))


# --- hooks: host breakages (--sim-break) and the Kubernetes deviation ------------------------------
def pytest_bdd_after_step(request, feature, scenario, step, step_func, step_func_args):
    from labsim.steps.breakages import HOST_BREAKAGES

    name = request.config.getoption("--sim-break")
    if name in HOST_BREAKAGES and step.name in BREAK_AFTER:
        HOST_BREAKAGES[name](request.getfixturevalue("target"), request.getfixturevalue("monkeypatch"))


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
