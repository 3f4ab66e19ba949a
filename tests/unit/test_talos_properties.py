"""Bootstrap-once and quorum as properties (issue 4 §5), on one simulated talos-east brought up once.

- Quorum: whichever control planes are powered off, etcd keeps quorum (and with it the Kubernetes API and,
  once the election lease expires, the VIP) exactly when floor(n/2)+1 of its n members still run; powered on
  again, the cluster is whole again.
- Bootstrap once: whatever sequence of `bootstrap` calls reaches whichever nodes, at whatever moments (a
  control plane just rebooted included), none is accepted after the first: a control plane answers
  AlreadyExists, a worker FailedPrecondition, a node still booting Unavailable; there stays one etcd cluster
  with the same members.
"""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labsim.fakes.control import ControlError
from labsim.fakes.talos import timing as TM
from labsim.fakes.talos.world import TICK
from tests.unit.talos_world import TalosLab

CPS = ["cp-e-1", "cp-e-2", "cp-e-3"]
WORKERS = ["wrk-e-1", "wrk-e-2", "wrk-e-3"]
RECOVER = 180.0        # boot, etcd rejoining, the API server and the VIP election, with room to spare


@pytest.fixture(scope="module")
def lab():
    lab = TalosLab()
    lab.up()
    yield lab
    lab.stop()


def whole(lab) -> bool:
    c = lab.cluster()
    return c.quorum() and c.api_up() and c.vip_node() is not None and \
        all(lab.node(n).etcd == "running" for n in CPS)


def start(lab, name: str) -> None:
    vm = lab.vm(name)
    lab.prox.nodes(vm.node).qemu(vm.vmid).status.start.post()


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(down=st.lists(st.sampled_from(CPS), unique=True), how=st.sampled_from(["stop", "shutdown"]))
def test_quorum_is_a_majority_of_the_members(lab, down, how):
    assert whole(lab)
    c = lab.cluster()
    for name in down:
        lab.power_off(name, how=how)
    lab.clock.sleep(TM.VIP_CRASH[1] + TICK)
    majority = len(CPS) - len(down) >= len(CPS) // 2 + 1
    assert c.quorum() is majority and c.api_up() is majority
    assert (c.vip_node() is not None) is majority
    if majority:
        assert c.vip_node().hostname not in down
    survivor = next((n for n in CPS if n not in down), None)
    if survivor is not None:
        answer = lab.call("etcd_members", survivor)[0]
        assert ("error" not in answer) is majority, answer
    for name in down:
        start(lab, name)
    lab.clock.sleep(RECOVER)
    assert whole(lab), [(n, lab.node(n).stage, lab.node(n).etcd) for n in CPS]


REFUSED = {"cp": ("AlreadyExists", "etcd data directory is not empty"),
           "worker": ("FailedPrecondition", "bootstrap is only available on control plane nodes")}


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(calls=st.lists(st.tuples(st.sampled_from(CPS + WORKERS), st.booleans(),
                                st.sampled_from([0.0, 1.0, 5.0, 12.0, 30.0])), min_size=1, max_size=6))
def test_a_bootstrapped_cluster_is_never_bootstrapped_again(lab, calls):
    c = lab.cluster()
    members = sorted((m.hostname, m.id) for m in c.members.values())
    assert c.etcd_clusters == 1
    ips = {n: lab.ip(n) for n in CPS + WORKERS}         # a rebooting VM has no lease for a moment

    def call(method: str, name: str) -> dict:
        try:
            return lab.api(method, {"nodes": [ips[name]], "endpoints": [ips[n] for n in CPS], "auth_ca": lab.ca})[0]
        except ControlError as exc:   # no endpoint answers (every control plane rebooting): talosctl fails whole
            return {"error": {"code": exc.code, "message": exc.message}}
    for name, reboot_first, wait in calls:
        if reboot_first:
            call("reboot", name)        # refused (Unavailable) when it is still rebooting from the last one
        lab.clock.sleep(wait)
        answer = call("bootstrap", name)
        assert "error" in answer, f"bootstrap of {name} accepted"
        code, message = answer["error"]["code"], answer["error"]["message"]
        if code != "Unavailable":           # still rebooting: apid does not answer yet
            assert (code, message) == REFUSED["cp" if name in CPS else "worker"]
    assert c.etcd_clusters == 1
    lab.clock.sleep(RECOVER)
    assert whole(lab)
    assert sorted((m.hostname, m.id) for m in c.members.values()) == members
