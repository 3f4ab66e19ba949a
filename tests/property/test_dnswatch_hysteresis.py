"""Properties of the failover watcher's decisions over any history of probes and Node readiness:

- the round-robin name never loses its last record once it had one;
- no node flaps faster than the hysteresis allows: back only after `recover_after` good probes in a row (Ready)
  observed after it was removed, out only when down (NotReady or gone), after `unstable_after` failures within the
  window, or when it was only kept as the last record and another node is healthy again.
"""
from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from labsim_dnswatch.decide import Engine, Observation

NODES = ("a", "b", "c")

observation = st.tuples(st.booleans(), st.sampled_from([True, False, None]))          # (ready, probe_ok)
cycle = st.fixed_dictionaries({}, optional={n: observation for n in NODES})           # a node may be missing
history = st.lists(cycle, min_size=1, max_size=60)
params = st.tuples(st.integers(1, 4), st.integers(1, 4), st.sampled_from([10.0, 25.0, 60.0]))


def _observe(c: dict) -> list[Observation]:
    return [Observation(n, ready, ok, "" if ok else "refused") for n, (ready, ok) in sorted(c.items())]


@settings(max_examples=300, deadline=None)
@given(history, params, st.sets(st.sampled_from(NODES), min_size=1))
def test_never_zero_records_once_one_existed(hist, p, published) -> None:
    n, m, window = p
    e = Engine(unstable_after=n, window=window, recover_after=m)
    for i, c in enumerate(hist):
        d = e.step(i * 10.0, _observe(c), published)
        assert d.desired, f"cycle {i}: no record left"
        assert d.desired <= published | set(c), d.desired
        published = d.desired


@settings(max_examples=300, deadline=None)
@given(history, params, st.sets(st.sampled_from(NODES)))
# found by hypothesis: an unprobed cycle between two good probes must break "in a row"
@example([{"c": (True, True)}, {"a": (False, True), "c": (True, None)}, {"c": (True, True)}], (1, 2, 10.0), set())
# found by hypothesis: b, gone and kept as the last record, leaves the name when c is back and is itself back a cycle
# later; its removal is when it went out (kept), not when its record went, and its two good probes came after that
@example([{"a": (False, True), "c": (True, True)}, {"a": (False, True), "c": (True, True), "b": (True, True)},
          {"a": (False, True), "c": (False, True), "b": (True, True)}], (1, 2, 10.0), {"b"})
def test_no_flapping_faster_than_the_hysteresis(hist, p, published) -> None:
    n, m, window = p
    e = Engine(unstable_after=n, window=window, recover_after=m)
    seen: dict[str, list[tuple[float, bool, bool | None]]] = {x: [] for x in NODES}   # per node: (t, ready, ok)
    removed_at: dict[str, int] = {}
    kept_before: str | None = None
    for i, c in enumerate(hist):
        t = i * 10.0
        for node, (ready, ok) in c.items():
            seen[node].append((t, ready, ok))
        d = e.step(t, _observe(c), published)
        for node in d.desired - published:
            if node == d.kept:
                continue
            # back: the last m observations (all after its removal) were good probes while Ready
            last = seen[node][-m:]
            assert len(last) == m and all(r and ok is True for _, r, ok in last), (node, last)
            assert node in c and c[node] == (True, True)
            if node in removed_at:
                assert i - removed_at[node] >= m, f"{node} back {i - removed_at[node]} cycles after removal"
        if d.kept is not None and d.kept != kept_before:
            removed_at[d.kept] = i                          # out now, though its record stays as the last one
        for node in published - d.desired:
            if node != kept_before:                         # (a kept node went out when it was first kept)
                removed_at[node] = i
            if node not in c:
                continue                                    # gone from the cluster
            ready, ok = c[node]
            if not ready:
                continue                                    # down
            fails = [x for x in seen[node] if x[2] is not None][-n:]
            unstable = len(fails) == n and all(x[2] is False for x in fails) and fails[-1][0] - fails[0][0] <= window
            was_kept = node == kept_before and d.kept != node
            assert unstable or was_kept or not e.nodes[node].serving and node == kept_before, (node, fails)
        kept_before = d.kept
        published = d.desired
