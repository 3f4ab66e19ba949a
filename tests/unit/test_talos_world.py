"""The Talos layer of the world: maintenance mode, install and reboot, the single bootstrap, etcd quorum and
the VIP, nodes lost to power or cable, the CNI window, and what Cilium does on Talos."""
from __future__ import annotations

import ipaddress

import pytest

from labsim.fakes.cilium import onhost
from labsim.fakes.control import ControlError
from labsim.fakes.kube.nodes import node_ready
from labsim.fakes.talos import timing as TM
from labsim.fakes.talos.world import TICK
from tests.unit.talos_world import CILIUM, TalosLab


@pytest.fixture
def lab():
    lab = TalosLab()
    yield lab
    lab.stop()


def err(answer):
    return (answer[0]["error"]["code"], answer[0]["error"]["message"]) if "error" in answer[0] else None


def test_a_vm_booted_from_the_iso_waits_in_maintenance_mode_on_its_lease(lab):
    ip = lab.ip("cp-e-1")
    assert ipaddress.ip_address(ip) in ipaddress.ip_network("192.168.15.0/24")
    got = lab.api("get", {"nodes": [ip], "insecure": True, "type": "machinestatus"})
    assert got[0]["result"]["items"][0]["spec"]["stage"] == "maintenance"
    disks = lab.api("get", {"nodes": [ip], "insecure": True, "type": "disks"})[0]["result"]["items"]
    assert [(d["spec"]["dev_path"], d["spec"]["size"]) for d in disks] == [("/dev/sr0", 0),
                                                                           ("/dev/vda", 16 * 1024 ** 3)]
    assert err(lab.api("version", {"nodes": [ip], "insecure": True})) == \
        ("Unimplemented", "API is not implemented in maintenance mode")


def test_a_config_for_the_wrong_disk_is_refused_and_a_good_one_installs_and_reboots(lab):
    ip = lab.ip("wrk-e-1")
    bad = lab.config("worker", "wrk-e-1", machine={"install": {"disk": "/dev/sda"}})
    assert err(lab.api("apply_config", {"nodes": [ip], "insecure": True, "data": bad})) == (
        "InvalidArgument", ('configuration validation failed: 1 error occurred:\n\t* specified install disk does not '
                           'exist: "/dev/sda"\n\n'))
    node = lab.node("wrk-e-1")
    assert node.stage == "maintenance"
    lab.api("apply_config", {"nodes": [ip], "insecure": True, "data": lab.config("worker", "wrk-e-1")})
    assert node.stage == "installing"
    lab.clock.sleep(TM.INSTALL + 1)
    assert node.stage == "off" and lab.vm("wrk-e-1").world["installed"]["disk"] == "virtio0"   # rebooting
    lab.clock.sleep(TM.REBOOT + TM.APID + 1)
    assert node.stage == "booting" and node.apid and node.address == ip        # the same lease after the reboot
    # a configured node answers only a talosconfig that trusts its CA, and never the maintenance API again
    assert err(lab.api("version", {"nodes": [ip], "insecure": True}))[0] == "Unavailable"
    with pytest.raises(ControlError, match="unknown authority"):    # the whole call fails at the TLS handshake
        lab.api("version", {"nodes": [ip], "endpoints": [ip], "auth_ca": "other"})
    assert err(lab.call("version", "wrk-e-1")) is None


def test_bootstrap_once_and_only_on_a_control_plane(lab):
    lab.install()
    assert err(lab.call("bootstrap", "wrk-e-1")) == ("FailedPrecondition",
                                                     "bootstrap is only available on control plane nodes")
    assert err(lab.call("bootstrap", "cp-e-1")) is None
    assert err(lab.call("bootstrap", "cp-e-1")) == ("AlreadyExists", "etcd data directory is not empty")
    lab.clock.sleep(60)
    assert err(lab.call("bootstrap", "cp-e-2")) == ("AlreadyExists", "etcd data directory is not empty")  # joined
    members = lab.call("etcd_members", "cp-e-3")[0]["result"]
    assert [m["hostname"] for m in members] == ["cp-e-1", "cp-e-2", "cp-e-3"]
    assert members[0]["peer_urls"] == [f"https://{lab.ip('cp-e-1')}:2380"]
    assert err(lab.call("etcd_members", "wrk-e-1")) == ("Unknown", "member list is only available on control plane nodes")


def test_quorum_and_the_vip(lab):
    lab.up()
    c = lab.cluster()
    holder = c.vip_node().hostname
    assert holder == "cp-e-1" and c.api_up()
    lab.power_off(holder)                           # a crash: the election lease has to expire
    assert c.api_up() and c.vip_node() is None
    lab.clock.sleep(TM.VIP_CRASH[1] + TICK)
    second = c.vip_node().hostname
    assert second != holder
    addresses = lab.call("get", second, type="addresses")[0]["result"]["items"]
    assert f"{c.vip}/32" in [a["spec"]["address"] for a in addresses]
    lab.power_off(next(n for n in ("cp-e-2", "cp-e-3") if n != second))   # two of three lost
    lab.clock.sleep(TICK)
    assert not c.api_up() and c.vip_node() is None
    fault = lab.kube().faults.take("GET", "/api/v1/nodes")
    assert (fault.code, fault.message) == (500, "etcdserver: request timed out")


def test_a_graceful_shutdown_hands_the_vip_over_almost_at_once(lab):
    lab.up()
    c = lab.cluster()
    lab.power_off("cp-e-1", how="shutdown")
    lab.clock.sleep(TM.VIP_GRACEFUL + 1)
    assert c.vip_node() is not None and c.vip_node().hostname != "cp-e-1"


def test_a_node_cut_off_the_network_goes_unknown_after_the_grace_period(lab):
    lab.up()
    vm = lab.vm("wrk-e-3")
    lab.prox.nodes(vm.node).qemu(vm.vmid).config.put(net0=vm.conf["net0"] + ",link_down=1")   # cable out
    lab.clock.sleep(TICK + 1)
    assert not lab.node("wrk-e-3").reachable
    assert node_ready(lab.kube().get("nodes", "wrk-e-3"))           # the controller waits for the grace period
    lab.clock.sleep(TM.NODE_MONITOR_GRACE + TICK)
    ready = next(c for c in lab.kube().get("nodes", "wrk-e-3")["status"]["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("Unknown", "NodeStatusUnknown")
    assert lab.cluster().api_up()


def test_a_pulled_host_cable_takes_every_node_and_the_api_away(lab):
    lab.up()
    lab.sim.world.pull_cable(("pve", "enp1s0f0"))
    lab.sim.world.settle()
    lab.clock.sleep(TICK + 1)
    c = lab.cluster()
    assert not any(n.reachable for n in c.nodes.values())
    assert not c.api_up() and c.vip_node() is None


def test_without_a_cni_the_nodes_stay_not_ready_and_reboot_after_the_window(lab):
    lab.install()
    lab.bootstrap()
    node = lab.node("wrk-e-1")
    boot = node.boot_id
    assert not node_ready(lab.kube().get("nodes", "wrk-e-1")) and node.stage == "booting"
    lab.clock.sleep(TM.CNI_WINDOW)
    assert node.boot_id > boot            # the boot sequence gave up waiting and rebooted the machine


def test_cilium_makes_the_nodes_ready_and_pods_get_pod_subnet_addresses(lab):
    lab.up()
    kube = lab.kube()
    assert all(node_ready(n) for n in kube.list("nodes"))
    ips = [p["status"].get("podIP") for p in kube.list("pods", "kube-system", labels="k8s-app=kube-dns")]
    assert ips and all(ipaddress.ip_address(ip) in ipaddress.ip_network("10.244.0.0/16") for ip in ips)
    assert all(n.stage == "running" for n in lab.cluster().nodes.values())


def _events(kube) -> list[str]:
    return [e["message"] for e in kube.list("events", "kube-system")]


def test_the_agents_run_as_their_service_account_under_rbac(lab):
    """The chart's ClusterRoleBinding is what lets the agents start: deleted by hand, a restarted agent is refused by
    the API, its node loses its network and the pod says why; put back, the agent runs again."""
    lab.up()
    kube = lab.kube()
    assert kube.try_get("clusterroles", "cilium") is not None
    kube.delete("clusterrolebindings", "cilium")
    for pod in kube.list("pods", "kube-system", labels="k8s-app=cilium"):
        kube.delete("pods", pod["metadata"]["name"], "kube-system")
    lab.clock.sleep(90)
    agents = kube.list("pods", "kube-system", labels="k8s-app=cilium")
    assert agents and not any(c.get("ready") for p in agents for c in p["status"].get("containerStatuses") or [])
    assert not any(node_ready(n) for n in kube.list("nodes"))
    key = ("kube-system", agents[0]["metadata"]["name"], "cilium-agent")
    log = "\n".join(line for _, line in kube.logs.get(key, []))
    assert ('Failed to watch *v1.Node: failed to list *v1.Node: nodes is forbidden: User \\"system:serviceaccount:'
            'kube-system:cilium\\" cannot list resource \\"nodes\\" in API group \\"\\" at the cluster scope') in log
    kube.create("clusterrolebindings", {
        "metadata": {"name": "cilium"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                                    "name": "cilium"},
        "subjects": [{"kind": "ServiceAccount", "name": "cilium", "namespace": "kube-system"}]})
    lab.clock.sleep(90)
    assert all(node_ready(n) for n in kube.list("nodes"))
    agents = kube.list("pods", "kube-system", labels="k8s-app=cilium")
    assert all(c.get("ready") for p in agents for c in p["status"]["containerStatuses"])


def test_a_settled_cluster_is_left_alone_while_its_kubelets_renew_their_leases(lab, monkeypatch):
    """The world's tick syncs a cluster's CNI only while something it reacts to moves: node lease renewals (every
    10 s) and events do not keep a cluster busy forever (they did, and a lab's tick cost grew with every cluster it
    had built); a write to the cluster's content wakes it again."""
    lab.up()
    kube = lab.kube()
    lab.clock.sleep(120)
    synced = []
    provider = lab.talos.cni[0]
    monkeypatch.setattr(provider, "sync", lambda c, f=provider.sync: synced.append(c.name) or f(c))
    lease = kube.get("leases", lab.cluster().kube.cluster.list("nodes")[0]["metadata"]["name"], "kube-node-lease")
    lab.clock.sleep(120)
    renewed = kube.get("leases", lease["metadata"]["name"], "kube-node-lease")
    assert renewed["spec"]["renewTime"] != lease["spec"]["renewTime"]
    assert synced == []
    kube.create("configmaps", {"metadata": {"name": "touch"}}, "default")
    lab.clock.sleep(TICK + 1)
    assert "talos-east" in synced


def test_sys_module_in_the_agent_capabilities_fails_as_on_talos(lab):
    lab.install()
    lab.bootstrap()
    caps = CILIUM["securityContext"]["capabilities"]["ciliumAgent"] + ["SYS_MODULE"]
    lab.cilium({**CILIUM, "securityContext": {"capabilities": {**CILIUM["securityContext"]["capabilities"],
                                                               "ciliumAgent": caps}}})
    kube = lab.kube()
    assert not any(node_ready(n) for n in kube.list("nodes"))
    assert f"Error: {onhost.CAPS_ERROR}" in _events(kube)


def test_without_kubeprism_the_agents_cannot_reach_localhost_7445(lab):
    lab.install(machine={"features": {"kubePrism": {"enabled": False}}})
    lab.bootstrap()
    lab.cilium()
    msgs = _events(lab.kube())
    assert any('dial tcp [::1]:7445: connect: connection refused' in m for m in msgs)


def test_default_cgroup_automount_fails_on_talos(lab):
    lab.install()
    lab.bootstrap()
    lab.cilium({k: v for k, v in CILIUM.items() if k != "cgroup"})
    assert f"Error: {onhost.MOUNT_CGROUP_ERROR}" in _events(lab.kube())


def test_without_kube_proxy_replacement_services_break_and_coredns_never_gets_ready(lab):
    lab.install()
    lab.bootstrap()
    lab.cilium({**CILIUM, "kubeProxyReplacement": False})
    lab.clock.sleep(60)
    kube = lab.kube()
    assert all(node_ready(n) for n in kube.list("nodes"))        # the agents run
    dns = kube.list("pods", "kube-system", labels="k8s-app=kube-dns")
    assert dns and not any(c["type"] == "Ready" and c["status"] == "True"
                           for p in dns for c in p["status"].get("conditions", []))


def test_a_vlan_removed_from_the_fabric_takes_that_clusters_nodes_away(lab):
    """Issue 4 §1: removing a cluster's VLAN from the switches' bridge VLAN tables (through the RouterOS API, as
    an engineer would) cuts its nodes off: no lease, unreachable, the API and the VIP gone; the other cluster on
    its own VLAN is untouched."""
    from labsim.provisioners.endpoints import Endpoints
    from labsim.provisioners.fabric.client import connect
    lab.up()
    lab.up("talos-west")
    vid = lab.lab.vlan(lab.lab.cluster("talos-east").vlan).id
    for ep in Endpoints.from_json(lab.sim.endpoints()).routeros.values():
        api = connect(ep)
        table = api.path("interface", "bridge", "vlan")
        for row in list(table):
            if str(vid) in str(row.get("vlan-ids", "")).split(","):
                table.remove(row[".id"])
    lab.sim.world.settle()
    lab.clock.sleep(TICK + 1)
    east, west = lab.cluster("talos-east"), lab.cluster("talos-west")
    assert not any(n.reachable for n in east.nodes.values())
    assert not east.api_up() and east.vip_node() is None
    assert all(n.reachable for n in west.nodes.values()) and west.api_up()
