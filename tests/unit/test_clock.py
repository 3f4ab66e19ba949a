"""The virtual clock runs events in time order, and wait_for waits through whichever clock it gets."""
from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from labsim.fakes.clock import VirtualClock
from labsim.provisioners.clock import WaitTimeout, wait_for


@given(st.lists(st.floats(0, 1000, allow_nan=False), max_size=30), st.floats(0, 1000, allow_nan=False))
def test_events_run_in_time_order_and_only_when_due(delays, horizon):
    clock, seen = VirtualClock(), []
    for d in delays:
        clock.call_later(d, lambda d=d: seen.append((clock.now(), d)))
    clock.sleep(horizon)
    assert [d for _, d in seen] == sorted(d for d in delays if d <= horizon)
    assert all(now == d for now, d in seen)
    assert clock.now() == horizon
    assert clock.pending() == sum(1 for d in delays if d > horizon)


def test_events_may_schedule_events():
    clock, seen = VirtualClock(), []
    clock.call_later(5, lambda: clock.call_later(5, lambda: seen.append(clock.now())))
    clock.sleep(20)
    assert seen == [10.0]


def test_negative_sleep_is_refused():
    with pytest.raises(ValueError):
        VirtualClock().sleep(-1)


def test_wait_for_returns_when_the_condition_holds_in_virtual_time():
    clock = VirtualClock()
    state = {"up": False}
    clock.call_later(42, lambda: state.update(up=True))
    waited = wait_for(lambda: state["up"], timeout=900, interval=5, clock=clock)
    assert waited.elapsed == 45 and waited.polls == 10


def test_wait_for_times_out_with_the_last_observation():
    clock = VirtualClock()
    with pytest.raises(WaitTimeout, match=r"timed out after 60s waiting for ready nodes; last seen: \[\]") as e:
        wait_for(lambda: [], timeout=60, interval=7, clock=clock, what="ready nodes")
    assert clock.now() == 60 and e.value.last == []


def test_wait_for_polls_at_least_once_with_zero_timeout():
    clock = VirtualClock()
    assert wait_for(lambda: "ok", timeout=0, interval=1, clock=clock).polls == 1
