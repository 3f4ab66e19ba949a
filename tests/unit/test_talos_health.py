"""`talosctl health` as the simulated machined runs it: the checks in order, the lines they print, their
errors in Talos's words, and the end of the stream when time runs out."""
from __future__ import annotations

import pytest

from labsim.fakes.talos import texts as T
from tests.unit.talos_world import TalosLab

# The default checks of `talosctl health`, in the order they run, with their timeout and poll interval, as
# siderolabs/talos pkg/cluster/check/default.go defines them (DefaultClusterChecks = PreBootSequenceChecks +
# K8sComponentsReadinessChecks + the four below; read at commit 5665529382a35ac0161e24d68ca65f33aa96f9f5). The test
# keeps its own copy: an expectation taken from the fake's list could not catch the fake getting it wrong.
TALOS_DEFAULT_CHECKS = [
    ("etcd to be healthy", 300, 5),
    ("etcd members to be consistent across nodes", 300, 5),
    ("etcd members to be control plane nodes", 300, 5),
    ("apid to be ready", 300, 5),
    ("all nodes memory sizes", 300, 5),
    ("all nodes disk sizes", 300, 5),
    ("no diagnostics", 60, 5),
    ("kubelet to be healthy", 300, 5),
    ("all nodes to finish boot sequence", 300, 5),
    ("all k8s nodes to report", 300, 30),
    ("all control plane static pods to be running", 300, 5),
    ("all control plane components to be ready", 300, 5),
    ("all k8s nodes to report ready", 600, 5),
    ("kube-proxy to report ready", 300, 5),
    ("coredns to report ready", 300, 5),
    ("all k8s nodes to report schedulable", 300, 5),
]
CHECKS = [c[0] for c in TALOS_DEFAULT_CHECKS]


def test_the_simulated_checks_are_talos_default_checks_with_their_timeouts():
    assert list(T.CHECKS) == TALOS_DEFAULT_CHECKS


@pytest.fixture
def lab():
    lab = TalosLab()
    yield lab
    lab.stop()


def states(lines: list[str]) -> dict[str, str]:
    out = {}
    for line in lines:
        for check in CHECKS:
            prefix = f"waiting for {check}: "
            if line.startswith(prefix):
                out[check] = line[len(prefix):]
    return out


def test_a_healthy_cluster_passes_every_check_in_order(lab):
    lab.up()
    lines, error = lab.health()
    assert error is None
    nodes = [lab.ip(n) for n, r in lab.machines() if r == "controlplane"] + \
        [lab.ip(n) for n, r in lab.machines() if r == "worker"]
    assert lines[0] == f"discovered nodes: {T.go_quote_list(nodes)}"
    expected = []
    for check in CHECKS:
        expected += [f"waiting for {check}: ...",
                     f"waiting for {check}: {'SKIP' if check == 'kube-proxy to report ready' else 'OK'}"]
    assert lines[1:] == expected


def test_before_bootstrap_etcd_waits_and_the_stream_ends_with_the_deadline(lab):
    lab.install()
    lines, error = lab.health(timeout=30)
    cps = sorted(lab.ip(n) for n, r in lab.machines() if r == "controlplane")
    want = T.multierror([f'{ip}: service "etcd" not in expected state "Running": current state [Preparing] '
                         "Running pre state" for ip in cps]).strip()
    assert lines[-1] == f"waiting for etcd to be healthy: {want}"
    assert error == "context deadline exceeded"      # talosctl: healthcheck error: rpc error: code = Unknown desc = ...


def test_without_a_cni_talos_1_11_blocks_at_the_boot_sequence(lab):
    lab.install()
    lab.bootstrap()
    lines, error = lab.health(timeout=120)
    st = states(lines)
    assert st["kubelet to be healthy"] == "OK"
    ips = sorted(lab.ip(n) for n, _ in lab.machines())
    assert st["all nodes to finish boot sequence"] == f"nodes are not running: booting: {T.go_list(ips)}"
    assert error == "context deadline exceeded"


def test_talos_1_13_skips_node_readiness_and_coredns_with_cni_none(lab):
    lab.install()
    lab.bootstrap()
    for name, _ in lab.machines():
        lab.vm(name).world["talos_version"] = "1.13.0"
        lab.node(name).boot_finished()      # 1.13 does not wait for the node to be Ready to finish booting
    lines, error = lab.health()
    st = states(lines)
    assert (st["all k8s nodes to report ready"], st["coredns to report ready"]) == ("SKIP", "SKIP")
    assert st["kube-proxy to report ready"] == "SKIP" and error is None


def test_machines_below_the_minimums(lab):
    for name in ("wrk-e-1", "wrk-e-2"):
        lab.vm(name).conf["memory"] = "768"
    lab.up()
    lines, _ = lab.health(timeout=30)
    st = states(lines)
    want = [f'node "{lab.ip(n)}" does not meet memory requirements: expected at least 874 MiB, actual 744 MiB'
            for n in ("wrk-e-1", "wrk-e-2")]
    assert st["all nodes memory sizes"] == T.multierror(want).strip()
    assert "all nodes disk sizes" not in st      # health stops at the first failing check


def test_a_small_ephemeral_partition(lab):
    vm = lab.vm("wrk-e-3")
    vm.conf["virtio0"] = vm.conf["virtio0"].replace("size=24G", "size=5G")
    lab.up()
    st = states(lab.health(timeout=30)[0])
    assert st["all nodes disk sizes"] == T.multierror(
        [(f'ephemeral partition "/dev/vda6" for node "{lab.ip("wrk-e-3")}" is too small, expected at least 4.6 GiB, '
         "actual 3.8 GiB")]).strip()


def test_a_node_down_fails_apid_with_the_dial_error(lab):
    lab.up()
    ip = lab.ip("wrk-e-2")
    lab.power_off("wrk-e-2")
    c = lab.cluster()
    cps = sorted(lab.ip(n) for n, r in lab.machines() if r == "controlplane")
    from labsim.fakes.talos import health as H
    workers = [lab.ip(n) if n != "wrk-e-2" else ip for n, r in lab.machines() if r == "worker"]
    lines = []
    with pytest.raises(Exception, match="context deadline exceeded"):
        lines.extend(H.run(lab.talos, c, cps, workers, 20, lab.sim.talos.pace))
    assert states(lines)["apid to be ready"] == T.multierror(
        [(f'error getting version from node "{ip}": rpc error: code = Unavailable desc = connection error: desc = '
         f'"transport: Error while dialing: dial tcp {ip}:50000: connect: no route to host"')]).strip()
