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
from tests.features import test_broken_cloud, test_broken_failover
from tests.features.test_broken_lab import then_steps

MODULES = (test_broken_lab, test_broken_hosts, test_broken_proxmox, test_broken_talos, test_broken_mesh,
           test_broken_mesh_policy, test_broken_ceph)
MODULES += (test_broken_cloud, test_broken_failover)

# (scenario, Then step) pairs no breakage is shown to fail yet. Empty since issue 13: a new Then step comes with its
# breaking case; listing it here instead is a debt this test keeps visible.
NOT_YET: set[tuple[str, str]] = set()


def covered() -> dict[tuple[str, str], list[str]]:
    out: dict[tuple[str, str], list[str]] = {}
    for mod in MODULES:
        for case in map(lambda c: test_broken_lab.Case(*c), [*mod.CASES, *getattr(mod, "HYBRID_CASES", ())]):
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
