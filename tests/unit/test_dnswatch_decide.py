"""The failover watcher's decisions (dnswatch/labsim_dnswatch/decide.py), cycle by cycle."""
from __future__ import annotations

import pytest

from labsim_dnswatch.decide import Engine, Observation


def ok(node: str, ready: bool = True) -> Observation:
    return Observation(node, ready, True, "HTTP 404")


def bad(node: str, ready: bool = True, detail: str = "connection refused") -> Observation:
    return Observation(node, ready, False, detail)


def engine(n: int = 3, window: float = 60, m: int = 3) -> Engine:
    return Engine(unstable_after=n, window=window, recover_after=m)


def run(e: Engine, cycles: list[list[Observation]], published: set[str], start: float = 0.0, every: float = 10.0):
    out = []
    for i, obs in enumerate(cycles):
        d = e.step(start + i * every, obs, published)
        published = set(d.desired)
        out.append(d)
    return out, published


def test_a_node_with_n_failures_in_the_window_is_removed_on_the_nth() -> None:
    e = engine()
    ds, pub = run(e, [[ok("a"), bad("b")], [ok("a"), bad("b")], [ok("a"), bad("b", detail="timed out after 3s")]],
                  {"a", "b"})
    assert [d.desired for d in ds] == [{"a", "b"}, {"a", "b"}, {"a"}]
    (ch,) = ds[2].changes
    assert (ch.node, ch.action) == ("b", "remove")
    assert ch.reason == "unstable: 3 failed probes within 60s (last: timed out after 3s)"


def test_failures_spread_wider_than_the_window_do_not_count() -> None:
    e = engine(n=3, window=15)
    ds, _ = run(e, [[ok("a"), bad("b")]] * 3, {"a", "b"}, every=10)     # 3 failures span 20 s > 15 s
    assert ds[-1].desired == {"a", "b"}


def test_a_success_resets_the_failure_count() -> None:
    e = engine()
    ds, _ = run(e, [[ok("a"), bad("b")], [ok("a"), bad("b")], [ok("a"), ok("b")], [ok("a"), bad("b")],
                    [ok("a"), bad("b")]], {"a", "b"})
    assert all(d.desired == {"a", "b"} for d in ds)


def test_notready_removes_at_once_and_return_needs_m_good_probes_while_ready() -> None:
    e = engine()
    ds, pub = run(e, [[ok("a"), ok("b", ready=False)]], {"a", "b"})
    assert ds[0].desired == {"a"} and ds[0].changes[0].reason == "down: its Node is not Ready"
    # probes answer while the Node is still NotReady: they do not count
    ds2, pub = run(e, [[ok("a"), ok("b", ready=False)]] * 2 + [[ok("a"), ok("b")]] * 2, pub, start=10)
    assert [d.desired for d in ds2] == [{"a"}] * 4
    ds3, pub = run(e, [[ok("a"), ok("b")]], pub, start=50)
    assert ds3[0].desired == {"a", "b"}
    assert ds3[0].changes[0].reason == "back: Node Ready and 3 good probes in a row"


def test_the_last_record_is_never_removed_and_says_why() -> None:
    e = engine()
    ds, pub = run(e, [[ok("a"), ok("b")], [bad("a"), ok("b", ready=False)], [bad("a"), ok("b", ready=False)],
                      [bad("a"), ok("b", ready=False)]], {"a", "b"})
    assert [d.desired for d in ds] == [{"a", "b"}, {"a"}, {"a"}, {"a"}]
    assert ds[3].kept == "a"
    keep = [c for c in ds[3].changes if c.action == "keep-last"]
    assert keep and "every node is out" in keep[0].reason and "b: down: its Node is not Ready" in keep[0].reason
    assert "a: unstable: 3 failed probes" in keep[0].reason
    # once b is back (ready, 3 good probes), a goes
    ds2, pub = run(e, [[bad("a"), ok("b")]] * 3, pub, start=40)
    assert [d.desired for d in ds2] == [{"a"}, {"a"}, {"b"}]
    assert {(c.node, c.action) for c in ds2[2].changes} == {("b", "add"), ("a", "remove")}


def test_the_node_kept_is_the_one_that_answered_last() -> None:
    e = engine(n=1)
    run(e, [[ok("a"), ok("b")], [bad("a"), ok("b")]], {"a", "b"})
    d = e.step(20, [bad("a"), bad("b")], {"b"})
    assert d.desired == {"b"} and d.kept == "b"


def test_new_nodes_must_earn_their_record() -> None:
    e = engine(m=2)
    ds, _ = run(e, [[ok("a"), ok("c")], [ok("a"), ok("c")]], {"a"})
    assert [d.desired for d in ds] == [{"a"}, {"a", "c"}]


def test_records_of_nodes_gone_from_the_cluster_are_removed() -> None:
    e = engine()
    d = e.step(0, [ok("a")], {"a", "ghost"})
    assert d.desired == {"a"} and d.changes[0].reason == "the node is gone from the cluster"


def test_nothing_published_and_nothing_healthy_adds_nothing() -> None:
    e = engine()
    d = e.step(0, [bad("a")], set())
    assert d.desired == set() and d.kept is None and d.changes == []


@pytest.mark.parametrize("n, m", [(0, 1), (1, 0)])
def test_counts_below_one_are_refused(n: int, m: int) -> None:
    with pytest.raises(ValueError):
        Engine(unstable_after=n, window=10, recover_after=m)
