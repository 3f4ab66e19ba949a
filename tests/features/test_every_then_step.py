"""Every Then step of every feature is shown able to fail: for each one, some case of the broken-lab tests
(tests/features/test_broken_*.py) names it, and that case runs the feature with a breakage that acts on the lab and
checks that this very step failed with its expected message (the scenario keeps going past a failing Then step,
`--sim-then-log`, so a later step is shown failing too, not only the first).

`NOT_YET` lists the Then steps no case shows failing yet. It may only shrink: a step listed there that a case now
covers, or a Then step that is in neither, fails this test.
"""
from __future__ import annotations

from tests.features import (test_broken_ceph, test_broken_hosts, test_broken_lab, test_broken_mesh,
                            test_broken_mesh_policy, test_broken_proxmox, test_broken_talos)
from tests.features.test_broken_lab import then_steps

MODULES = (test_broken_lab, test_broken_hosts, test_broken_proxmox, test_broken_talos, test_broken_mesh,
           test_broken_mesh_policy, test_broken_ceph)

# (scenario, Then step) pairs no breakage is shown to fail yet (issue 13: to be emptied). Most are later Then steps of
# drills (Ceph recovery, mesh failover back, the canary's one-sided phases) that need a breakage striking right before
# them (`--sim-break-at`), and the workstation tools scenario (@lab_only: it never runs in the simulator).
NOT_YET: set[tuple[str, str]] = {
    ("A backup of an app's namespace goes to the bucket and restores elsewhere with the same objects",
     'the bucket holds every object of the namespace under the backup'),
    ("A backup of an app's namespace goes to the bucket and restores elsewhere with the same objects",
     'the new namespace holds the same objects as the one backed up'),
    ('Rook-Ceph on <cluster> runs the mgrs and pools the lab file plans',
     'Ceph on "<cluster>" has one active mgr and the standbys the lab file plans'),
    ('Rook-Ceph on <cluster> runs the mgrs and pools the lab file plans',
     'Ceph on "<cluster>" has every pool the lab file plans'),
    ('Losing the OSDs of two of three workers makes placement groups inactive',
     'within 30 seconds Ceph on "<ceph>" reports OSD_DOWN with "2 osds down"'),
    ('A worker whose extra disk is not blank gets no OSD, and health says so',
     'within 15 minutes Ceph on "<ceph>" reports TOO_FEW_OSDS with "OSD count 2 < osd_pool_default_size 3"'),
    ('A worker whose extra disk is not blank gets no OSD, and health says so',
     'within 3 minutes Ceph on "<ceph>" reports PG_DEGRADED with "pgs undersized"'),
    ('A worker whose extra disk is not blank gets no OSD, and health says so',
     'verification of "<ceph>" reports "osds-up-in" failing with "<ceph.third worker>: 0 of 1 planned OSDs exist"'),
    ('Filling the block pool crosses the nearfull ratio, then the full ratio',
     'Ceph on "<ceph>" reports POOL_NEARFULL with "pool \'<ceph.pool>\' is nearfull"'),
    ('Filling the block pool crosses the nearfull ratio, then the full ratio',
     'the health of "<ceph>" is HEALTH_WARN'),
    ('Filling the block pool crosses the nearfull ratio, then the full ratio',
     'Ceph on "<ceph>" reports OSD_FULL with "full osd(s)"'),
    ('Filling the block pool crosses the nearfull ratio, then the full ratio',
     'the health of "<ceph>" is HEALTH_ERR'),
    ('A crashed OSD is reported until its crash is archived',
     'Ceph on "<ceph>" returns to HEALTH_OK within 5 minutes'),
    ('The cloud servers of <cluster> are created as the lab file says, and a second run changes nothing',
     'every cloud server of "<cluster>" runs as the lab file says, behind its firewalls'),
    ('The cloud servers of <cluster> are created as the lab file says, and a second run changes nothing',
     'nothing was created or changed at the providers, on the tailnet, in the zone or on the nodes of "<cluster>"'),
    ('Every node of <cluster> joins the tailnet, and its Talos API answers there and only there',
     'every node of "<cluster>" is online on the tailnet with the lab file\'s tags, its control planes serving the lab file\'s routes'),
    ('Every node of <cluster> joins the tailnet, and its Talos API answers there and only there',
     'the Talos API of every node of "<cluster>" answers on its tailnet address and is refused on its public address'),
    ('<cluster> comes up healthy over the tailnet',
     'the endpoint of "<cluster>" resolves to its control planes\' tailnet addresses'),
    ('<cluster> comes up healthy over the tailnet',
     'every talosctl health check of the cloud cluster "<cluster>" passes over the tailnet'),
    ('<cluster> comes up healthy over the tailnet',
     'every node of "<cluster>" is Ready, with Cilium replacing kube-proxy through KubePrism on 7445'),
    ('<record> holds one A record per healthy worker, each owned by the watcher',
     '"<record>" holds one A record per healthy worker of "<record.cluster>", each owned by the watcher'),
    ('A worker powered off in its cloud loses its record, and clients stop failing once their answers expire',
     '"<record>" loses the record of "<record.worker>" within the watcher\'s detection time'),
    ('A worker powered off in its cloud loses its record, and clients stop failing once their answers expire',
     'the watcher wrote an Event on the Ingress of "<record>" and a log line saying why it removed "<record.worker>"'),
    ('A worker powered off in its cloud loses its record, and clients stop failing once their answers expire',
     'no client request to "<record>" fails once the record\'s TTL has passed since the removal'),
    ('The worker back on regains its record after M good probes',
     '"<record>" regains the record of "<record.worker>" after <record.recover after> good probes, not sooner'),
    ('With every worker down the last record stays, and the watcher says why',
     '"<record>" keeps exactly one record'),
    ('With every worker down the last record stays, and the watcher says why',
     'the watcher says that every worker is out and that it keeps the last record'),
    ("The operator's workstation has the lab's tools",
     'the workstation has <tools> at the versions the lab file pins'),
    ('A VLAN missing on the Proxmox trunk leaves its VMs without addresses and the report names the hop',
     'the VMs of <hop.others> still hold their leases'),
    ('A failed create task is reported and a rerun converges',
     'the VMs verify clean'),
    ('VMs changed by hand are found and repaired',
     'verification reports that "<vms.first>" has memory <vms.first less memory> instead of <vms.first memory>'),
    ('VMs changed by hand are found and repaired',
     'verification reports that "<vms.second>" is on VLAN <vms.other vid> instead of <vms.second vid>'),
    ('VMs changed by hand are found and repaired',
     'verification reports that "<vms.third>" is stopped'),
    ('VMs changed by hand are found and repaired',
     'the VMs verify clean'),
    ('VMs changed by hand are found and repaired',
     'only the VMs "<vms.first>", "<vms.second>" and "<vms.third>" were changed by the repair'),
    ('A worker powered off goes NotReady and its pods are evicted after the default toleration',
     'the node "<worker>" of "<worker.cluster>" is NotReady within 90 seconds'),
}


def covered() -> dict[tuple[str, str], list[str]]:
    out: dict[tuple[str, str], list[str]] = {}
    for mod in MODULES:
        for case in map(lambda c: test_broken_lab.Case(*c), mod.CASES):
            for step in ([case.step] if case.step else []) + [s for s, _ in case.also]:
                out.setdefault((case.scenario, step), []).append(case.breakage)
    return out


def test_every_then_step_has_a_breaking_case():
    steps, done = then_steps(), covered()
    unknown = sorted(set(done) - set(steps))
    assert not unknown, f"cases name Then steps that no feature has: {unknown}"
    stale = sorted(NOT_YET & set(done))
    assert not stale, f"covered now, remove from NOT_YET: {stale}"
    gone = sorted(NOT_YET - set(steps))
    assert not gone, f"no longer Then steps of any feature, remove from NOT_YET: {gone}"
    missing = sorted(set(steps) - set(done) - NOT_YET)
    assert not missing, "Then steps no breakage is shown to fail:\n" + "\n".join(f"  {s!r}: {t!r}" for s, t in missing)


def test_then_steps_are_found_in_every_feature():
    """The enumeration itself: every feature file contributes its Then steps (a parser that found none would make
    the coverage above vacuous)."""
    files = {f for f, _ in then_steps().values()}
    assert files == {p.name for p in (test_broken_lab.ROOT / "features").glob("*.feature")}
    assert len(then_steps()) > 100
