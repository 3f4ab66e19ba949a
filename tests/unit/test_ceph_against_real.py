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
