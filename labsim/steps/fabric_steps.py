"""Steps for features/fabric.feature: thin glue from a sentence to the fabric provisioner."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from labsim.steps.checkpoints import builds
from pytest_bdd import given, parsers, then, when

from labsim.provisioners.fabric import verify as fv
from labsim.provisioners.fabric.run import LabRefused, Provisioned, provision, provision_file, refusal_results
from labsim.provisioners.fabric.topology import topology
from labsim.provisioners.vocabulary import only_changed, unchanged
from labsim.steps.common import holds, lab_copy
from labsim.steps.subjects import names


@dataclass
class FabricRun:
    """What a fabric scenario has seen: its applies, the devices' write counters before the last one, and (for a
    lab file copy) the devices contacted and the refusal."""

    applies: list[Provisioned] = field(default_factory=list)
    writes_before: dict[str, int] | None = None
    copy: Path | None = None
    contacted: list[str] = field(default_factory=list)
    refused: LabRefused | None = None


@pytest.fixture
def fabric() -> FabricRun:
    return FabricRun()


def _apply(target, fabric: FabricRun, evidence, label: str) -> Provisioned:
    done = provision(target.lab, target.routeros)
    evidence.attach(f"{label}-plan", done.plan.describe())
    fabric.applies.append(done)
    return done


def _observed(target):
    return fv.observe_all(target.lab, target.routeros_all())


# --- Background --------------------------------------------------------------------------------
@given("the fabric is provisioned", target_fixture="fabric")
@builds
def fabric_provisioned(target, fabric, evidence) -> FabricRun:
    if target.writes_allowed:
        _apply(target, fabric, evidence, "provision")
    else:
        evidence.attach("provision", "read-only run: the fabric is verified as found (no --apply)")
    for d in target.lab.routeros.devices:
        res = [r for r in target.routeros(d.identity)("/system/resource/print")]
        if res:
            evidence.lab_version(f"RouterOS {d.identity}", str(res[0].get("version", "")))
    fabric.writes_before = target.device_writes()
    return fabric


# --- Verification --------------------------------------------------------------------------------
@then("every VLAN has its interface and address on every device")
def vlans_present(target, evidence):
    holds(evidence, "vlan-present", fv.vlans_present(target.lab, _observed(target)))


@then(parsers.parse("{vlans} are carried hop by hop from their DHCP device to the machines that need them"))
def vlans_carried(target, evidence, vlans):
    observed = _observed(target)
    results = fv.vlans_carried(target.lab, observed, clusters_only=False, vlans=names(vlans))
    # the fabric as the devices report it, the hop where a VLAN stops marked: the sign-off report's topology
    evidence.topology(topology(target.lab, observed, results))
    holds(evidence, "vlan-carried", results)


@then(parsers.parse("{vlans} each have exactly one DHCP server with its pool inside its subnet"))
def dhcp_servers(target, evidence, vlans):
    holds(evidence, "dhcp-server", fv.dhcp_servers(target.lab, _observed(target), vlans=names(vlans)))


@then(parsers.parse('traffic is routed between "{a}" and "{b}"'))
def routed(target, evidence, a, b):
    holds(evidence, "inter-vlan-routing", fv.inter_vlan_routing(target.lab, _observed(target), [(a, b)]))


@then("every device's configuration matches the lab file")
def config_matches(target, evidence):
    holds(evidence, "config-matches-intent", fv.config_matches(target.lab, _observed(target)))


@then("the fabric verifies clean")
def verifies_clean(target, evidence):
    holds(evidence, "verify", fv.verify(target.lab, target.routeros_all()))


# --- Idempotence ---------------------------------------------------------------------------------
@when("the fabric is applied again")
@when("the fabric is applied")
def apply_again(target, fabric, evidence):
    fabric.writes_before = target.device_writes()
    _apply(target, fabric, evidence, "apply")


@then("no device accepted any change")
def no_change(target, fabric, evidence):
    last = fabric.applies[-1]
    holds(evidence, "second-apply", unchanged("fabric", last.plan, last.report.writes, fabric.writes_before,
                                              target.device_writes()))


@then(parsers.parse('only "{device}" was changed by the repair'))
def only_device_changed(fabric, evidence, device):
    holds(evidence, "repair-scope", only_changed("fabric", fabric.applies[-1].report.writes, [device]))


# --- Drift -----------------------------------------------------------------------------------------
@when(parsers.parse('an engineer removes "{vlan}" from trunk "{port}" on "{device}" by hand'))
def remove_from_trunk(target, vlan, port, device):
    vid = target.lab.vlan(vlan).id
    api = target.routeros(device)
    rows = [r for r in api.path("interface", "bridge", "vlan") if str(vid) in str(r.get("vlan-ids")).split(",")
            and not r.get("dynamic")]
    assert rows, f"{device} has no bridge VLAN row for {vid}"
    row = rows[0]
    tagged = [p for p in str(row.get("tagged", "")).split(",") if p and p != port]
    api.path("interface", "bridge", "vlan").update(**{".id": row[".id"], "tagged": ",".join(tagged)})


@when(parsers.parse('an engineer changes the address on "{vlan}" of "{device}" to "{address}" by hand'))
def change_address(target, vlan, device, address):
    api = target.routeros(device)
    iface = vlan if not target.lab.vlan(vlan).native else target.lab.device(device).bridge.name
    rows = [r for r in api.path("ip", "address") if r.get("interface") == iface and not r.get("dynamic")]
    assert rows, f"{device} has no address on {iface}"
    api.path("ip", "address").update(**{".id": rows[0][".id"], "address": address})


@then(parsers.parse('verification reports that "{device}" no longer tags "{port}" for VLAN {vid:d}'))
def reports_untagged(target, evidence, device, port, vid):
    holds(evidence, "differences", fv.reports_untagged(target.lab, _observed(target), device, port, vid))


@then(parsers.parse('verification reports that "{device}" has "{have}" on "{vlan}" instead of "{want}"'))
def reports_address(target, evidence, device, have, vlan, want):
    holds(evidence, "differences", fv.reports_address(target.lab, _observed(target), device, vlan, have, want))


@then(parsers.parse('the trace of "{vlan}" to "{host}" stops at "{where}"'))
def trace_stops(target, evidence, vlan, host, where):
    holds(evidence, "trace", fv.trace_stops(target.lab, _observed(target), vlan, host, where))


# --- Refusal of invalid lab files ------------------------------------------------------------------
@given(parsers.parse('a copy of the lab file where the DHCP pool of "{vlan}" is "{pool}"'), target_fixture="fabric")
def pool_copy(target, fabric, tmp_path: Path, vlan, pool) -> FabricRun:
    def edit(data):
        next(v for v in data["vlans"] if v["name"] == vlan)["dhcp"]["pool"] = [pool]
    fabric.copy = lab_copy(target, tmp_path, edit)
    return fabric


@when("the fabric is provisioned from that copy")
def provision_copy(target, fabric):
    def connect(identity):
        fabric.contacted.append(identity)
        return target.routeros(identity)

    try:
        provision_file(fabric.copy, connect)
    except LabRefused as exc:
        fabric.refused = exc


@then("the run is refused before any device is contacted")
def refused(fabric, evidence):
    results = refusal_results(fabric.refused, fabric.contacted, "", "")
    holds(evidence, "refusal", [r for r in results if r.check in ("lab-refused", "no-device-contacted")])


@then(parsers.parse('the refusal names check "{check}" at "{path}"'))
def refusal_names(fabric, evidence, check, path):
    holds(evidence, "refusal-names",
          [r for r in refusal_results(fabric.refused, fabric.contacted, check, path) if r.check != "no-device-contacted"])
