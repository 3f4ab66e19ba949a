"""Properties of the Ceph health engine over random fault sequences (hypothesis): the overall status is the worst
severity of the checks not muted, the degraded percentage is degraded over all object copies, undersized is
never counted before the stuck threshold, and CRUSH placement keeps failure domains apart, is the same for a
seed and moves only what it must."""
from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labsim.fakes.ceph import health as H
from labsim.fakes.ceph.catalog import RANK
from labsim.fakes.ceph.testing import build

FAULTS = st.lists(st.tuples(st.sampled_from(["host_down", "host_up", "osd_stop", "osd_start", "skew", "crash",
                                             "mute", "fill"]),
                            st.integers(0, 3), st.floats(1, 700)), min_size=1, max_size=6)
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _apply(c, op: str, i: int) -> None:
    host = f"node{i % 4 + 1}"
    osd = f"osd.{i % 4}"
    if op == "host_down":
        c.host_down(host)
    elif op == "host_up":
        c.host_up(host)
    elif op == "osd_stop":
        c.set_enabled(osd, False)
    elif op == "osd_start":
        c.set_enabled(osd, True)
    elif op == "skew":
        c.set_clock_offset(host, 0.1 * i)
    elif op == "crash":
        c.crash(osd)
    elif op == "mute":
        got = H.evaluate(c)
        if got:
            code = sorted(got)[i % len(got)]
            c.mute(code, None, bool(i % 2), got[code].count, got[code].summary)
    elif op == "fill":
        c.write("rbd", i * 10 ** 9)


@SETTINGS
@given(FAULTS, st.integers(0, 3))
def test_overall_status_is_the_worst_unmuted_severity(faults, seed):
    c = build(hosts=4, pools=[("rbd", 16, 64)], seed=seed, osd_size=20 * 10 ** 9)
    for op, i, dt in faults:
        _apply(c, op, i)
        c.clock.sleep(dt)
        got = H.evaluate(c)
        live = [r.severity for r in got.values() if not r.muted]
        want = max(live, key=RANK.__getitem__) if live else "HEALTH_OK"
        assert H.overall(got) == want


@SETTINGS
@given(FAULTS)
def test_degraded_percentage_is_degraded_over_all_object_copies(faults):
    c = build(hosts=4, pools=[("rbd", 16, 160), ("meta", 8, 24)])
    for op, i, dt in faults:
        if op in ("fill", "crash", "mute"):
            continue
        _apply(c, op, i)
        c.clock.sleep(dt)
        got = H.evaluate(c).get("PG_DEGRADED")
        m = re.search(r"(\d+)/(\d+) objects degraded \((\d+\.\d{3})%\)", got.summary) if got else None
        if m:
            degraded, total = int(m.group(1)), int(m.group(2))
            assert total == sum(p.objects * p.size for p in c.pools.values())
            _, digest = c.view.digest()               # the PGs as the mgr's last digest reported them
            assert degraded == sum(r.degraded for r in digest.values() if "degraded" in r.flags)
            assert m.group(3) == f"{degraded / total * 100:.3f}"


@SETTINGS
@given(st.floats(0, 59.5), st.sampled_from(["node1", "node2", "node3"]))
def test_undersized_is_never_counted_before_sixty_seconds_stuck(wait, host):
    c = build(hosts=3, pools=[("rbd", 16, 64)])
    c.host_down(host)
    c.clock.sleep(40)                                   # down, re-peered, reported and digested
    down_at = next(o.down_at for o in c.osds.values() if o.host == host)
    c.clock.sleep(max(0.0, down_at + wait - c.clock.now()))
    got = H.evaluate(c).get("PG_DEGRADED")
    assert got is not None and "undersized" not in got.summary
    c.clock.sleep(down_at + 60 + 6 - c.clock.now())  # last_fullsized: the publish at the interval change
    assert "16 pgs undersized" in H.evaluate(c)["PG_DEGRADED"].summary


@SETTINGS
@given(st.integers(3, 8), st.integers(1, 3), st.integers(0, 5), st.integers(0, 1000))
def test_crush_keeps_replicas_on_distinct_hosts_and_is_stable(hosts, per_host, seed, victim):
    c = build(hosts=hosts, osds_per_host=per_host, pools=[("rbd", 64, 0)], seed=seed, settle=20)
    before = {k: list(pg.target) for k, pg in c.pgmap.pgs.items()}
    for pg in c.pgmap.pgs.values():
        assert len(pg.target) == 3
        assert len({c.osds[o].host for o in pg.target}) == 3
    again = build(hosts=hosts, osds_per_host=per_host, pools=[("rbd", 64, 0)], seed=seed, settle=20)
    assert before == {k: list(pg.target) for k, pg in again.pgmap.pgs.items()}
    gone = victim % len(c.osds)
    c.osds[gone].in_ = False                            # mark out: only PGs that used it may move
    c.pgmap.retarget(sorted(c.pgmap.pgs))
    for k, pg in c.pgmap.pgs.items():
        if gone not in before[k]:
            assert pg.target == before[k]
        else:
            assert gone not in pg.target
    c.osds[gone].in_ = True                             # back in: everything returns
    c.pgmap.retarget(sorted(c.pgmap.pgs))
    assert before == {k: list(pg.target) for k, pg in c.pgmap.pgs.items()}
