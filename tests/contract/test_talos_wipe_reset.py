"""`talosctl wipe disk` and `talosctl reset` against a simulated cluster (issue 4 §3): what they refuse, with the
storage server's and talosctl's texts, and what they leave behind in the world (a blank data disk for Rook; a
node out of etcd, without its config, back in maintenance mode)."""
from __future__ import annotations

import subprocess

import pytest

from labsim.fakes.ceph import disks as ceph_disks
from labsim.provisioners.talos.apply import json_stream
from tests.unit.talos_world import TalosLab


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    lab = TalosLab().for_talosctl(tmp_path_factory.mktemp("talosctl"))
    yield lab
    lab.stop()


def on(lab, node: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["talosctl", "--talosconfig", "talosconfig", "-e", lab.ip("cp-e-1"), "-n", lab.ip(node),
                           *args], env=lab.env, cwd=lab.dir, capture_output=True, text=True, check=False)


def vdb(vm) -> ceph_disks.Verdict:
    return next(ceph_disks.judge(d) for d in ceph_disks.from_vm(vm) if d.dev.endswith("vdb"))


def test_wipe_disk_blanks_a_data_disk_and_refuses_the_system_disk(lab):
    vm = lab.vm("wrk-e-1")
    ceph_disks.mark(vm, "virtio1", filesystem="xfs", partitions=2)
    assert not vdb(vm).ok                       # Rook would skip it
    p = on(lab, "wrk-e-1", "wipe", "disk", "vdb")
    assert (p.returncode, p.stdout, p.stderr) == (0, "", "")
    assert vdb(vm).ok, vdb(vm).log
    p = on(lab, "wrk-e-1", "wipe", "disk", "vda")
    assert (p.returncode, p.stderr) == (1, ('error wiping devices: rpc error: code = FailedPrecondition desc = '
                                           'blockdevice "vda" is in use by volume "EPHEMERAL"\n'))
    p = on(lab, "wrk-e-1", "wipe", "disk", "sdz", "--method", "ZEROES")
    assert (p.returncode, p.stderr) == (1, ('error wiping devices: rpc error: code = NotFound desc = '
                                           'blockdevice "sdz" not found\n'))


def test_a_graceful_reset_leaves_etcd_wipes_the_config_and_reboots_into_maintenance(lab):
    members = on(lab, "cp-e-1", "etcd", "members")
    assert members.returncode == 0 and "cp-e-3" in members.stdout
    p = on(lab, "cp-e-3", "reset", "--graceful=true", "--reboot", "--system-labels-to-wipe", "STATE",
           "--system-labels-to-wipe", "EPHEMERAL")
    assert (p.returncode, p.stderr) == (0, "")
    members = on(lab, "cp-e-1", "etcd", "members")
    assert members.returncode == 0 and "cp-e-3" not in members.stdout and "cp-e-2" in members.stdout
    lab.clock.sleep(40)
    ip = lab.ip("cp-e-3")
    st = subprocess.run(["talosctl", "get", "machinestatus", "--insecure", "-n", ip, "-e", ip, "-o", "json"],
                        env=lab.env, cwd=lab.dir, capture_output=True, text=True, check=False)
    assert st.returncode == 0, st.stderr
    assert [o["spec"]["stage"] for o in json_stream(st.stdout)] == ["maintenance"]
    assert "config" not in lab.vm("cp-e-3").world["installed"]
