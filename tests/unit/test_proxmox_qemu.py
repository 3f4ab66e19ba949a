"""VM configuration semantics: MACs, drives, digests, boot order, JSON typing."""
from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from labsim.fakes.proxmox.qemu import Drive, MacAllocator, Net, QemuVM, default_boot_order, json_value

MAC_RE = re.compile(r"^BC:24:11(:[0-9A-F]{2}){3}$")


def test_mac_is_proxmox_oui_and_deterministic_per_seed() -> None:
    a, b, c = MacAllocator(7), MacAllocator(7), MacAllocator(8)
    m1 = a.new(1501, "net0", set())
    assert MAC_RE.match(m1)
    assert b.new(1501, "net0", set()) == m1
    assert c.new(1501, "net0", set()) != m1
    assert a.new(1501, "net0", set()) != m1          # a second MAC for the same NIC is a new one (like PVE)


def test_mac_does_not_depend_on_creation_order() -> None:
    a, b = MacAllocator(0), MacAllocator(0)
    first = [a.new(v, "net0", set()) for v in (1501, 1502, 1503)]
    second = [b.new(v, "net0", set()) for v in (1503, 1502, 1501)]
    assert first == list(reversed(second))


@settings(max_examples=50)
@given(st.integers(min_value=0, max_value=10 ** 6), st.lists(st.integers(100, 999999), min_size=1, max_size=40))
def test_macs_are_unique_and_well_formed(seed: int, vmids: list[int]) -> None:
    alloc, used = MacAllocator(seed), set()
    for vmid in vmids:
        mac = alloc.new(vmid, "net0", used)
        assert MAC_RE.match(mac) and mac not in used
        used.add(mac)


def test_net_roundtrip() -> None:
    n = Net.parse("virtio,bridge=vmbr0,tag=1500")
    assert (n.model, n.bridge, n.tag, n.macaddr) == ("virtio", "vmbr0", 1500, None)
    n.macaddr = "BC:24:11:01:02:03"
    assert n.print() == "virtio=BC:24:11:01:02:03,bridge=vmbr0,tag=1500"
    assert Net.parse(n.print()).macaddr == "BC:24:11:01:02:03"


def test_drive_new_disk_and_volume() -> None:
    d = Drive.parse("virtio0", "cluster-lvm:16,iothread=1")
    assert d.new_disk == ("cluster-lvm", 16.0) and d.volid is None
    d = Drive.parse("virtio0", "cluster-lvm:vm-1501-disk-0,size=16G")
    assert d.new_disk is None and d.volid == "cluster-lvm:vm-1501-disk-0"
    cd = Drive.parse("ide2", "local:iso/talos.iso,media=cdrom")
    assert cd.is_cdrom and cd.new_disk is None and cd.volid == "local:iso/talos.iso"
    assert Drive("virtio0", "cluster-lvm:vm-1-disk-0", {"size": "16G", "discard": "on"}).print() == \
        "cluster-lvm:vm-1-disk-0,discard=on,size=16G"


def test_digest_changes_with_every_change_and_only_then() -> None:
    vm = QemuVM(1501, "pve", conf={"name": "a", "cores": "2"})
    d1 = vm.digest
    assert QemuVM(1501, "pve", conf={"cores": "2", "name": "a"}).digest == d1
    vm.conf["cores"] = "4"
    assert vm.digest != d1
    vm.pending["memory"] = "4096"
    assert len({d1, vm.digest}) == 2 and re.fullmatch(r"[0-9a-f]{40}", vm.digest)


def test_default_boot_order_disk_cdrom_net() -> None:
    conf = {"virtio0": "cluster-lvm:vm-1-disk-0,size=16G", "virtio1": "cluster-lvm:vm-1-disk-1,size=1G",
            "ide2": "local:iso/t.iso,media=cdrom", "net0": "virtio=BC:24:11:00:00:01,bridge=vmbr0"}
    assert default_boot_order(conf) == "order=virtio0;ide2;net0"


def test_json_typing_like_pve() -> None:
    assert json_value("cores", "8") == 8
    assert json_value("onboot", "1") == 1
    assert json_value("memory", "32768") == "32768"       # a property string since PVE 8.1
    assert json_value("agent", "1") == "1"
    assert json_value("balloon", "0") == 0
