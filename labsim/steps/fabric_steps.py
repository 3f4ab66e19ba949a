"""Steps for features/fabric.feature: thin glue from a sentence to the fabric provisioner."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pytest_bdd import given, parsers, then, when

from labsim.provisioners.fabric import verify as fv
from labsim.provisioners.fabric.intent import lab_cables
from labsim.provisioners.fabric.l2 import trace_vlan
from labsim.provisioners.fabric.observed import device_l2
from labsim.provisioners.fabric.run import LabRefused, provision, provision_file
from labsim.provisioners.fabric.topology import topology
from labsim.provisioners.lab.checks import run_checks


@pytest.fixture
def fabric():
    """What a scenario has seen so far: plans, apply reports, verification results."""
    return {}


def _failures(results):
    return [str(r) for r in results if not r.ok]


def _check(evidence, name, results):
    evidence.attach(name, [r.__dict__ for r in results])
    bad = _failures(results)
    assert not bad, f"{len(bad)} of {len(results)} failed:\n" + "\n".join(bad)


def _apply(target, fabric, evidence, label):
    done = provision(target.lab, target.routeros)
    evidence.attach(f"{label}-plan", done.plan.describe())
    fabric.setdefault("applies", []).append(done)
    return done


# --- Background --------------------------------------------------------------------------------
@given("the lab file passes its intent checks")
def lab_checks(target, evidence):
    findings = run_checks(target.lab)
    evidence.attach("intent-checks", [f.__dict__ for f in findings])
    errors = [f"{f.check} {f.path}: {f.message}" for f in findings if f.severity == "error"]
    assert not errors, "\n".join(errors)


@given("the fabric is provisioned")
def fabric_provisioned(target, fabric, evidence):
    if target.writes_allowed:
        _apply(target, fabric, evidence, "provision")
    else:
        evidence.attach("provision", "read-only run: the fabric is verified as found (no --apply)")
    for d in target.lab.routeros.devices:
        res = [r for r in target.routeros(d.identity)("/system/resource/print")]
        if res:
            evidence.lab_version(f"RouterOS {d.identity}", str(res[0].get("version", "")))
    fabric["writes_before"] = target.device_writes()


# --- Verification --------------------------------------------------------------------------------
def _observed(target):
    return fv.observe_all(target.lab, target.routeros_all())


@then("every VLAN has its interface and address on every device")
def vlans_present(target, evidence):
    _check(evidence, "vlan-present", fv.vlans_present(target.lab, _observed(target)))


@then("each cluster VLAN is carried hop by hop from its DHCP device to the hosts that need it")
def vlans_carried(target, evidence):
    observed = _observed(target)
    results = fv.vlans_carried(target.lab, observed)
    # the fabric as the devices report it, the hop where a VLAN stops marked: the sign-off report's topology
    evidence.topology(topology(target.lab, observed, results))
    assert results, "the lab file names no host that needs a cluster VLAN"
    _check(evidence, "vlan-carried", results)


@then("each VLAN has exactly one DHCP server with its pool inside its subnet")
def dhcp_servers(target, evidence):
    _check(evidence, "dhcp-server", fv.dhcp_servers(target.lab, _observed(target)))


@then(parsers.parse('traffic is routed between "{a}" and "{b}"'))
def routed(target, evidence, a, b):
    _check(evidence, "inter-vlan-routing", fv.inter_vlan_routing(target.lab, _observed(target), [(a, b)]))


@then("every device's configuration matches the lab file")
def config_matches(target, evidence):
    _check(evidence, "config-matches-intent", fv.config_matches(target.lab, _observed(target)))


@then("the fabric verifies clean")
def verifies_clean(target, evidence):
    _check(evidence, "verify", fv.verify(target.lab, target.routeros_all()))


# --- Idempotence ---------------------------------------------------------------------------------
@when("the fabric is applied again")
@when("the fabric is applied")
def apply_again(target, fabric, evidence):
    fabric["writes_before"] = target.device_writes()
    _apply(target, fabric, evidence, "apply")


@then("no device accepted any change")
def no_change(target, fabric):
    last = fabric["applies"][-1]
    assert last.plan.empty(), "the second plan is not empty:\n" + "\n".join(last.plan.describe())
    assert last.report.total == 0, f"the second apply sent {last.report.writes} writes"
    before, after = fabric.get("writes_before"), target.device_writes()
    if before is not None:
        changed = {d: after[d] - before[d] for d in after if after[d] != before[d]}
        assert not changed, f"devices accepted changes on the second apply: {changed}"


@then(parsers.parse('only "{device}" was changed by the repair'))
def only_changed(target, fabric, device):
    writes = fabric["applies"][-1].report.writes
    changed = sorted(d for d, n in writes.items() if n)
    assert changed == [device], f"the repair changed {changed}, expected only {device}"


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


def _device_differences(target, device):
    result = [r for r in fv.config_matches(target.lab, _observed(target)) if r.subject == device][0]
    return result.evidence["differences"]


@then(parsers.parse('verification reports that "{device}" no longer tags "{port}" for VLAN {vid:d}'))
def reports_untagged(target, evidence, device, port, vid):
    diffs = _device_differences(target, device)
    evidence.attach("differences", diffs)
    hits = [d for d in diffs if f"bridge VLAN {vid}:" in d and "tagged is" in d]
    assert hits, f"no difference reported for bridge VLAN {vid} on {device}: {diffs}"
    have = hits[0].split("tagged is ", 1)[1].split(", want ", 1)
    assert port not in have[0].split(",") and port in have[1].split(","), hits[0]


@then(parsers.parse('verification reports that "{device}" has "{have}" on "{vlan}" instead of "{want}"'))
def reports_address(target, evidence, device, have, vlan, want):
    diffs = _device_differences(target, device)
    evidence.attach("differences", diffs)
    expected = f"{device}: address on {vlan}: address is {have}, want {want}"
    assert expected in diffs, f"expected {expected!r} among {diffs}"


@then(parsers.parse('the trace of "{vlan}" to "{host}" stops at "{where}"'))
def trace_stops(target, evidence, vlan, host, where):
    lab = target.lab
    v = lab.vlan(vlan)
    observed = _observed(target)
    devices = {d.identity: device_l2(observed[d.identity], d.bridge.name) for d in lab.routeros.devices}
    cables = lab_cables(lab)
    node, nic = host.split(":", 1)
    tr = trace_vlan({k: v_ for k, v_ in devices.items() if v_}, cables, v.id, v.dhcp.server, (node, nic))
    evidence.attach("trace", {"reached": tr.reached, "stopped_at": tr.stopped_at, "reason": tr.reason,
                              "hops": [str(h) for h in tr.hops]})
    assert not tr.reached, f"{vlan} still reaches {host}"
    assert tr.stopped_at == where, f"the trace stops at {tr.stopped_at!r} ({tr.reason}), expected {where!r}"


# --- Refusal of invalid lab files ------------------------------------------------------------------
@given(parsers.parse('a copy of the lab file where the DHCP pool of "{vlan}" is "{pool}"'),
       target_fixture="lab_copy")
def lab_copy(target, tmp_path: Path, vlan, pool):
    data = yaml.safe_load(target.labfile.read_text())
    for v in data["vlans"]:
        if v["name"] == vlan:
            v["dhcp"]["pool"] = [pool]
    path = tmp_path / target.labfile.name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@when("the fabric is provisioned from that copy")
def provision_copy(target, fabric, lab_copy):
    contacted: list[str] = []
    fabric["contacted"] = contacted

    def connect(identity):
        contacted.append(identity)
        return target.routeros(identity)

    try:
        provision_file(lab_copy, connect)
    except LabRefused as exc:
        fabric["refused"] = exc
    else:
        fabric["refused"] = None


@then("the run is refused before any device is contacted")
def refused(target, fabric, evidence):
    exc = fabric["refused"]
    assert exc is not None, "the invalid lab file was accepted"
    evidence.attach("refusal", str(exc))
    assert not fabric["contacted"], f"devices were contacted: {fabric['contacted']}"


@then(parsers.parse('the refusal names check "{check}" at "{path}"'))
def refusal_names(fabric, check, path):
    found = [(f.check, f.path) for f in fabric["refused"].findings]
    assert (check, path) in found, f"expected {check} at {path}; the refusal lists {found}"
