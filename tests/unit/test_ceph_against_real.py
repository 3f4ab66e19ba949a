"""The simulator, set to Ceph 16.2, against a recorded run of the real thing: the differential tier's timeline
(tests/ceph_real) replayed in virtual time and compared, fact by fact, with what Debian's ceph 16.2.15 did on a
micro cluster (tests/ceph_real/recorded/, written by `python -m tests.ceph_real --record`). `make ceph-real`
compares with a live cluster; this keeps the comparison in `make test` where Ceph is not installed."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.ceph_real import facts
from tests.ceph_real.__main__ import simulate

RECORDED = Path(__file__).resolve().parents[1] / "ceph_real" / "recorded" / "debian-16.2.15.json"


@pytest.fixture(scope="module")
def compared():
    real = json.loads(RECORDED.read_text())
    return facts.compare(real, simulate(real))


def test_the_simulator_agrees_with_the_recorded_real_cluster(compared):
    assert len(compared) >= 40
    assert [f for f in compared if not f.ok] == [], facts.report([f for f in compared if not f.ok])


def test_a_squid_simulator_differs_where_the_releases_do():
    """Set to 19.2, the simulator must fail the comparison with 16.2, and by name: what differs between them."""
    real = json.loads(RECORDED.read_text())
    differ = {f.name for f in facts.compare(real, simulate(real, "19.2.3")) if not f.ok}
    assert {"version line", "df pools (name, id)", "status min_mon_release_name"} <= differ



def test_without_ceph_the_tier_says_it_did_not_run(monkeypatch, capsys):
    """No packages: one SKIPPED line that says it is not a pass, and nothing compared."""
    from tests.ceph_real import __main__ as tier
    monkeypatch.setattr(tier, "missing_binaries", lambda: ["ceph-osd"])
    monkeypatch.setattr(tier, "simulate", lambda *a, **k: pytest.fail("compared without a real cluster"))
    assert tier.main([]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out == ["ceph-real: SKIPPED (not run, not passed): Debian's ceph packages are not installed "
                   "(missing ceph-osd)"]

# --- each fix of issue 18, reverted, is a named difference ----------------------------------------------------
# What the simulator did before it was compared with a real cluster, put back one behaviour at a time: the
# comparison must fail, and by the facts that name that behaviour (the tier cannot pass a regression silently).
def _tunables(**values):
    """The simulator of the tier with some of its Ceph options changed."""
    from tests.ceph_real.drivers import SimDriver
    start = SimDriver.start

    def patched(self):
        for k, v in values.items():
            setattr(self.tunables, k, v)
        start(self)
    return "tests.ceph_real.drivers.SimDriver.start", patched


def _killed_needs_reporters():
    from labsim.fakes.ceph.cluster import CephCluster
    orig = CephCluster._report_failure
    return ("labsim.fakes.ceph.cluster.CephCluster._report_failure",
            lambda self, osd, how: orig(self, osd, "silent" if how == "killed" else how))


def _capacity_only_up():
    from labsim.fakes.ceph import report
    orig = report.reporting
    return "labsim.fakes.ceph.report.reporting", lambda c, at=None: [o for o in orig(c, at) if o.up]


def _used_over_max_avail():
    from labsim.fakes.ceph import report
    orig = report.pool_stats

    def pool_stats(c, at=None):
        out = orig(c, at)
        for p in out:
            s = p["stats"]
            s["percent_used"] = s["bytes_used"] / (s["bytes_used"] + s["max_avail"]) if s["max_avail"] else 1.0
        return out
    return "labsim.fakes.ceph.report.pool_stats", pool_stats


def _raw_bytes_in_pg_stat():
    from labsim.fakes.ceph import report
    orig = report.pg_stat_doc

    def pg_stat_doc(c):
        doc = orig(c)
        doc.update(raw_bytes=doc["pg_summary"]["total_bytes"], raw_bytes_used=doc["pg_summary"]["total_used_bytes"])
        return doc
    return "labsim.fakes.ceph.report.pg_stat_doc", pg_stat_doc


def _osd_stat_without_since():
    import re

    from labsim.fakes.ceph import text
    orig = text.osd_stat
    return "labsim.fakes.ceph.text.osd_stat", lambda c: re.sub(r" \(since [^)]*\)", "", orig(c))


def _crash_ls_old_fields():
    from labsim.fakes.ceph import crash
    orig = crash.ls_doc
    return ("labsim.fakes.ceph.crash.ls_doc",
            lambda crashes: [{k: d[k] for k in ("crash_id", "entity_name", "timestamp") if k in d}
                             for d in orig(crashes)])


def _ratios_at_once():
    def set_ratio(self, which, value):
        setattr(self.tun, f"{which}_ratio", value)
        self.epochs["osdmap"] += 1
        for o in self.osds.values():
            if o.running:
                o.ratios = self.ratios()
    return "labsim.fakes.ceph.cluster.CephCluster.set_ratio", set_ratio


def _crash_posted_at_once():
    def dumped(self, crash):
        self.pending.append(crash)
        self._scan()
    return "labsim.fakes.ceph.crash.CrashCollector.dumped", dumped


REVERTS = {   # issue 18's difference: (the old behaviour, facts that must name it)
    "1 a killed OSD waits for reporters on 2 other hosts": (
        _killed_needs_reporters, {"A: OSD_DOWN after kill -9 (s)", "C: '2 osds down' (s)"}),
    "2 a down OSD leaves bytes_total at once": (
        _capacity_only_up, {"A: capacity of a down, in OSD still counts (status)",
                            "A: capacity of a down, in OSD still counts (osd df TOTAL)"}),
    "3 the mons see PG states at the instant they change": (
        lambda: _tunables(mgr_stats_period=0.0), {"C: PG_AVAILABILITY (s)"}),
    "4 %USED over MAX AVAIL": (_used_over_max_avail, {"df rbd %USED", "A: df rbd %USED while degraded"}),
    "4 an empty line between df's sections": (
        lambda: ("labsim.fakes.ceph.text.SEP", ""), {"df text layout (section separator)"}),
    "5 no progress events": (
        lambda: ("labsim.fakes.ceph.progress.ProgressModule.status_events", lambda self, upto: {}),
        {"B: progress events (message: shown in ceph -s)", "B: `ceph -s` progress section"}),
    "5 raw_bytes* in pg stat": (_raw_bytes_in_pg_stat, {"pg stat JSON keys"}),
    "5 osd stat without (since ...)": (_osd_stat_without_since, {"osd stat text layout"}),
    "5 crash ls without Ceph's fields": (_crash_ls_old_fields, {"E: crash ls JSON keys", "E: crash report of the node"}),
    "6 ratios reach every OSD in the same instant": (_ratios_at_once, {"D: every OSD nearfull, OSD by OSD (s)"}),
    "6 a crash is posted without ceph-crash": (_crash_posted_at_once, {"E: nothing posted before ceph-crash scans"}),
}


@pytest.mark.parametrize("revert", sorted(REVERTS))
def test_a_reverted_fix_is_a_named_difference(revert, monkeypatch):
    make, expected = REVERTS[revert]
    target, value = make()
    monkeypatch.setattr(target, value)
    real = json.loads(RECORDED.read_text())
    differ = {f.name for f in facts.compare(real, simulate(real)) if not f.ok}
    assert expected <= differ, f"reverting '{revert}' was not named: {sorted(differ)}"
