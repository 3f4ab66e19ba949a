"""PVE's parameter verification: texts per parameter, 0/1 booleans, property strings, sizes."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from labsim.fakes.proxmox import errors as E
from labsim.fakes.proxmox.qemu import NET_FMT, VM_CONFIG
from labsim.fakes.proxmox.schema import P, format_size, parse_size, schema


def errors_of(sch, params) -> dict[str, str]:
    with pytest.raises(E.ParamError) as exc:
        sch.validate(params)
    assert exc.value.status == 400
    assert exc.value.reason == "Parameter verification failed."
    return exc.value.errors


def test_python_true_is_not_a_boolean() -> None:
    sch = schema({"start": P("boolean")})
    assert errors_of(sch, {"start": "True"}) == {"start": "type check ('boolean') failed - got 'True'"}
    assert sch.validate({"start": "1"}) == {"start": 1}
    assert sch.validate({"start": "0"}) == {"start": 0}


@pytest.mark.parametrize("value", ["true", "yes", "on", "False", "2", ""])
def test_only_0_and_1_are_booleans(value: str) -> None:
    assert "type check ('boolean') failed" in errors_of(schema({"b": P("boolean")}), {"b": value})["b"]


def test_missing_unknown_and_integer_errors_together() -> None:
    sch = schema({"vmid": P("integer", optional=False, minimum=100), "name": P()})
    errs = errors_of(sch, {"cores": "2", "name": "x"})
    assert errs == {"vmid": "property is missing and it is not optional",
                    "cores": "property is not defined in schema and the schema does not allow additional properties"}
    assert errors_of(sch, {"vmid": "x"}) == {"vmid": "type check ('integer') failed - got 'x'"}
    assert errors_of(sch, {"vmid": "99"}) == {"vmid": "value must have a minimum value of 100"}


def test_enum_text() -> None:
    errs = errors_of(schema({"type": P(enum=("vm", "storage", "node", "sdn"))}), {"type": "qemu"})
    assert errs == {"type": "value 'qemu' does not have a value in the enumeration 'vm, storage, node, sdn'"}


def test_vm_config_knows_the_lab_keys() -> None:
    params = {"name": "cp-e-1", "cores": "8", "sockets": "1", "memory": "32768", "cpu": "x86-64-v2-AES",
              "agent": "1", "onboot": "1", "ostype": "l26", "scsihw": "virtio-scsi-pci", "balloon": "0",
              "net0": "virtio,bridge=vmbr0,tag=1500", "virtio0": "cluster-lvm:16", "virtio1": "cluster-lvm:128",
              "ide2": "local:iso/talos.iso,media=cdrom", "boot": "order=virtio0;ide2;net0"}
    out = VM_CONFIG.validate(params)
    assert out["cores"] == 8 and out["onboot"] == 1 and out["net0"] == params["net0"]


def test_net_tag_out_of_range_is_a_format_error() -> None:
    errs = errors_of(VM_CONFIG, {"net0": "virtio,bridge=vmbr0,tag=5000"})
    assert errs == {"net0": "invalid format - format error\nnet0.tag: value must have a maximum value of 4094\n"}
    errs = errors_of(VM_CONFIG, {"net0": "virtio,bridge=vmbr0,tag=0"})
    assert "net0.tag: value must have a minimum value of 1" in errs["net0"]


def test_net_unknown_key_and_model() -> None:
    assert errors_of(VM_CONFIG, {"net0": "virtio,bridge=vmbr0,vlan=5"}) == {
        "net0": "invalid format - invalid key in comma-separated list property: vlan\n"}
    assert "net0.model: value 'virtio2' does not have a value in the enumeration" in \
        errors_of(VM_CONFIG, {"net0": "virtio2,bridge=vmbr0"})["net0"]


def test_name_must_be_a_dns_name_and_cpu_known() -> None:
    assert errors_of(VM_CONFIG, {"name": "cp e 1"}) == {
        "name": "invalid format - value does not look like a valid DNS name\n"}
    assert "Built-in cputype 'x86-64-v9' is not defined" in errors_of(VM_CONFIG, {"cpu": "x86-64-v9"})["cpu"]


def test_net_prints_model_equals_mac_then_sorted_keys() -> None:
    raw = NET_FMT.parse("virtio,tag=1500,bridge=vmbr0,firewall=1")
    raw["macaddr"] = "BC:24:11:AA:BB:CC"
    assert NET_FMT.print(raw) == "virtio=BC:24:11:AA:BB:CC,bridge=vmbr0,firewall=1,tag=1500"
    parsed = NET_FMT.parse("virtio=BC:24:11:AA:BB:CC,bridge=vmbr0")
    assert parsed == {"model": "virtio", "macaddr": "BC:24:11:AA:BB:CC", "bridge": "vmbr0"}


@given(st.integers(min_value=0, max_value=2 ** 50))
def test_size_roundtrip(n: int) -> None:
    assert parse_size(format_size(n)) == n


def test_sizes() -> None:
    assert format_size(16 * 1024 ** 3) == "16G"
    assert format_size(1536 * 1024 ** 2) == "1536M"
    assert parse_size("4T") == 4 * 1024 ** 4
