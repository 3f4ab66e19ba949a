"""Backend selection of global services, as Cilium's SelectBackends does it (pkg/clustermesh/selectbackends.go),
checked as properties over any mix of local/remote, Active/Terminating, healthy/unhealthy backends; and the
annotations as pkg/annotation reads them."""
from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from labsim.fakes.cilium.datapath import pick, select_backends
from labsim.fakes.cilium.services import ACTIVE, TERMINATING, Backend, Flags, flags

STATES = st.sampled_from([ACTIVE, TERMINATING, "quarantined"])


@st.composite
def backends(draw):
    n = draw(st.integers(0, 8))
    return [Backend("east" if not remote else "west", "ns", f"p{i}", f"10.0.0.{i}", 80, "n", state, unhealthy, remote)
            for i, (remote, state, unhealthy) in enumerate(
                draw(st.lists(st.tuples(st.booleans(), STATES, st.booleans()), min_size=n, max_size=n)))]


def healthy(b: Backend) -> bool:
    return b.state in (ACTIVE, TERMINATING) and not b.unhealthy


@given(backends())
def test_not_global_uses_local_backends_only(bes):
    assert select_backends(Flags(), bes) == [b for b in bes if not b.remote]


@given(backends())
def test_affinity_none_uses_every_backend(bes):
    assert select_backends(Flags(True, True, "none"), bes) == bes


@given(backends())
def test_affinity_local_adds_remote_only_without_an_active_local_backend(bes):
    out = select_backends(Flags(True, True, "local"), bes)
    local, remote = [b for b in bes if not b.remote], [b for b in bes if b.remote]
    local_active = any(b.state == ACTIVE and not b.unhealthy for b in local)
    use_remote = not local_active and any(healthy(b) for b in remote)
    assert out == [b for b in bes if not b.remote or use_remote]
    assert all(b in out for b in local)          # local backends are kept even when unhealthy


@given(backends())
def test_affinity_remote_adds_local_only_without_a_healthy_remote_backend(bes):
    out = select_backends(Flags(True, True, "remote"), bes)
    use_local = not any(healthy(b) for b in bes if b.remote) and any(healthy(b) for b in bes if not b.remote)
    assert out == [b for b in bes if b.remote or use_local]


@given(backends(), st.sampled_from(["none", "local", "remote"]), st.integers(0, 1000))
def test_a_connection_goes_to_an_active_backend_when_there_is_one(bes, aff, seed):
    chosen = pick(select_backends(Flags(True, True, aff), bes), random.Random(seed))
    selected = select_backends(Flags(True, True, aff), bes)
    if any(b.state == ACTIVE for b in selected):
        assert chosen is not None and chosen.state == ACTIVE
    elif any(b.state == TERMINATING for b in selected):
        assert chosen is not None and chosen.state == TERMINATING
    else:
        assert chosen is None


def test_one_to_three_replicas_split_about_25_75():
    bes = [Backend("east", "ns", "e", "10.0.0.1", 80, "n")] + \
          [Backend("west", "ns", f"w{i}", f"10.1.0.{i}", 80, "n", remote=True) for i in range(3)]
    rng = random.Random(7)
    east = sum(pick(select_backends(Flags(True, True, "none"), bes), rng).cluster == "east" for _ in range(4000))
    assert 0.22 < east / 4000 < 0.28


def _svc(**ann):
    return {"metadata": {"annotations": ann}}


def test_annotations_and_their_aliases():
    assert flags(_svc()) == Flags()
    assert flags(_svc(**{"service.cilium.io/global": "true"})) == Flags(True, True, "none")
    assert flags(_svc(**{"io.cilium/global-service": "TRUE", "io.cilium/shared-service": "false"})) == \
        Flags(True, False, "none")
    assert flags(_svc(**{"service.cilium.io/global": "true", "service.cilium.io/affinity": "Local"})).affinity == "local"
    assert flags(_svc(**{"service.cilium.io/global": "true", "io.cilium/service-affinity": "remote"})).affinity == \
        "remote"
    # ignored unless global
    assert flags(_svc(**{"service.cilium.io/affinity": "local", "service.cilium.io/shared": "true"})) == Flags()


def test_an_unrecognized_affinity_is_reported_and_treated_as_none():
    f = flags(_svc(**{"service.cilium.io/global": "true", "service.cilium.io/affinity": "nearest"}))
    assert f.affinity == "none" and f.error == 'unrecognized service affinity value: "nearest"'
